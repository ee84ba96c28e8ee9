package lint

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xvmtools/xvm/schema"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// testNow is the fixed clock of every test: after the allowInsecure cut-off.
func testNow() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func newTestLinter(t testing.TB, opts Options) *Linter {
	t.Helper()
	if opts.Now == nil {
		opts.Now = testNow
	}
	set, err := compiledSchemas()
	if err != nil {
		t.Fatal(err)
	}
	l, err := newLinter(opts, set)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// compiledSchemas compiles the schemas once for all the tests (a Set is
// read-only once compiled).
var compiledSchemas = sync.OnceValues(schema.Compile)

func lintFile(t *testing.T, l *Linter, path string) []Diagnostic {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.ToSlash(path)
	ds, err := l.LintBytes(context.Background(), name, data)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestGoldenOK(t *testing.T) {
	files, _ := filepath.Glob("../testdata/lint/ok/*")
	if len(files) == 0 {
		t.Fatal("no files in testdata/lint/ok")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			l := newTestLinter(t, optionsFor(f))
			for _, d := range lintFile(t, l, f) {
				t.Errorf("unexpected finding: %s", d)
			}
		})
	}
}

// optionsFor is how the golden tests lint a fixture: against the seed
// manual's semantics when its name says "seed", else current Xray.
func optionsFor(file string) Options {
	if strings.Contains(filepath.Base(file), "seed") {
		return Options{Runtime: RuntimeSeed}
	}
	return Options{}
}

func TestGoldenErr(t *testing.T) {
	files, _ := filepath.Glob("../testdata/lint/err/*")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".out") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			l := newTestLinter(t, optionsFor(f))
			ds := lintFile(t, l, f)
			var got []string
			for _, d := range ds {
				got = append(got, strings.TrimPrefix(d.String(), "../"))
			}
			out := strings.TrimSuffix(f, filepath.Ext(f)) + ".out"
			if *update {
				if err := os.WriteFile(out, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantB, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run go test ./lint -run TestGoldenErr -update to create it)", err)
			}
			want := strings.Split(strings.TrimSpace(string(wantB)), "\n")
			if len(got) == 0 {
				t.Fatalf("no findings; want %d", len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings differ (-want +got):\n%s", diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("no cases in testdata/lint/err")
	}
}
