package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// updateProbe rewrites the probe goldens under testdata/. It has its own
// name so it cannot collide with another verb's -update flag in this
// package.
var updateProbe = flag.Bool("update-probe", false, "rewrite testdata/probe_* golden files")

// v2rayNLink makes a v2rayN share link (base64 JSON).
func v2rayNLink(name, host string, port int, id, net string, extra map[string]string) string {
	m := map[string]string{"v": "2", "ps": name, "add": host, "port": fmt.Sprint(port), "id": id, "aid": "0", "scy": "auto", "net": net, "type": "none"}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return "vmess://" + base64.StdEncoding.EncodeToString(b)
}

func probeWeb(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(s.Close)
	return s.URL + "/generate_204"
}

func waitListen(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never listened: %v", addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestProbeCLI runs xvm probe through the cobra root against in-process
// Xray servers: a working raw server, the same server with a wrong id, and
// a WebSocket server, in one run.
func TestProbeCLI(t *testing.T) {
	url := probeWeb(t)
	raw := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	ws := vmesstest.StartServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"ws","wsSettings":{"path":"/ws"}}`})
	waitListen(t, raw.Addr)
	waitListen(t, ws.Addr)
	wrongID := vmesstest.NewUUID()
	links := []string{
		v2rayNLink("raw-ok", raw.Host, raw.Port, raw.ID, "tcp", nil),
		v2rayNLink("raw-wrong-id", raw.Host, raw.Port, wrongID, "tcp", nil),
		v2rayNLink("ws-ok", ws.Host, ws.Port, ws.ID, "ws", map[string]string{"path": "/ws"}),
	}
	common := []string{"probe", "--url", url, "--count", "2", "--timeout", "3s", "--skew-range", "1h", "--spacing", "1ms"}

	t.Run("json", func(t *testing.T) {
		out, errOut, code := runXVM(t, false, "", append(append(common, "--output", "json"), links...)...)
		if code != 1 {
			t.Fatalf("exit %d, want 1 (one server failed); stderr %q", code, errOut)
		}
		var res []probe.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("stdout is not a JSON array: %v\n%s", err, out)
		}
		var got []string
		for _, r := range res {
			verdict := "ok"
			if r.Error != nil {
				verdict = string(r.Error.Kind)
			}
			got = append(got, r.Name+"="+verdict)
		}
		want := []string{"raw-ok=ok", "raw-wrong-id=auth_rejected", "ws-ok=ok"}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("results in input order (-want +got):\n%s", d)
		}
		for _, id := range []string{raw.ID, wrongID, ws.ID} {
			if strings.Contains(out+errOut, id) {
				t.Fatalf("a user id leaked into the output")
			}
		}
	})
	t.Run("wrong id alone, show secrets", func(t *testing.T) {
		out, _, _ := runXVM(t, false, "", append(append(common, "--output", "json", "--show-secrets"), links[1])...)
		if !strings.Contains(out, wrongID) {
			t.Fatalf("--show-secrets did not show the id:\n%s", out)
		}
		// With no other entry for the server, the whole range is searched.
		if !strings.Contains(out, "±1h") {
			t.Fatalf("the auth_rejected message does not say how far the search looked:\n%s", out)
		}
	})
	t.Run("ndjson all ok", func(t *testing.T) {
		out, errOut, code := runXVM(t, false, "", append(append(common, "--output", "ndjson"), links[0], links[2])...)
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr %q", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines, want 2:\n%s", len(lines), out)
		}
		for _, l := range lines {
			var r probe.Result
			if err := json.Unmarshal([]byte(l), &r); err != nil || !r.OK {
				t.Fatalf("line %q: %v", l, err)
			}
		}
	})
	t.Run("table on a tty from stdin", func(t *testing.T) {
		out, errOut, code := runXVM(t, true, strings.Join(links[:1], "\n")+"\n", append(common, "--color", "never", "-")...)
		if code != 0 {
			t.Fatalf("exit %d; stderr %q", code, errOut)
		}
		if !strings.HasPrefix(out, "NAME ") || !strings.Contains(out, "raw-ok") || !strings.Contains(out, " ok ") {
			t.Fatalf("table:\n%s", out)
		}
		if !strings.Contains(errOut, "probing 1/1 servers") {
			t.Fatalf("no progress line on the tty's stderr: %q", errOut)
		}
	})
	t.Run("skew flag", func(t *testing.T) {
		out, _, code := runXVM(t, false, "", append(append(common, "--output", "json", "--skew"), links[0])...)
		var res []probe.Result
		json.Unmarshal([]byte(out), &res)
		if code != 0 || len(res) != 1 || res[0].Skew == nil || res[0].Skew.OffsetS > 2 || res[0].Skew.OffsetS < -2 {
			t.Fatalf("exit %d, %s", code, out)
		}
	})
}

// TestProbeCLIJSONGolden pins the JSON of a real run (a working server, a
// wrong id and a refused port) with the measured numbers, ports and masked
// ids normalised.
func TestProbeCLIJSONGolden(t *testing.T) {
	url := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().(*net.TCPAddr).Port
	l.Close()
	links := []string{
		v2rayNLink("ok", srv.Host, srv.Port, srv.ID, "tcp", nil),
		v2rayNLink("wrong id", srv.Host, srv.Port, vmesstest.NewUUID(), "tcp", nil),
		v2rayNLink("refused", "127.0.0.1", refused, srv.ID, "tcp", nil),
	}
	// One at a time, so the working entry has finished when the wrong id
	// is diagnosed (its message then cites it) and the golden is stable.
	out, errOut, code := runXVM(t, false, "", append([]string{"probe", "--concurrency", "1", "--url", url, "--count", "2", "--timeout", "3s", "--skew", "--skew-range", "1h", "--spacing", "1ms", "--output", "json"}, links...)...)
	if code != 1 {
		t.Fatalf("exit %d; stderr %q", code, errOut)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	got, _ := json.MarshalIndent(normaliseProbeJSON(v, ""), "", "  ")
	got = append(got, '\n')
	path := filepath.Join("testdata", "probe_run.golden.json")
	if *updateProbe {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-probe)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

var (
	portRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	maskRE = regexp.MustCompile(`[0-9a-f]{4}…[0-9a-f]{4}`)
	wordRE = regexp.MustCompile(`port \d+`)
)

// normaliseProbeJSON replaces what differs between runs: every measured
// number (timings, latency, skew, download) by 0, ports by 0, and ports and
// masked ids inside messages by placeholders.
func normaliseProbeJSON(v any, key string) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = normaliseProbeJSON(x[i], key)
		}
	case map[string]any:
		for k, e := range x {
			switch {
			case k == "port":
				x[k] = 0
			case key == "timings_ms" || key == "latency_ms" || key == "skew" || key == "download":
				x[k] = 0
			default:
				x[k] = normaliseProbeJSON(e, k)
			}
		}
	case string:
		x = portRE.ReplaceAllString(x, "127.0.0.1:PORT")
		x = wordRE.ReplaceAllString(x, "port PORT")
		return maskRE.ReplaceAllString(x, "xxxx…xxxx")
	}
	return v
}

// TestProbeCLIInsecureTLS: a link with TLS and allowInsecure to a server
// with a self-signed certificate probes ok, with the warning that current
// Xray refuses the setting.
func TestProbeCLIInsecureTLS(t *testing.T) {
	url := probeWeb(t)
	cert := vmesstest.NewCert(t, "localhost")
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"ws","wsSettings":{"path":"/t"},"security":"tls","tlsSettings":` + cert.TLSSettings() + `}`})
	waitListen(t, srv.Addr)
	link := v2rayNLink("ws-tls", srv.Host, srv.Port, srv.ID, "ws", map[string]string{"path": "/t", "tls": "tls", "sni": "localhost", "insecure": "1"})
	out, errOut, code := runXVM(t, false, "", "probe", "--url", url, "--count", "1", "--output", "json", link)
	if code != 0 {
		t.Fatalf("exit %d; stdout %s; stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "allowInsecure") || !strings.Contains(errOut, `"ws-tls"`) {
		t.Fatalf("no allowInsecure warning naming the server: %q", errOut)
	}
	var res []probe.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || res[0].TransportSecurity != "tls" || res[0].Timings.TLS == nil {
		t.Fatalf("result %s (%v)", out, err)
	}
}

