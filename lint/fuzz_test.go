package lint

import (
	"context"
	"strings"
	"testing"
)

// FuzzLint runs the whole linter on arbitrary input: it never panics,
// always terminates, and every diagnostic points inside the file.
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
			if d.Pos.Line < 1 || d.Pos.Line > lines || d.Pos.Col < 1 {
				t.Fatalf("diagnostic outside the file (%d lines): %v", lines, d)
			}
			if d.Rule == "" || d.Message == "" || d.Severity == 0 {
				t.Fatalf("incomplete diagnostic: %+v", d)
			}
		}
	})
}
