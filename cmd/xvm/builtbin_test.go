package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// builtXVM builds the xvm binary from this tree once per test process and
// returns its path: the tests and benchmarks that run xvm as a user would
// share one build instead of each paying for its own.
func builtXVM(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "xvm-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "xvm")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = &buildError{err, out}
		}
	})
	if built.err != nil {
		tb.Fatalf("go build: %v", built.err)
	}
	return built.path
}

// TestMain removes the shared build when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

var built struct {
	once sync.Once
	path string
	err  error
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }
