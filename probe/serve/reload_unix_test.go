//go:build unix

package serve

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestConfigReadBounded: a config file is read up to its limit and no
// further, whatever its size said when it was looked at (a pipe says 0; a
// file can grow between the look and the read).
func TestConfigReadBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	const offered = 8 << 20
	written := make(chan int, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			written <- 0
			return
		}
		defer f.Close()
		chunk := bytes.Repeat([]byte("#"), 64<<10) // a YAML comment, as long as it goes
		n := 0
		for n < offered {
			m, err := f.Write(chunk)
			n += m
			if err != nil {
				break
			}
		}
		written <- n
	}()
	_, err := New(context.Background(), Options{Defaults: DefaultSettings(), ConfigFile: path, Run: instantRun(1), WatchEvery: -1})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New: %v, want a ConfigError", err)
	}
	n := <-written
	t.Logf("%v; the writer got %d bytes in", err, n)
	if n >= 2*MaxConfigBytes {
		t.Errorf("%d bytes were read from a config file whose limit is %d", n, MaxConfigBytes)
	}
}
