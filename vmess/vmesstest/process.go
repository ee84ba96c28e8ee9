package vmesstest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartServerProcess starts the same Xray VMess server as StartServer,
// but as a child process running Xray-core's own xray command (built by
// XrayBinary), and stops it when the test ends. Under the race detector
// an in-process server is instrumented too, and Xray's own races (its
// mKCP and XHTTP packet-up servers have some) fail the test; a child
// process built without -race leaves the detector to xvm's client.
func StartServerProcess(tb testing.TB, opts ServerOptions) *Server {
	tb.Helper()
	bin, err := XrayBinary()
	if err != nil {
		tb.Fatalf("vmesstest: %v", err)
	}
	ids, listen, config := serverConfig(opts)
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(listen)
		if err != nil {
			tb.Fatalf("vmesstest: %v", err)
		}
		cfg := config(port)
		// Warning level, for the "started" line waited for below.
		cfg["log"] = map[string]any{"loglevel": "warning", "access": "none"}
		proc, err := runXray(tb, bin, cfg)
		if err != nil {
			lastErr = err
			continue
		}
		s := &Server{Addr: net.JoinHostPort(listen, strconv.Itoa(port)), Host: listen, Port: port, IDs: ids, ID: ids[0], proc: proc}
		tb.Cleanup(func() { s.Close() })
		return s
	}
	tb.Fatalf("vmesstest: xray process: %v", lastErr)
	return nil
}

// runXray starts bin with cfg and waits until Xray says it started, or
// fails (a port taken in between, a config it refuses).
func runXray(tb testing.TB, bin string, cfg map[string]any) (*exec.Cmd, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(tb.TempDir(), "config.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "-c", file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	started := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log []string
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "started") {
				started <- nil
				io.Copy(io.Discard, out) // keep the pipe drained
				return
			}
			log = append(log, line)
		}
		started <- fmt.Errorf("xray exited before it started: %s", strings.Join(log, "; "))
	}()
	select {
	case err = <-started:
	case <-time.After(30 * time.Second):
		err = fmt.Errorf("xray did not start in 30 s")
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	return cmd, nil
}

var xrayBuild struct {
	once sync.Once
	path string
	err  error
}

// XrayBinary returns the path of Xray-core's xray command at the version
// this module requires, built without -race from the module cache the
// first time (into the user cache directory, where later runs find it).
// It needs the go command and, the first time, the module proxy for
// modules only the command uses.
func XrayBinary() (string, error) {
	xrayBuild.once.Do(func() { xrayBuild.path, xrayBuild.err = buildXray() })
	return xrayBuild.path, xrayBuild.err
}

func buildXray() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/xtls/xray-core").Output()
	if err != nil {
		return "", fmt.Errorf("locate xray-core: %w", err)
	}
	dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok || dir == "" {
		return "", fmt.Errorf("locate xray-core: %q", out)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "xvm-test", "xray-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	// A temporary name, renamed at the end: another test binary may be
	// building the same file at the same time.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	build := exec.Command("go", "build", "-trimpath", "-o", tmp, "./main")
	build.Dir = dir
	// Xray's own go.mod and go.sum, never -race (GOFLAGS could carry it).
	build.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "CGO_ENABLED=0", "GOWORK=off")
	if msg, err := build.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build xray %s: %w\n%s", version, err, msg)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}
