package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestProbeEndpoint(t *testing.T) {
	dir := t.TempDir()
	links := writeLinks(t, dir, "links.txt", 3)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("groups:\n  - name: a\n    targets: [links.txt]\n  - name: b\n    targets: [links.txt]\n"), 0o644)
	_ = links
	s, _ := newTestServer(t, Options{ConfigFile: cfg, LinkTargets: true})
	h := s.Handler()
	link := v2rayNLink("adhoc", "127.0.0.1", 20003, fakeID(3), "ws", nil)

	tests := []struct {
		name, query string
		code        int
		want        []string // substrings of the body
	}{
		{"no target", "", 400, []string{"give target=NAME"}},
		{"ambiguous", "target=s0", 400, []string{`2 targets are named "s0"; add module=GROUP`}},
		{"by name", "target=s0&module=a", 200, []string{"xvm_probe_success 1", `xvm_probe_verdict{kind="ok"} 1`, `xvm_probe_verdict{kind="refused"} 0`,
			`xvm_probe_phase_seconds{phase="handshake"}`, `xvm_probe_info{group="a",name="s0",server="127.0.0.1:20000",transport="raw"} 1`}},
		{"failing", "target=s1&module=b", 200, []string{"xvm_probe_success 0", `xvm_probe_verdict{kind="refused"} 1`}},
		{"clock", "target=s2&module=b", 200, []string{`xvm_probe_verdict{kind="clock_skew"} 1`, "xvm_probe_clock_offset_seconds -19"}},
		{"unknown name", "target=nope", 400, []string{`no target is named "nope"`}},
		{"unknown module", "target=s0&module=zz", 400, []string{`module "zz" is not a group`}},
		{"link", "target=" + url.QueryEscape(link), 200, []string{"xvm_probe_success 1", `xvm_probe_info{group="",name="adhoc",server="127.0.0.1:20003",transport="ws"} 1`}},
		{"bad link", "target=" + url.QueryEscape("vmess://!!!"), 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, "/probe?"+tt.query)
			body := rec.Body.String()
			if rec.Code != tt.code {
				t.Fatalf("code %d, want %d\n%s", rec.Code, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, fakeID(3)) || strings.Contains(body, fakeID(0)) {
				t.Error("the answer shows a user id")
			}
		})
	}
	// The on-demand probes of configured targets are results like any.
	if !hasResult(s, "s0") {
		t.Error("/probe of a configured target did not record its result")
	}

	off, _ := newTestServer(t, Options{ConfigFile: cfg})
	if rec := get(t, off.Handler(), "/probe?target="+url.QueryEscape(link)); rec.Code != 400 || !strings.Contains(rec.Body.String(), "link targets are turned off") {
		t.Errorf("links off: %d %s", rec.Code, rec.Body)
	}
}

// TestProbeEndpointScrapeTimeout: a probe that outlives Prometheus's
// scrape timeout answers in time, with success 0 and kind timeout.
func TestProbeEndpointScrapeTimeout(t *testing.T) {
	t.Parallel() // it waits for the scrape timeout; the others need not
	g := newGatedRun()
	s, _ := newTestServer(t, Options{Sources: []string{writeLinks(t, t.TempDir(), "l.txt", 1)}, Run: g.run})
	rec := get(t, s.Handler(), "/probe?target=s0", "X-Prometheus-Scrape-Timeout-Seconds", "1.2")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "xvm_probe_success 0") || !strings.Contains(body, `xvm_probe_verdict{kind="timeout"} 1`) {
		t.Fatalf("%d\n%s", rec.Code, body)
	}
	s.mu.Lock()
	busy := targetByName0(s, "s0").busy
	s.mu.Unlock()
	if busy {
		t.Error("the abandoned probe left its target busy")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	writeLinks(t, dir, "links.txt", 3)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("labels: {env: prod}\ngroups:\n  - name: a\n    labels: {provider: x}\n    targets: [links.txt]\n"), 0o644)
	s, clock := newTestServer(t, Options{ConfigFile: cfg, Version: "v9"})
	s.dispatch(context.Background(), clock.add(time.Minute))
	s.cycles.Wait()
	rec := get(t, s.Handler(), "/metrics")
	body := rec.Body.String()
	if testing.Verbose() {
		t.Log(body)
	}
	for _, want := range []string{
		`xvm_probe_success{env="prod",group="a",name="s0",provider="x",server="127.0.0.1:20000",transport="raw"} 1`,
		`xvm_probe_verdict{env="prod",group="a",kind="refused",name="s1",provider="x",server="127.0.0.1:20001",transport="raw"} 1`,
		`xvm_probe_clock_offset_seconds{env="prod",group="a",name="s2"`,
		`xvm_probe_total_seconds_bucket{env="prod",group="a",name="s0",provider="x",server="127.0.0.1:20000",transport="raw",le="+Inf"} 1`,
		`xvm_probe_samples_lost_total{env="prod",group="a",name="s1",provider="x",server="127.0.0.1:20001",transport="raw"} 1`,
		`xvm_probe_last_timestamp_seconds{`,
		`xvm_serve_targets{group="a"} 3`,
		`xvm_serve_cycles_total{group="a"} 1`,
		`xvm_serve_build_info{version="v9"} 1`,
		`xvm_serve_config_last_reload_successful 1`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Phases a server never has get no series: s0 has no TLS.
	if strings.Contains(body, `xvm_probe_tls_seconds_count{env="prod",group="a",name="s0"`) {
		t.Error("a TLS histogram for a server without TLS")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(strings.NewReader(body)); err != nil {
		t.Fatalf("/metrics is not valid exposition format: %v", err)
	}
}

func TestEventsStream(t *testing.T) {
	s, clock := newTestServer(t, Options{Sources: []string{writeLinks(t, t.TempDir(), "l.txt", 2)}})
	s.dispatch(context.Background(), clock.add(time.Minute))
	s.cycles.Wait()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	read := func() Event {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		var ev Event
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
			t.Fatalf("%s: %v", lines.Bytes(), err)
		}
		if strings.Contains(lines.Text(), fakeID(0)) || strings.Contains(lines.Text(), fakeID(1)) {
			t.Fatal("an event shows a user id")
		}
		return ev
	}
	// The snapshot: both targets' latest results.
	a, b := read(), read()
	if a.Name != "s0" || !a.OK || b.Name != "s1" || b.OK || b.Error.Kind != "refused" || a.Group != DefaultGroup || a.Transport != "raw" {
		t.Fatalf("snapshot %+v %+v", a, b)
	}
	// Then each new result.
	s.dispatch(context.Background(), clock.add(time.Minute))
	s.cycles.Wait()
	c := read()
	if c.Name != "s0" && c.Name != "s1" || !c.Time.Equal(clock.Now()) {
		t.Fatalf("live event %+v", c)
	}
}

func TestAuth(t *testing.T) {
	src := writeLinks(t, t.TempDir(), "l.txt", 1)
	tests := []struct {
		name   string
		auth   Auth
		header []string
		code   int
	}{
		{"none configured", Auth{}, nil, 200},
		{"basic ok", Auth{Username: "u", Password: "p"}, []string{"Authorization", "Basic dTpw"}, 200},
		{"basic wrong", Auth{Username: "u", Password: "p"}, []string{"Authorization", "Basic dTpx"}, 401},
		{"basic missing", Auth{Username: "u", Password: "p"}, nil, 401},
		{"bearer ok", Auth{BearerToken: "tok"}, []string{"Authorization", "Bearer tok"}, 200},
		{"bearer wrong", Auth{BearerToken: "tok"}, []string{"Authorization", "Bearer tok2"}, 401},
		{"either: bearer", Auth{Username: "u", Password: "p", BearerToken: "tok"}, []string{"Authorization", "Bearer tok"}, 200},
		{"either: basic", Auth{Username: "u", Password: "p", BearerToken: "tok"}, []string{"Authorization", "Basic dTpw"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{Sources: []string{src}, Auth: tt.auth})
			h := s.Handler()
			for _, path := range []string{"/", "/metrics", "/events?x", "/probe?target=s0"} {
				if path == "/events?x" && tt.code == 200 {
					continue // a stream does not end
				}
				if rec := get(t, h, path, tt.header...); rec.Code != tt.code {
					t.Errorf("%s: %d, want %d", path, rec.Code, tt.code)
				}
			}
			if rec := get(t, h, "/healthz"); rec.Code != 200 {
				t.Errorf("/healthz: %d, want 200 without credentials", rec.Code)
			}
		})
	}
}

