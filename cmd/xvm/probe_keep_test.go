package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/convert/converttest"
	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// serveSub serves links as a base64 subscription on loopback.
func serveSub(t *testing.T, links ...string) string {
	t.Helper()
	body := base64.StdEncoding.EncodeToString([]byte(strings.Join(links, "\n")))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	t.Cleanup(s.Close)
	return s.URL + "/sub/" + subToken
}

// refusedPort is a loopback port that refuses connections for the test.
func refusedPort(t *testing.T) int { return probetest.StartRefusedPort(t).Port }

// TestProbeKeepClash is the pipeline: a subscription URL in, probed
// through in-process Xray servers (one near, one made far by a relay at
// 150 ms RTT, one with a wrong id, one refusing port), and the working servers out
// as Clash YAML, fastest first, which passes the checks convert's Clash
// output passes (mihomo's keys) and probes ok when read back.
func TestProbeKeepClash(t *testing.T) {
	web := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	far := probetest.StartRelay(t, srv.Addr, 150*time.Millisecond)
	sub := serveSub(t,
		v2rayNLink("far", far.Host, far.Port, srv.ID, "tcp", nil),
		v2rayNLink("wrong id", srv.Host, srv.Port, vmesstest.NewUUID(), "tcp", nil),
		v2rayNLink("near", srv.Host, srv.Port, srv.ID, "tcp", nil),
		v2rayNLink("dead", "127.0.0.1", refusedPort(t), srv.ID, "tcp", nil),
	)
	results := filepath.Join(t.TempDir(), "results.json")
	common := []string{"probe", "--url", web, "--count", "2", "--timeout", "3s", "--skew-range", "1h", "--spacing", "1ms"}

	out, errOut, code := runXVM(t, false, "", append(common, "--keep", "ok", "--to", "clash", "--name-template", "{name} {latency}",
		"--output", "json", "--results", results, sub)...)
	if code != 0 {
		t.Fatalf("exit %d, want 0 (a config was written)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	proxies, problems, err := converttest.MihomoVMessProblems([]byte(out))
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, p := range problems {
		t.Error(p)
	}
	var names []string
	for _, p := range proxies {
		names = append(names, p["name"].(string))
	}
	if len(names) != 2 || !regexp.MustCompile(`^near \d+ms$`).MatchString(names[0]) || !regexp.MustCompile(`^far \d+ms$`).MatchString(names[1]) {
		t.Fatalf("kept %q, want near then far with their latency", names)
	}
	if !strings.Contains(errOut, "2 of 4 servers passed; 2 written as clash, fastest first") {
		t.Errorf("stderr:\n%s", errOut)
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	var res []probe.Result
	if err := json.Unmarshal(b, &res); err != nil || len(res) != 4 {
		t.Fatalf("--results holds %d results (%v):\n%s", len(res), err, b)
	}
	if strings.Contains(errOut+string(b), srv.ID) || strings.Contains(errOut+string(b), subToken) {
		t.Error("an id or the subscription token leaked into messages or results (the config on stdout holds ids by design)")
	}

	// Read back: the kept config is a probe input, and every server in it
	// works.
	back, errBack, code := runXVM(t, false, out, append(common, "--output", "json", "-")...)
	var again []probe.Result
	if code != 0 || json.Unmarshal([]byte(back), &again) != nil || len(again) != 2 {
		t.Fatalf("the kept config probed: exit %d\n%s\n%s", code, back, errBack)
	}

	// Without --results, the table goes to stderr and stdout is only the
	// config.
	out, errOut, code = runXVM(t, false, "", append(common, "--keep", "ok", "--to", "uri", "--color", "never", sub)...)
	if code != 0 || strings.Count(out, "vmess://") != 2 || !strings.HasPrefix(out, "vmess://") || !strings.Contains(errOut, "NAME ") || !strings.Contains(errOut, "auth_rejected") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if i, j := strings.Index(out, "#near"), strings.Index(out, "#far"); i < 0 || j < i {
		t.Fatalf("not fastest first:\n%s", out)
	}
}

// TestProbeKeepNothingPassed: no config, exit 1, and the reason.
func TestProbeKeepNothingPassed(t *testing.T) {
	web := probeWeb(t)
	link := v2rayNLink("dead", "127.0.0.1", refusedPort(t), vmesstest.NewUUID(), "tcp", nil)
	out, errOut, code := runXVM(t, false, "", "probe", "--url", web, "--timeout", "2s", "--keep", "ok", link)
	if code != 1 || out != "" || !strings.Contains(errOut, "no server passed; nothing written") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestProbeKeepTargetCannotCarry: servers that passed but that the --to
// target cannot express (mKCP in Clash) are counted apart from those
// written, per server.
func TestProbeKeepTargetCannotCarry(t *testing.T) {
	web := probeWeb(t)
	tcp := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	kcp := vmesstest.StartServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"kcp","finalmask":{"udp":[{"type":"header-wechat"},{"type":"mkcp-aes128gcm","settings":{"password":"seed1"}}]}}`})
	waitListen(t, tcp.Addr)
	kcpLink := v2rayNLink("kcp", kcp.Host, kcp.Port, kcp.ID, "kcp", map[string]string{"type": "wechat-video", "path": "seed1"})
	tcpLink := v2rayNLink("tcp", tcp.Host, tcp.Port, tcp.ID, "tcp", nil)
	args := []string{"probe", "--url", web, "--count", "1", "--timeout", "10s", "--keep", "ok", "--to", "clash"}

	out, errOut, code := runXVM(t, false, "", append(args, kcpLink, tcpLink)...)
	if code != 0 || !strings.Contains(out, "name: tcp") || strings.Contains(out, "name: kcp") ||
		!strings.Contains(errOut, "kcp: network: cannot be written as clash") ||
		!strings.Contains(errOut, "xvm: probe: 2 of 2 servers passed; 1 written as clash, fastest first") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	out, errOut, code = runXVM(t, false, "", append(args, kcpLink)...)
	if code != 1 || out != "" || !strings.Contains(errOut, "1 of 1 servers passed, but clash cannot express any of them; nothing written") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestProbeKeepInterrupted: Ctrl-C during a --keep run writes no config
// (a partial one would read as the working servers), exits 1 and says so.
func TestProbeKeepInterrupted(t *testing.T) {
	web := probeWeb(t)
	links := okAndBlackhole(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The interrupt comes when the progress line shows the working
	// server done.
	var out strings.Builder
	errOut := &interruptOn{want: "1/2 servers: 1 ok", cancel: cancel}
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: errOut, ErrTTY: true, Getenv: func(string) string { return "" }}
	code := Main(ctx, append([]string{"probe", "--url", web, "--count", "1", "--timeout", "30s", "--keep", "ok", "--to", "uri"}, links...), ios)
	if code != 1 || out.String() != "" || !strings.Contains(errOut.String(), "interrupted; 1 of 2 servers finished; no config written") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

// TestProbeCLIExtras: --exit-ip, --udp and --upload through in-process
// Xray to loopback servers, in JSON and in the table.
func TestProbeCLIExtras(t *testing.T) {
	web := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	mux := http.NewServeMux()
	mux.HandleFunc("/cdn-cgi/trace", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "fl=1\nip=198.51.100.9\nloc=JP\ncolo=NRT\n")
	})
	var uploaded atomic.Int64
	mux.HandleFunc("/__up", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		uploaded.Add(n)
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	dns := vmesstest.StartDNS(t, [4]byte{192, 0, 2, 1}).Addr
	link := v2rayNLink("x", srv.Host, srv.Port, srv.ID, "tcp", nil)
	common := []string{"probe", "--url", web, "--count", "1", "--timeout", "3s",
		"--exit-ip", "--trace-url", site.URL + "/cdn-cgi/trace", "--udp", "--dns-server", dns,
		"--upload", "1MiB", "--upload-url", site.URL + "/__up"}

	out, errOut, code := runXVM(t, false, "", append(common, "--output", "json", link)...)
	var res []probe.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res) != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	r := res[0]
	if r.Exit == nil || r.Exit.IP != "198.51.100.9" || r.Exit.Country != "JP" || r.Exit.Colo != "NRT" {
		t.Errorf("exit %+v", r.Exit)
	}
	if r.UDP == nil || !r.UDP.OK || r.UDP.RTTMs == nil {
		t.Errorf("udp %+v", r.UDP)
	}
	if r.Upload == nil || r.Upload.Bytes != 1<<20 || uploaded.Load() != 1<<20 {
		t.Errorf("upload %+v, server read %d", r.Upload, uploaded.Load())
	}

	out, _, code = runXVM(t, false, "", append(common, "--color", "never", link)...)
	if code != 0 || !strings.Contains(out, "exit 198.51.100.9 JP (NRT)") || !strings.Contains(out, "udp ") || !strings.Contains(out, "upload ") {
		t.Fatalf("table:\n%s", out)
	}

	// {country} in the kept names comes from the exit.
	out, errOut, code = runXVM(t, false, "", append(common, "--keep", "ok", "--to", "uri", "--name-template", "{country}-{name}", link)...)
	if code != 0 || !strings.Contains(out, "#JP-x\n") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestProbeCLISameServer: a subscription naming one server three times
// gives three rows from one probe (counted at the server's door).
func TestProbeCLISameServer(t *testing.T) {
	web := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	relay := probetest.StartRelay(t, srv.Addr, 0)
	host, port := relay.Host, relay.Port
	sub := serveSub(t,
		v2rayNLink("HK 01", host, port, srv.ID, "tcp", nil),
		v2rayNLink("Traffic left: 37 GB", host, port, srv.ID, "tcp", nil),
		v2rayNLink("Expires 2026-12-31", host, port, srv.ID, "tcp", nil),
	)
	out, errOut, code := runXVM(t, false, "", "probe", "--url", web, "--count", "2", "--timeout", "3s", "--color", "never", sub)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, name := range []string{"HK 01", "Traffic left: 37 GB", "Expires 2026-12-31"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("no row for %q:\n%s", name, out)
		}
	}
	if n := relay.Conns(); n != 2 {
		t.Errorf("the server saw %d connections, want 2 (one probe of 2 samples)", n)
	}
	// --dedupe leaves the repeats out before probing, with notes.
	out, errOut, _ = runXVM(t, false, "", "probe", "--url", web, "--count", "1", "--timeout", "3s", "--dedupe", "--color", "never", sub)
	if strings.Contains(out, "Traffic") || !strings.Contains(errOut, `same server as "HK 01"`) {
		t.Errorf("--dedupe:\n%s\n%s", out, errOut)
	}
}

func TestProbeKeepUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--keep", "all"}, `--keep "all": want ok`},
		{[]string{"--to", "clash"}, "add --keep ok"},
		{[]string{"--keep", "ok", "--to", "surge"}, `--to "surge"`},
		{[]string{"--keep", "ok", "--name-template", "{country}"}, "{country} needs --exit-ip"},
		{[]string{"--keep", "ok", "--name-template", "{ping}"}, "unknown placeholder {ping}"},
		{[]string{"--upload", "lots"}, `--upload "lots"`},
		{[]string{"--udp", "--dns-server", "1.1.1.1"}, "--dns-server"},
		{[]string{"--exit-ip", "--trace-url", "ftp://x"}, "--trace-url"},
	} {
		_, errOut, code := runXVM(t, false, "", append(append([]string{"probe"}, c.args...), "vmess://x")...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestProbeURLUsageSummary: the provider's usage follows the results;
// an expired subscription is a warning that names auth_rejected.
func TestProbeURLUsageSummary(t *testing.T) {
	web := probeWeb(t)
	link := v2rayNLink("dead", "127.0.0.1", refusedPort(t), vmesstest.NewUUID(), "tcp", nil)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Subscription-Userinfo", "upload=0; download=1073741824; total=10737418240; expire=1767139200")
		w.Header().Set("Profile-Title", "Airport")
		fmt.Fprint(w, link)
	}))
	t.Cleanup(s.Close)
	out, errOut, code := runXVM(t, false, "", "probe", "--url", web, "--timeout", "2s", "--color", "never", s.URL+"/sub/"+subToken)
	if code != 1 || !strings.Contains(out, "refused") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	want := "Airport: warning: subscription: 1 GiB of 10 GiB used, expired 2025-12-31 — the subscription has expired, so its servers will likely reject us (auth_rejected) (" + s.URL + "/sub/Z…B)"
	if !strings.Contains(errOut, want) || strings.Contains(errOut, subToken) {
		t.Fatalf("stderr:\n%s\nwant %q", errOut, want)
	}
}