// okAndBlackhole links a working server ("ok") and one that accepts and
// never answers ("blackhole"), for runs interrupted while the second
// hangs.
func okAndBlackhole(t *testing.T) []string {
	t.Helper()
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	bhPort := vmesstest.Port(t, vmesstest.StartBlackhole(t)) // accept, never answer
	return []string{
		v2rayNLink("ok", srv.Host, srv.Port, srv.ID, "tcp", nil),
		v2rayNLink("blackhole", "127.0.0.1", bhPort, srv.ID, "tcp", nil),
	}
}

// TestProbeCLIInterrupt: Ctrl-C (a cancelled context) stops the run at
// once, prints the servers that finished, and exits 1. The interrupt comes
// when the progress line shows the working server done, so a busy machine
// cannot make it come early.
func TestProbeCLIInterrupt(t *testing.T) {
	url := probeWeb(t)
	links := okAndBlackhole(t)
	for _, tc := range []struct {
		output string
		// finished checks stdout holds the working server only.
		finished func(out string) bool
	}{
		{"json", func(out string) bool {
			var res []probe.Result
			return json.Unmarshal([]byte(out), &res) == nil && len(res) == 1 && res[0].Name == "ok"
		}},
		{"table", func(out string) bool {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			return len(lines) == 2 && strings.HasPrefix(lines[0], "NAME") && strings.HasPrefix(lines[1], "ok ") && !strings.Contains(out, "blackhole")
		}},
		{"ndjson", func(out string) bool {
			var r probe.Result
			return json.Unmarshal([]byte(out), &r) == nil && r.Name == "ok" && strings.Count(out, "\n") == 1
		}},
	} {
		t.Run(tc.output, func(t *testing.T) {
			t.Parallel() // each waits for its own interrupt
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out strings.Builder
			errOut := &interruptOn{want: "1/2 servers: 1 ok", cancel: cancel}
			ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: errOut, ErrTTY: true, Getenv: func(string) string { return "" }}
			start := time.Now()
			code := Main(ctx, append([]string{"probe", "--url", url, "--count", "1", "--timeout", "30s", "--output", tc.output}, links...), ios)
			// A hang catcher: far below the blackhole's 30 s timeout, so
			// the interrupt ended the run.
			if el := time.Since(start); el > 20*time.Second {
				t.Fatalf("took %v; want it to stop at the interrupt, not at the 30s timeout", el)
			}
			if code != 1 || !strings.Contains(errOut.String(), "interrupted; 1 of 2 servers finished") {
				t.Fatalf("exit %d, stderr %q", code, errOut.String())
			}
			if !tc.finished(out.String()) {
				t.Fatalf("stdout %q, want only the finished server", out.String())
			}
		})
	}
}

// interruptOn is a terminal's stderr that calls cancel (Ctrl-C) once what
// was written to it holds want.
type interruptOn struct {
	mu     sync.Mutex
	b      strings.Builder
	want   string
	cancel func()
}

func (w *interruptOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.cancel()
	}
	return len(p), nil
}

func (w *interruptOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestProbeCLIUsage(t *testing.T) {
	emptyFile := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"bad output", "", []string{"probe", "--output", "xml", "vmess://x"}, "want table, json or ndjson"},
		{"bad count", "", []string{"probe", "--count", "0", "vmess://x"}, "--count 0"},
		{"bad download", "", []string{"probe", "--download", "lots", "vmess://x"}, "want a size"},
		{"bad url", "", []string{"probe", "--url", "ftp://x", v2rayNLink("a", "127.0.0.1", 1, vmesstest.NewUUID(), "tcp", nil)}, `xvm: probe: --url "ftp://x": only http and https URLs with a host are accepted`},
		// The flag is checked before the input: its error is the one shown.
		{"bad url and bad input", "", []string{"probe", "--url", "ftp://x", "vmess://x"}, `--url "ftp://x": only http and https`},
		{"bad url port", "", []string{"probe", "--url", "http://h:70000/", "vmess://x"}, `--url "http://h:70000/": the port must be 1 to 65535`},
		{"bad download url", "", []string{"probe", "--download", "http://", "vmess://x"}, `--download "http://": only http and https`},
		{"missing file", "", []string{"probe", filepath.Join(t.TempDir(), "nope.txt")}, "give a file"},
		{"nothing on stdin", "", []string{"probe"}, "xvm: probe: no input on stdin: pipe links in, or give a link or file as an argument\n"},
		{"not JSON on stdin", "{\n", []string{"probe"}, "xvm: probe: <stdin>: not valid JSON"},
		{"blank stdin", " \n\t\n", []string{"probe", "-"}, "xvm: probe: no input on stdin"},
		{"empty file", "", []string{"probe", emptyFile}, "xvm: probe: " + emptyFile + " is empty: give a file of links, a subscription or a config\n"},
		{"garbage on stdin", "hello world\n", []string{"probe", "-"}, ""},
		{"zero budget", "", []string{"probe", "--conn-budget", "0", "vmess://x"}, "xvm: probe: --conn-budget 0: want 1 to 100000"},
		{"budget too large", "", []string{"probe", "--conn-budget", "100001", "vmess://x"}, "--conn-budget 100001: want 1 to 100000"},
		{"negative spacing", "", []string{"probe", "--spacing", "-1s", "vmess://x"}, "--spacing must not be negative"},
		{"zero download time", "", []string{"probe", "--download-time", "0s", "vmess://x"}, "--download-time must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runXVM(t, false, tt.stdin, tt.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("stderr %q, want %q", errOut, tt.wantErr)
			}
			// One prefix: probe's, not convert's inside it.
			if strings.Contains(errOut, "probe: convert:") {
				t.Fatalf("stderr %q has a double prefix", errOut)
			}
		})
	}
}