// TestStatusPageSelfContained: the page loads nothing from elsewhere, its
// CSP says so, names are escaped, and the history is inline SVG.
func TestStatusPageSelfContained(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.txt")
	os.WriteFile(path, []byte(v2rayNLink(`<script>alert(1)</script>`, "127.0.0.1", 20000, fakeID(0), "tcp", nil)+"\n"), 0o644)
	s, clock := newTestServer(t, Options{Sources: []string{path}})
	for range 20 {
		s.dispatch(context.Background(), clock.add(31*time.Minute))
		s.cycles.Wait()
	}
	rec := get(t, s.Handler(), "/")
	body := rec.Body.String()
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "default-src 'none';") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("a server name was not escaped")
	}
	for _, bad := range []string{"src=\"http", "href=\"http", "@import", "url(", "<link"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page refers to something outside itself: %q", bad)
		}
	}
	if !strings.Contains(body, `<path class="l" d="M`) || !strings.Contains(body, `<svg class="spark"`) {
		t.Error("no history line drawn")
	}
}

// TestStatusPageSizeBounded: 1,000 servers with a full day of history make
// a page a phone can load: about 2 MB of markup, under 300 KB gzipped.
func TestStatusPageSizeBounded(t *testing.T) {
	s, clock := newTestServer(t, Options{Sources: []string{writeLinks(t, t.TempDir(), "l.txt", 1000)}})
	for range historySlots {
		s.dispatch(context.Background(), clock.add(historySlot))
		s.cycles.Wait()
	}
	plain := get(t, s.Handler(), "/")
	zipped := get(t, s.Handler(), "/", "Accept-Encoding", "gzip, deflate, br")
	t.Logf("page: %d bytes, %d gzipped", plain.Body.Len(), zipped.Body.Len())
	if plain.Body.Len() > 3<<20 || zipped.Body.Len() > 300<<10 || zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("page %d bytes, %d gzipped (%q)", plain.Body.Len(), zipped.Body.Len(), zipped.Header().Get("Content-Encoding"))
	}
	if got := get(t, s.Handler(), "/", "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding"); got != "" {
		t.Errorf("gzip;q=0 got Content-Encoding %q", got)
	}
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestStatusPageGolden pins the page's markup for three servers (ok,
// refused, clock skew) after a day of cycles: a change to the template or
// the sparkline shows as a diff (go test -run Golden -update rewrites it).
func TestStatusPageGolden(t *testing.T) {
	s, clock := newTestServer(t, Options{Sources: []string{writeLinks(t, t.TempDir(), "l.txt", 3)}})
	for range 96 {
		s.dispatch(context.Background(), clock.add(15*time.Minute))
		s.cycles.Wait()
	}
	d := s.snapshotPage(clock.Now().Add(90 * time.Second))
	d.Nonce = "NONCE"
	var buf bytes.Buffer
	if err := renderPage(&buf, d); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/status.golden.html"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Fatalf("status page (-want +got), rerun with -update if intended:\n%s", diff)
	}
}
