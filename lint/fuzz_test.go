package lint

import (
	"context"
	"strings"
	"testing"
)

// FuzzLint runs the whole linter on arbitrary input: it never panics,
// always terminates, every diagnostic points inside the file, and the text
// and github renderings hold no control character from the input and no
// line that starts a workflow command other than github's own.
func FuzzLint(f *testing.F) {
	addSeeds(f, "../testdata/lint/*/*")
	l := newTestLinter(f, Options{})
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		if len(ext) > 8 {
			ext = ext[:8]
		}
		ds, err := l.LintBytes(context.Background(), "fuzz"+ext, data)
		if err != nil {
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, d := range ds {
			if d.Pos.Line < 1 || int(d.Pos.Line) > lines || d.Pos.Col < 1 {
				t.Fatalf("diagnostic outside the file (%d lines): %v", lines, d)
			}
			if d.Rule == "" || d.Message == "" || d.Severity == 0 {
				t.Fatalf("incomplete diagnostic: %+v", d)
			}
		}
		rep := Report{Diagnostics: ds, Files: 1}
		var text, gh strings.Builder
		if err := RenderText(&text, rep, nil); err != nil {
			t.Fatal(err)
		}
		if err := RenderGitHub(&gh, rep); err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{text.String(), gh.String()} {
			for _, r := range strings.TrimSuffix(out, "\n") {
				if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
					t.Fatalf("control character %U in the output:\n%q", r, out)
				}
			}
		}
		for _, line := range strings.Split(strings.TrimSuffix(text.String(), "\n"), "\n") {
			if workflowCommand(line) {
				t.Fatalf("text output line is a workflow command: %q", line)
			}
		}
		for _, line := range strings.Split(strings.TrimSuffix(gh.String(), "\n"), "\n") {
			if line != "" && !strings.HasPrefix(line, "::error file=fuzz") && !strings.HasPrefix(line, "::warning file=fuzz") && !strings.HasPrefix(line, "::notice file=fuzz") {
				t.Fatalf("github output line is not one of ours: %q", line)
			}
			if strings.Contains(line, "##[") {
				t.Fatalf("github output line holds a legacy workflow command: %q", line)
			}
		}
	})
}