// TestProbeTableGolden renders the probe package's JSON golden results as
// a table, styled (TTY) and plain.
func TestProbeTableGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "probe", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res []probe.Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	for i := range res {
		res[i].Index = i
	}
	for _, tt := range []struct {
		name  string
		color bool
	}{{"probe_table_tty.golden", true}, {"probe_table_plain.golden", false}} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeProbeTable(&b, probe.Table(res), tt.color); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name)
			if *updateProbe {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestProbeTableGolden -update-probe)", err)
			}
			if d := cmp.Diff(string(want), b.String()); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
			if tt.color != strings.Contains(b.String(), "\x1b[") {
				t.Fatalf("styling present = %v, want %v", !tt.color, tt.color)
			}
		})
	}
}

// runXVMEnv runs xvm with an injected environment.
func runXVMEnv(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(k string) string { return env[k] }}
	code = Main(context.Background(), args, ios)
	return out.String(), errOut.String(), code
}

// TestProbeCLILegacySwitch: the seed manual's Xray_VMESS_AEAD_DISABLED=true
// forces the legacy header; an in-process Xray server (AEAD only) then
// rejects us, and the message says legacy auth was forced and Xray does not
// speak it. Without the variable (or with another value) the same server
// probes ok.
func TestProbeCLILegacySwitch(t *testing.T) {
	url := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	link := v2rayNLink("srv", srv.Host, srv.Port, srv.ID, "tcp", nil)
	args := []string{"probe", "--url", url, "--count", "1", "--timeout", "3s", "--skew-range", "10m", "--spacing", "1ms", "--output", "json", link}
	tests := []struct {
		name   string
		env    map[string]string
		forced bool
	}{
		{"seed spelling", map[string]string{"Xray_VMESS_AEAD_DISABLED": "true"}, true},
		{"upper case, value in any case", map[string]string{"XRAY_VMESS_AEAD_DISABLED": "TRUE"}, true},
		{"unset", nil, false},
		{"not true", map[string]string{"Xray_VMESS_AEAD_DISABLED": "false", "XRAY_VMESS_AEAD_DISABLED": "1"}, false},
		{"other case of the name is not read", map[string]string{"xray_vmess_aead_disabled": "true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVMEnv(t, tt.env, args...)
			var res []probe.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
				t.Fatalf("stdout %s (%v); stderr %q", out, err, errOut)
			}
			r := res[0]
			if !tt.forced {
				if code != 0 || !r.OK {
					t.Fatalf("exit %d, result %s; want ok", code, out)
				}
				return
			}
			if code != 1 || r.OK || r.Error == nil || r.Error.Kind != probe.KindAuthRejected {
				t.Fatalf("exit %d, result %s; want auth_rejected", code, out)
			}
			for _, want := range []string{"legacy (non-AEAD) auth was forced", "does not speak it", "accepts AEAD with the same id", "unset Xray_VMESS_AEAD_DISABLED"} {
				if !strings.Contains(r.Error.Message, want) {
					t.Fatalf("message %q does not say %q", r.Error.Message, want)
				}
			}
			if strings.Contains(out+errOut, srv.ID) {
				t.Fatal("the user id leaked into the output")
			}
		})
	}
}

