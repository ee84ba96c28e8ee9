package serve

import (
	"bytes"
	"context"
	"encoding/json"

	"flag"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// screenshots is where TestStatusPageInChromium saves its screenshots;
// `-screenshots ../../docs` refreshes the one the docs show.
var screenshots = flag.String("screenshots", "", "directory for the status page screenshots (default: a temporary one)")

// skewShift is how far ahead our clock runs for the target named
// "skewed": Xray in-process shares this machine's clock, so a client clock
// 200 s ahead is how a server 200 s behind looks from here.
const skewShift = 200 * time.Second

// scenario is xvm serve watching real Xray servers: "healthy" (accepted),
// "wrong-id" (rejected at every offset) and "skewed" (200 s behind).
type scenario struct {
	addr     string // serve's host:port
	ids      []string
	cfgPath  string
	server   *Server
	serveErr chan error
}

func startScenario(t *testing.T, auth Auth) *scenario {
	t.Helper()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(web.Close)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	wrongID := vmesstest.NewUUID()

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// "bad\xffname" is a healthy server whose name is not UTF-8 (the link
	// writes it percent-encoded): Prometheus must still take the scrape.
	badName := "vmess://" + srv.ID + "@" + net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port)) + "?type=tcp#bad%FFname"
	write("main.txt", v2rayNLink("healthy", srv.Host, srv.Port, srv.ID, "tcp", nil)+"\n"+v2rayNLink("wrong-id", srv.Host, srv.Port, wrongID, "tcp", nil)+"\n"+badName+"\n")
	write("drift.txt", v2rayNLink("skewed", srv.Host, srv.Port, srv.ID, "tcp", nil)+"\n")
	cfg := write("serve.yaml", fmt.Sprintf(`# the serve config of the interop tests
interval: 2s
timeout: 5s
count: 2
url: %s/generate_204
skew_every: 1s
groups:
  - name: main
    labels: {provider: test}
    targets: [main.txt]
  - name: drift
    targets: [drift.txt]
`, web.URL))

	// Our clock runs ahead for the group "drift", whose only target is
	// "skewed". Every batch goes to probe.Run whole, as serve gives it in
	// production: the group's targets share one run (its concurrency,
	// per-server spacing and result order).
	run := func(ctx context.Context, targets []probe.Target, opts probe.Options) ([]probe.Result, error) {
		for _, tg := range targets {
			if tg.Name == "skewed" {
				opts.Now = func() time.Time { return time.Now().Add(skewShift) }
			}
		}
		return probe.Run(ctx, targets, opts)
	}
	s, err := New(context.Background(), Options{
		Defaults:    DefaultSettings(),
		ConfigFile:  cfg,
		LinkTargets: true,
		Auth:        auth,
		Version:     "test",
		Run:         run,
		Probe:       probe.Options{Spacing: time.Millisecond, SkewSearch: probe.SkewSearch{Parallel: 8}},
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sc := &scenario{addr: l.Addr().String(), ids: []string{srv.ID, wrongID}, cfgPath: cfg, server: s, serveErr: make(chan error, 1)}
	go func() { sc.serveErr <- s.Run(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-sc.serveErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "every target's first result", func() bool {
		return hasResult(s, "healthy") && hasResult(s, "wrong-id") && hasResult(s, "skewed") && hasResult(s, `bad\xffname`)
	})
	return sc
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitListen(t *testing.T, addr string) {
	t.Helper()
	waitFor(t, addr+" to listen", func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// findTool finds a Debian package's binary on PATH or in /usr/bin. It
// fails (never skips): .ci/run installs the packages these tests need.
func findTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/bin/" + name; fileExists(p) {
		return p
	}
	t.Fatalf("%s is not installed: this test runs the real %s (Debian package %q; .ci/run installs it: apt-get install %s)", name, name, pkg, pkg)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestPrometheusScrapesServe runs Debian's Prometheus against xvm serve
// watching real Xray servers: it scrapes /metrics (with a bearer token)
// and /probe through a blackbox-style relabel config, and loads the alert
// rules docs/serve.md shows. The test then asks Prometheus's HTTP API for
// the series and values.
func TestPrometheusScrapesServe(t *testing.T) {
	t.Parallel()
	bin := findTool(t, "prometheus", "prometheus")
	const token = "t0ken-for-the-test"
	sc := startScenario(t, Auth{BearerToken: token})

	// Without the token nothing but /healthz answers.
	for path, want := range map[string]int{"/metrics": 401, "/": 401, "/probe?target=healthy": 401, "/healthz": 200} {
		resp, err := http.Get("http://" + sc.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s without a token: %d, want %d", path, resp.StatusCode, want)
		}
	}

	dir := t.TempDir()
	rules, err := os.ReadFile("testdata/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644)
	promAddr := freePort(t)
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: xvm
    authorization: {credentials: %[2]q}
    static_configs: [{targets: [%[1]q]}]
  - job_name: xvm-probe
    metrics_path: /probe
    scrape_interval: 5s
    scrape_timeout: 4s
    authorization: {credentials: %[2]q}
    params: {module: [main]}
    static_configs: [{targets: [healthy, wrong-id]}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: %[1]q
`, sc.addr, token)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfgPath, []byte(promCfg), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	var promLog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	})
	api := "http://" + promAddr

	type check struct {
		query    string
		want     float64
		within   float64
		wantNone bool
	}
	checks := []check{
		{query: `up{job="xvm"}`, want: 1},
		{query: `xvm_probe_success{job="xvm",name="healthy",group="main",provider="test",transport="raw"}`, want: 1},
		{query: `xvm_probe_success{job="xvm",name="wrong-id"}`, want: 0},
		{query: `xvm_probe_success{job="xvm",name="skewed",group="drift"}`, want: 0},
		{query: `xvm_probe_verdict{job="xvm",name="healthy",kind="ok"}`, want: 1},
		{query: `xvm_probe_verdict{job="xvm",name="wrong-id",kind="auth_rejected"}`, want: 1},
		{query: `xvm_probe_verdict{job="xvm",name="wrong-id",kind="ok"}`, want: 0},
		{query: `xvm_probe_verdict{job="xvm",name="skewed",kind="clock_skew"}`, want: 1},
		{query: `xvm_probe_clock_offset_seconds{job="xvm",name="skewed"}`, want: -skewShift.Seconds(), within: 3},
		{query: `xvm_probe_clock_offset_seconds{job="xvm",name="healthy"}`, want: 0, within: 3},
		{query: `xvm_probe_total_seconds_count{job="xvm",name="healthy"} > 0`, want: 1, within: math.Inf(1)},
		{query: `xvm_probe_samples_total{job="xvm",name="wrong-id"} - xvm_probe_samples_lost_total{job="xvm",name="wrong-id"}`, want: 0},
		{query: `xvm_serve_targets{job="xvm",group="main"}`, want: 3},
		// A name that is not UTF-8 is exported escaped, and the scrape holds.
		{query: `xvm_probe_success{job="xvm",name="bad\\xffname",group="main"}`, want: 1},
		{query: `up{job="xvm-probe",instance="healthy"}`, want: 1},
		{query: `xvm_probe_success{job="xvm-probe",instance="healthy"}`, want: 1},
		{query: `xvm_probe_success{job="xvm-probe",instance="wrong-id"}`, want: 0},
		{query: `xvm_probe_verdict{job="xvm-probe",instance="wrong-id",kind="auth_rejected"}`, want: 1},
		{query: `xvm_probe_info{job="xvm-probe",instance="healthy",name="healthy",group="main",transport="raw"}`, want: 1},
		{query: `xvm_probe_phase_seconds{job="xvm-probe",instance="healthy",phase="handshake"} > 0`, want: 1, within: math.Inf(1)},
		// The alert rules of docs/serve.md: the skewed server's offset
		// alert is pending (it fires after its "for").
		{query: `ALERTS{alertname="XVMServerClockOffset",name="skewed"}`, want: 1},
		{query: `ALERTS{alertname="XVMServerClockOffset",name="healthy"}`, wantNone: true},
		{query: `ALERTS{alertname="XVMServerRejectingUs",name="wrong-id",alertstate="pending"}`, want: 1},
		{query: `ALERTS{alertname="XVMServerDown",name="skewed",alertstate="pending"}`, want: 1},
		{query: `ALERTS{alertname="XVMServerDown",name="wrong-id"}`, wantNone: true},
	}
	var last error
	ok := pollUntil(90*time.Second, func() bool {
		for _, c := range checks {
			vals, err := promQuery(api, c.query)
			if err != nil {
				last = err
				return false
			}
			if c.wantNone {
				if len(vals) != 0 {
					last = fmt.Errorf("%s: %v, want no series", c.query, vals)
					return false
				}
				continue
			}
			if len(vals) != 1 || math.Abs(vals[0].value-c.want) > c.within {
				last = fmt.Errorf("%s: %v, want one series of %g±%g", c.query, vals, c.want, c.within)
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("Prometheus never saw the expected series; last mismatch: %v", last)
	}

	// No label of any series carries a user id.
	vals, err := promQuery(api, `{__name__=~"xvm_.+"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) < 50 {
		t.Fatalf("only %d xvm series", len(vals))
	}
	for _, v := range vals {
		for k, lv := range v.labels {
			for _, id := range sc.ids {
				if strings.Contains(lv, id) || strings.Contains(strings.ToLower(lv), strings.ToLower(id[:8])) {
					t.Fatalf("label %s of %v holds a user id", k, v.labels)
				}
			}
		}
	}
	// The rules loaded without errors.
	var rulesResp struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if err := getJSON(api+"/api/v1/rules", &rulesResp); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rulesResp.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("rule %s: health %s: %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	if n < 3 {
		t.Errorf("%d rules loaded from testdata/alerts.yml, want at least 3", n)
	}
}

// TestAlertRulesInDocs: docs/serve.md shows the alert rules the
// Prometheus test loads, verbatim.
func TestAlertRulesInDocs(t *testing.T) {
	rules, err := os.ReadFile("testdata/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/serve.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, bytes.TrimSpace(rules)) {
		t.Fatal("docs/serve.md does not show testdata/alerts.yml verbatim; copy it into the alerting section")
	}
}

type promValue struct {
	labels map[string]string
	value  float64
}

func (v promValue) String() string { return fmt.Sprintf("%v=%g", v.labels, v.value) }

// promQuery runs an instant query through Prometheus's HTTP API.
func promQuery(api, q string) ([]promValue, error) {
	var resp struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := getJSON(api+"/api/v1/query?query="+url.QueryEscape(q), &resp); err != nil {
		return nil, err
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("%s: %s", q, resp.Error)
	}
	var out []promValue
	for _, r := range resp.Data.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %v", q, r.Value)
		}
		out = append(out, promValue{labels: r.Metric, value: f})
	}
	return out, nil
}

func getJSON(u string, v any) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %d %s: %w", u, resp.StatusCode, body, err)
	}
	return nil
}

// pollUntil calls cond every 250 ms until it holds or limit passes (a
// bound that only catches hangs).
func pollUntil(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestStatusPageInChromium renders the status page in Debian's headless
// Chromium at desktop and phone widths, saves the screenshots, and checks
// the DOM (after the page's script ran) for the servers and verdicts.
func TestStatusPageInChromium(t *testing.T) {
	t.Parallel()
	bin := findTool(t, "chromium", "chromium")
	sc := startScenario(t, Auth{})
	out := *screenshots
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	page := "http://" + sc.addr + "/"
	chrome := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return stdout
	}
	// A verdict can change between cycles on a loaded machine (a probe
	// that times out); the page is checked until it shows the expected
	// ones, a few times at most.
	var (
		dom     string
		missing []string
	)
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(2 * time.Second)
		}
		dom = string(chrome("--dump-dom", page))
		missing = missing[:0]
		for _, want := range []string{
			">healthy<", ">wrong-id<", ">skewed<",
			`class="v ok">ok<`, `class="v bad">auth_rejected<`, `class="v clock_skew">clock_skew<`,
			"<svg", `aria-sort="ascending"`,
		} {
			if !strings.Contains(dom, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the rendered page lacks %q", missing)
	}
	// The script sorted by verdict: failures first, ok last.
	if i, j := strings.Index(dom, ">wrong-id<"), strings.Index(dom, ">healthy<"); i < 0 || j < i {
		t.Errorf("rows not sorted by verdict (wrong-id at %d, healthy at %d)", i, j)
	}
	for _, id := range sc.ids {
		if strings.Contains(dom, id) {
			t.Fatal("the page shows a user id")
		}
	}
	// Sorted by name and filtered by text, as a bookmarked #fragment
	// asks: the rows come in name order, and those the filter leaves out
	// are hidden.
	dom = string(chrome("--dump-dom", page+"#s=0&d=1"))
	if i, j, k := strings.Index(dom, ">healthy<"), strings.Index(dom, ">skewed<"), strings.Index(dom, ">wrong-id<"); i < 0 || !(i < j && j < k) {
		t.Errorf("rows not sorted by name with #s=0 (healthy at %d, skewed at %d, wrong-id at %d)", i, j, k)
	}
	dom = string(chrome("--dump-dom", page+"#q=wrong"))
	for name, hidden := range map[string]bool{"healthy": true, "skewed": true, "wrong-id": false} {
		if got := rowHidden(dom, name); got != hidden {
			t.Errorf("with #q=wrong the row of %s is hidden=%v, want %v", name, got, hidden)
		}
	}
	for _, shot := range []struct {
		file string
		w, h int
	}{{"serve-status.png", 1200, 470}, {"serve-status-phone.png", 390, 844}} {
		path := filepath.Join(out, shot.file)
		chrome(fmt.Sprintf("--window-size=%d,%d", shot.w, shot.h), "--screenshot="+path, page)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if b := img.Bounds(); b.Dx() != shot.w || b.Dy() != shot.h {
			t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), shot.w, shot.h)
		}
		t.Logf("screenshot: %s", path)
	}
}

// rowHidden reports whether the status page's row of the server named
// name has the hidden attribute in a DOM dump.
func rowHidden(dom, name string) bool {
	at := strings.Index(dom, ">"+name+"<")
	start := strings.LastIndex(dom[:max(at, 0)], "<tr ")
	if at < 0 || start < 0 {
		return false
	}
	tag, _, _ := strings.Cut(dom[start:], ">")
	return strings.Contains(tag, " hidden")
}
