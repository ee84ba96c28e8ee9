package lint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFix runs --fix on arbitrary input: it never panics, every fix it
// offers stays inside the file, a document that could be read can still be
// read after fixing, and fixing the result again changes nothing.
func FuzzFix(f *testing.F) {
	addSeeds(f, "../testdata/lint/fix/*", "../testdata/lint/err/*")
	l := newTestLinter(f, Options{})
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		if len(ext) > 8 {
			ext = ext[:8]
		}
		ctx := context.Background()
		name := "fuzz" + ext
		ds, err := l.lintFixes(ctx, name, data)
		if err != nil {
			return
		}
		readable := true
		for _, d := range ds {
			readable = readable && d.Rule != "syntax"
			if d.Fix == nil {
				continue
			}
			for _, e := range d.Fix.Edits {
				if e.Start < 0 || e.End > len(data) || e.Start > e.End {
					t.Fatalf("edit %+v outside the %d-byte file: %v", e, len(data), d)
				}
			}
		}
		res, err := l.FixBytes(ctx, name, data)
		if err != nil {
			t.Fatal(err)
		}
		if readable {
			for _, d := range res.Remaining {
				if d.Rule == "syntax" {
					t.Fatalf("--fix made a readable document unreadable: %v\n%q\n->\n%q", d, data, res.Source)
				}
			}
		}
		again, err := l.FixBytes(ctx, name, res.Source)
		if err != nil {
			t.Fatal(err)
		}
		if string(again.Source) != string(res.Source) {
			t.Fatalf("fixing twice differs from fixing once:\n%q\n->\n%q\n->\n%q", data, res.Source, again.Source)
		}
	})
}

// addSeeds adds the lint fixtures matching globs (not golden outputs, not
// the rendering goldens) as (extension, content) seeds.
func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, p := range files {
			if strings.HasSuffix(p, ".out") || strings.Contains(filepath.ToSlash(p), "/render/") {
				continue
			}
			if b, err := os.ReadFile(p); err == nil {
				f.Add(filepath.Ext(p), b)
			}
		}
	}
}