func TestProbeHelpNamesLegacySwitch(t *testing.T) {
	out, _, code := runXVM(t, false, "", "probe", "--help")
	if code != 0 || !strings.Contains(out, "Xray_VMESS_AEAD_DISABLED=true") {
		t.Fatalf("exit %d; help does not mention the legacy switch:\n%s", code, out)
	}
}

// TestProbeCLINeverPrintsIDs: no output format, on a terminal or not,
// prints a user id (of a rejected server, or of an entry that cannot be
// probed) unless --show-secrets; with it the rejected id is shown.
func TestProbeCLINeverPrintsIDs(t *testing.T) {
	url := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	wrongID := vmesstest.NewUUID()
	badID := "not-a-uuid-and-longer-than-thirty-bytes-secret"
	links := []string{
		v2rayNLink("ok", srv.Host, srv.Port, srv.ID, "tcp", nil),
		v2rayNLink("wrong", srv.Host, srv.Port, wrongID, "tcp", nil),
		v2rayNLink("malformed", srv.Host, srv.Port, badID, "tcp", nil),
	}
	secrets := []string{srv.ID, wrongID, badID}
	for _, output := range []string{"table", "json", "ndjson"} {
		for _, tty := range []bool{false, true} {
			for _, show := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s tty=%v show-secrets=%v", output, tty, show), func(t *testing.T) {
					args := []string{"probe", "--url", url, "--count", "1", "--timeout", "3s", "--skew-range", "10m", "--spacing", "1ms", "--output", output}
					if show {
						args = append(args, "--show-secrets")
					}
					out, errOut, code := runXVM(t, tty, "", append(args, links...)...)
					if code != 1 {
						t.Fatalf("exit %d; stderr %q", code, errOut)
					}
					if !strings.Contains(out, "auth_rejected") || !strings.Contains(errOut, "46 bytes") {
						t.Fatalf("the rejected server or the malformed entry is missing:\n%s\n%s", out, errOut)
					}
					if show {
						if !strings.Contains(out, wrongID) {
							t.Fatalf("--show-secrets did not show the rejected id:\n%s", out)
						}
						return
					}
					for _, id := range secrets {
						if strings.Contains(out+errOut, id) {
							t.Fatalf("id %s… leaked:\n%s\n%s", id[:4], out, errOut)
						}
					}
					if !strings.Contains(out, "…") {
						t.Fatalf("the rejection does not name the masked id:\n%s", out)
					}
				})
			}
		}
	}
}

// TestProbeCLIInputs: links, a file of a base64 subscription, an Xray
// config file, a Clash file and stdin in one run; every server is probed,
// in argument order.
func TestProbeCLIInputs(t *testing.T) {
	url := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub.txt")
	subLinks := v2rayNLink("sub-1", srv.Host, srv.Port, srv.ID, "tcp", nil) + "\n" + v2rayNLink("sub-2", srv.Host, srv.Port, srv.ID, "tcp", nil) + "\n"
	if err := os.WriteFile(sub, []byte(base64.StdEncoding.EncodeToString([]byte(subLinks))), 0o600); err != nil {
		t.Fatal(err)
	}
	xray := filepath.Join(dir, "config.json")
	cfg := fmt.Sprintf(`{"outbounds":[{"protocol":"vmess","tag":"from-config","settings":{"vnext":[{"address":%q,"port":%d,"users":[{"id":%q,"security":"aes-128-gcm"}]}]}},{"protocol":"freedom","tag":"direct"}]}`, srv.Host, srv.Port, srv.ID)
	if err := os.WriteFile(xray, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	clash := filepath.Join(dir, "clash.yaml")
	yml := fmt.Sprintf("proxies:\n  - name: from-clash\n    type: vmess\n    server: %s\n    port: %d\n    uuid: %s\n    alterId: 0\n    cipher: auto\n", srv.Host, srv.Port, srv.ID)
	if err := os.WriteFile(clash, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	ios := &IOStreams{In: strings.NewReader(v2rayNLink("from-stdin", srv.Host, srv.Port, srv.ID, "tcp", nil) + "\n"), Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }}
	code := Main(context.Background(), []string{"probe", "--url", url, "--count", "1", "--output", "json",
		v2rayNLink("link", srv.Host, srv.Port, srv.ID, "tcp", nil), sub, xray, clash, "-"}, ios)
	if code != 0 {
		t.Fatalf("exit %d; stdout %s; stderr %q", code, out.String(), errOut.String())
	}
	var res []probe.Result
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res {
		if !r.OK {
			t.Fatalf("%s failed: %+v", r.Name, r.Error)
		}
		names = append(names, r.Name)
	}
	if d := cmp.Diff([]string{"link", "sub-1", "sub-2", "from-config", "from-clash", "from-stdin"}, names); d != "" {
		t.Fatalf("servers (-want +got):\n%s", d)
	}
}

// timedWriter records when each write happened.
type timedWriter struct {
	mu    sync.Mutex
	start time.Time
	lines []string
	at    []time.Duration
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, string(p))
	w.at = append(w.at, time.Since(w.start))
	return len(p), nil
}

