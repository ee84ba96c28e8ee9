package main

import (
	"bytes"
	"context"
	"encoding/json"

	"io"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCLI runs xvm serve through the cobra root against an in-process
// Xray server: it serves metrics with the flags' settings, reloads its
// config on SIGHUP (file watching off), requires the bearer token, and
// exits 0 when its context ends.
func TestServeCLI(t *testing.T) {
	url := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	dir := t.TempDir()
	links := filepath.Join(dir, "links.txt")
	os.WriteFile(links, []byte(v2rayNLink("cli-ok", srv.Host, srv.Port, srv.ID, "tcp", nil)+"\n"), 0o644)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("groups:\n  - name: a\n    targets: [links.txt]\n"), 0o644)
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("sesame\n"), 0o600)

	var out, errOut syncBuffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--config", cfg, "--watch", "0",
			"--url", url, "--interval", "1s", "--count", "1", "--timeout", "3s", "--skew-every", "0",
			"--bearer-token-file", token, "--log-format", "json"}, ios)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("exit code %d after shutdown, want 0; stderr:\n%s", code, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down")
		}
	}()
	addr := serveListening(t, &errOut)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer sesame")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitUntil(t, "the first result in /metrics", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `xvm_probe_success{group="a",name="cli-ok",server="`+srv.Addr+`",transport="raw"} 1`)
	})
	if resp, err := http.Get("http://" + addr + "/metrics"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("/metrics without the token: %v %v", resp, err)
	}

	// A second group appears on SIGHUP.
	os.WriteFile(cfg, []byte("groups:\n  - name: a\n    targets: [links.txt]\n  - name: b\n    targets: [links.txt]\n"), 0o644)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the reloaded group in /metrics", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `xvm_serve_targets{group="b"} 1`)
	})
	if code, body := get("/probe?target=cli-ok&module=b"); code != 200 || !strings.Contains(body, "xvm_probe_success 1") {
		t.Errorf("/probe: %d\n%s", code, body)
	}
	// Without --probe-links, /probe takes no link: it cannot be made to
	// connect anywhere the config does not name.
	link := v2rayNLink("elsewhere", srv.Host, srv.Port, srv.ID, "tcp", nil)
	if code, body := get("/probe?target=" + neturl.QueryEscape(link)); code != 400 || !strings.Contains(body, "link targets are turned off") {
		t.Errorf("/probe of a link by default: %d\n%s", code, body)
	}
	if strings.Contains(errOut.String(), srv.ID) {
		t.Error("the log shows the user id")
	}
	// The log is structured: with --log-format json every line is one
	// slog record.
	for _, line := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		var rec struct{ Time, Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Time == "" || rec.Level == "" || rec.Msg == "" {
			t.Errorf("log line %q is not a JSON record with time, level and msg (%v)", line, err)
		}
	}

	// Shutdown ends an open event stream, and serve exits 0 (the deferred
	// check).
	req, _ := http.NewRequest("GET", "http://"+addr+"/events", nil)
	req.Header.Set("Authorization", "Bearer sesame")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("no snapshot on /events: %v", err)
	}
	cancel()
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the event stream outlived the shutdown")
	}
}

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	links := filepath.Join(dir, "links.txt")
	os.WriteFile(links, []byte(v2rayNLink("x", "127.0.0.1", 1, vmesstest.NewUUID(), "tcp", nil)+"\n"), 0o644)
	links2 := filepath.Join(dir, "links2.txt")
	os.WriteFile(links2, []byte(v2rayNLink("y", "127.0.0.1", 2, vmesstest.NewUUID(), "tcp", nil)+"\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("groups:\n  - name: a\n    intervall: 1m\n    targets: [links.txt]\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"serve"}, "nothing to watch"},
		{"interval", []string{"serve", "--interval", "10ms", links}, "--interval 10ms: want 1s to 24h"},
		{"skew-every", []string{"serve", "--skew-every", "-1s", links}, "--skew-every"},
		{"url", []string{"serve", "--url", "ftp://x", links}, "--url"},
		{"stdin", []string{"serve", "-"}, "stdin"},
		{"config key", []string{"serve", "--config", bad}, `bad.yaml:3: unknown key "intervall"`},
		{"missing file", []string{"serve", filepath.Join(dir, "nope.txt")}, "nope.txt"},
		{"log level", []string{"serve", "--log-level", "loud", links}, "--log-level"},
		{"listen", []string{"serve", "--listen", "127.0.0.1:99999", links}, "--listen"},
		{"max targets", []string{"serve", "--max-targets", "1", links, links2}, "more than 1 targets; split them over several exporters or raise --max-targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runXVM(t, false, "", tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}

// waitUntil polls cond; the bound only catches hangs.
// serveListening waits for serve's JSON log to say where it listens.
func serveListening(t *testing.T, errOut *syncBuffer) string {
	t.Helper()
	addrRE := regexp.MustCompile(`"listen":"(127\.0\.0\.1:\d+)"`)
	var addr string
	waitUntil(t, "serve to listen", func() bool {
		m := addrRE.FindStringSubmatch(errOut.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeListensOnLoopbackByDefault: serve is reachable from this
// machine only, unless --listen says otherwise.
func TestServeListensOnLoopbackByDefault(t *testing.T) {
	f := newServeCmd(&app{}).Flags().Lookup("listen")
	if f == nil || f.DefValue != "127.0.0.1:9477" {
		t.Fatalf("--listen defaults to %v, want 127.0.0.1:9477", f)
	}
}