// TestProbeCLINDJSONStreams: ndjson writes each result as it arrives: the
// working server's line (the second entry) comes first and before the
// blackhole's first timeout could have ended, which its verdict needs
// twice (it is retried). With -short the timeout is 2 s instead of 5 s.
func TestProbeCLINDJSONStreams(t *testing.T) {
	t.Parallel() // it waits out a timeout twice; the others need not wait for it
	url := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	bh := vmesstest.StartBlackhole(t)
	links := []string{
		v2rayNLink("blackhole", "127.0.0.1", vmesstest.Port(t, bh), srv.ID, "tcp", nil),
		v2rayNLink("ok", srv.Host, srv.Port, srv.ID, "tcp", nil),
	}
	w := &timedWriter{start: time.Now()}
	var errOut strings.Builder
	ios := &IOStreams{In: strings.NewReader(""), Out: w, ErrOut: &errOut, Getenv: func(string) string { return "" }}
	timeout := 5 * time.Second
	if testing.Short() {
		timeout = 2 * time.Second
	}
	code := Main(context.Background(), append([]string{"probe", "--url", url, "--count", "1", "--timeout", timeout.String(), "--output", "ndjson"}, links...), ios)
	if code != 1 || len(w.lines) != 2 {
		t.Fatalf("exit %d, %d writes %q; stderr %q", code, len(w.lines), w.lines, errOut.String())
	}
	// Before the blackhole's first attempt could end: the ok line was
	// not held back for it (a working probe that took that long would
	// have timed out itself).
	if !strings.Contains(w.lines[0], `"name":"ok"`) || w.at[0] >= timeout {
		t.Fatalf("first line %q at %v: want the working server's, before the %v timeout", w.lines[0], w.at[0], timeout)
	}
	if !strings.Contains(w.lines[1], `"kind":"timeout"`) || w.at[1] < timeout {
		t.Fatalf("second line %q at %v: want the blackhole's timeout", w.lines[1], w.at[1])
	}
}

// TestProbeProgressLine: the progress line counts done of total, ok and
// failed, and estimates the time left from the pace so far once a few
// results are in.
func TestProbeProgressLine(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newProbeProgress(100, func() time.Time { return now })
	if got, want := p.line(), "probing 0/100 servers: 0 ok, 0 failed"; got != want {
		t.Fatalf("at the start: %q, want %q", got, want)
	}
	for i := range 20 {
		p.add(probe.Result{OK: i%4 != 0})
	}
	now = now.Add(10 * time.Second) // 20 done in 10 s: 80 left take 40 s
	if got, want := p.line(), "probing 20/100 servers: 15 ok, 5 failed, about 40s left"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

// TestProbeAdviceWorded: the library's advice codes come out in the CLI's
// words, with its flag names, and every code has words.
func TestProbeAdviceWorded(t *testing.T) {
	r := probe.Result{Error: &probe.Failure{Kind: probe.KindTimeout, Message: "x did not answer", Advice: []probe.Advice{probe.AdviceTimeout, probe.AdviceURL}}}
	orig := r.Error
	adviseProbe(&r)
	if want := "x did not answer — raise --timeout; try another --url"; r.Error.Message != want {
		t.Fatalf("%q, want %q", r.Error.Message, want)
	}
	if orig.Message != "x did not answer" {
		t.Fatalf("the library's failure was changed: %q", orig.Message)
	}
	for _, a := range []probe.Advice{probe.AdviceTimeout, probe.AdviceConnectTimeout, probe.AdviceURL, probe.AdviceDownload,
		probe.AdviceSkewRange, probe.AdviceBudget, probe.AdviceLegacyForced} {
		if probeAdvice[a] == "" {
			t.Errorf("advice %q has no words", a)
		}
	}
}

// TestProbeCLISkewSpacingAlias: --skew-spacing, the old name of --spacing
// (from when only the clock search was paced), still works and says it
// is deprecated.
func TestProbeCLISkewSpacingAlias(t *testing.T) {
	link := v2rayNLink("r", "127.0.0.1", refusedPort(t), vmesstest.NewUUID(), "tcp", nil)
	out, errOut, code := runXVM(t, false, "", "probe", "--skew-spacing", "5ms", "--output", "json", link)
	if code != 1 || !strings.Contains(out, `"kind": "refused"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the refused port probed", code, out, errOut)
	}
	if !strings.Contains(errOut, "--skew-spacing has been deprecated, use --spacing") {
		t.Fatalf("stderr %q does not say --skew-spacing is deprecated", errOut)
	}
}

// TestReadmeStatesProbeDefaults: the README's front door says what xvm
// probe sends to one server at most by default, and those numbers are the
// library's defaults (a change to one must change the other).
func TestReadmeStatesProbeDefaults(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(raw)), " ") // lines wrap anywhere
	want := fmt.Sprintf("By default `xvm probe` opens **at most %d connections to one server (host:port) in a run**, all its entries together, at most %d attempts at once and connections %d ms apart",
		probe.DefaultBudget, probe.DefaultPerServer, probe.DefaultSpacing.Milliseconds())
	if !strings.Contains(readme, want) {
		t.Fatalf("README.md does not say %q", want)
	}
}

// TestProbeFlagsBecomeOptions: each of probe's politeness and clock flags
// reaches the library's option it names, and left out it leaves the
// library's default (0, or the reference fetched from --url).
func TestProbeFlagsBecomeOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want func(po probe.Options) bool
	}{
		{"defaults", nil, func(po probe.Options) bool {
			return po.Budget == 0 && po.ConnectTimeout == probe.DefaultConnectTimeout && po.Concurrency == probe.DefaultConcurrency &&
				po.Spacing == probe.DefaultSpacing && po.SkewSearch.Range == 0 && po.ClockReference == probe.DefaultURL
		}},
		{"conn-budget", []string{"--conn-budget", "800"}, func(po probe.Options) bool { return po.Budget == 800 }},
		{"connect-timeout", []string{"--connect-timeout", "750ms"}, func(po probe.Options) bool { return po.ConnectTimeout == 750*time.Millisecond }},
		{"concurrency", []string{"--concurrency", "32"}, func(po probe.Options) bool { return po.Concurrency == 32 }},
		{"spacing", []string{"--spacing", "0"}, func(po probe.Options) bool { return po.Spacing == time.Nanosecond }},
		{"skew-range", []string{"--skew-range", "24h"}, func(po probe.Options) bool { return po.SkewSearch.Range == 24*time.Hour && po.Budget == 0 }},
		{"clock-reference", []string{"--clock-reference", "https://time.example/"}, func(po probe.Options) bool { return po.ClockReference == "https://time.example/" }},
		{"clock-reference follows --url", []string{"--url", "http://u.example/204"}, func(po probe.Options) bool { return po.ClockReference == "http://u.example/204" }},
		{"no clock reference", []string{"--clock-reference", "none"}, func(po probe.Options) bool { return po.ClockReference == "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got probe.Options
			cmd := probeCommand(&app{}, func(_ context.Context, _ *app, opts *probeOptions, _ []string) error {
				var err error
				got, err = opts.libraryOptions()
				return err
			})
			cmd.SetArgs(append(tc.args, "vmess://x"))
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if !tc.want(got) {
				t.Fatalf("%v gave %+v", tc.args, got)
			}
		})
	}
}
