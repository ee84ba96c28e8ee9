package probe

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestProbeCountSemantics: --count N makes N samples on fresh connections;
// a failed sample after the first is counted in lost and left out of
// latency, which is min/median/max of the successful samples' totals. A
// failed first sample ends the probe with a verdict (one sample).
func TestProbeCountSemantics(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})

	t.Run("second of four lost", func(t *testing.T) {
		_, host, port := relay(t, srv.Addr, func(n int64) bool { return n == 2 })
		opts := testOptions(web.URL)
		opts.Count = 4
		r := runOne(t, spec{name: "flaky", host: host, port: port, id: srv.ID}.target(t), opts)
		wantOK(t, r)
		if r.Samples != 4 || r.Lost != 1 {
			t.Fatalf("samples %d lost %d, want 4 and 1: %s", r.Samples, r.Lost, jsonOf(r))
		}
		if r.Latency.Min > r.Latency.Median || r.Latency.Median > r.Latency.Max || r.Latency.Min == r.Latency.Max && r.Latency.Min == 0 {
			t.Fatalf("latency %+v", *r.Latency)
		}
	})
	t.Run("all later samples lost", func(t *testing.T) {
		_, host, port := relay(t, srv.Addr, func(n int64) bool { return n >= 2 })
		opts := testOptions(web.URL)
		opts.Count = 3
		r := runOne(t, spec{name: "dies", host: host, port: port, id: srv.ID}.target(t), opts)
		if !r.OK || r.Samples != 3 || r.Lost != 2 || r.Latency == nil || r.Latency.Min != r.Latency.Max {
			t.Fatalf("result %s, want ok with one good sample of three", jsonOf(r))
		}
	})
	t.Run("first sample decides", func(t *testing.T) {
		// The first connection is hung up like a rejection; the clock
		// check that follows is accepted at our clock, so the verdict
		// says to probe again, after one sample.
		_, host, port := relay(t, srv.Addr, func(n int64) bool { return n == 1 })
		opts := testOptions(web.URL)
		opts.Count = 5
		r := runOne(t, spec{name: "hiccup", host: host, port: port, id: srv.ID}.target(t), opts)
		if r.OK || r.Samples != 1 || r.Lost != 1 || r.Latency != nil || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "probe it again") {
			t.Fatalf("result %s", jsonOf(r))
		}
	})
}

func TestSummarise(t *testing.T) {
	s := func(ms ...int) []sample {
		var out []sample
		for _, m := range ms {
			out = append(out, sample{total: time.Duration(m) * time.Millisecond, handshake: time.Duration(m) * time.Millisecond / 2})
		}
		return out
	}
	tests := []struct {
		name          string
		in            []sample
		want          Latency
		wantHandshake Millis // the phases come from the median sample
	}{
		{"one", s(7), Latency{7, 7, 7}, 3.5},
		{"odd, unsorted", s(30, 10, 20), Latency{10, 20, 30}, 10},
		{"even: mean of the middle two", s(40, 10, 30, 20), Latency{10, 25, 40}, 10},
		{"ties", s(5, 5, 9), Latency{5, 5, 9}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, lat := summarise(tt.in)
			if *lat != tt.want {
				t.Fatalf("latency %+v, want %+v", *lat, tt.want)
			}
			if *tm.Handshake != tt.wantHandshake {
				t.Fatalf("handshake %v, want %v (from the median sample)", *tm.Handshake, tt.wantHandshake)
			}
		})
	}
}

// TestProbeHTTPS fetches an https URL: TLS runs inside the tunnel.
func TestProbeHTTPS(t *testing.T) {
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(web.Close)
	roots := web.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	srv := startServer(t, vmesstest.ServerOptions{})
	opts := testOptions(web.URL)
	opts.URLRootCAs = roots
	r := runOne(t, spec{name: "https", host: srv.Host, port: srv.Port, id: srv.ID, security: "chacha20-poly1305"}.target(t), opts)
	wantOK(t, r)
	if *r.Timings.FirstByte <= 0 {
		t.Fatalf("first byte %v", *r.Timings.FirstByte)
	}

	// A wrong id with an https URL on raw TCP: the short TLS ClientHello
	// may not reach the server's drain size, so the sample alone could
	// wait for the server's 60 s handshake timeout; the padded check sent
	// beside it tells the rejection at once, well within the timeout.
	opts.Timeout = 10 * time.Second
	opts.SkewSearch.Range = 10 * time.Minute
	for range 3 {
		start := time.Now()
		r = runOne(t, spec{name: "https-wrong", host: srv.Host, port: srv.Port, id: vmesstest.NewUUID()}.target(t), opts)
		if r.Error == nil || r.Error.Kind != KindAuthRejected {
			t.Fatalf("result %s, want auth_rejected", jsonOf(r))
		}
		if el := time.Since(start); el > opts.Timeout/2 {
			t.Fatalf("took %v; the rejection should be seen without waiting for the %v timeout", el, opts.Timeout)
		}
	}
}

func TestProbeDownload(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Download = web.URL + "/bytes?n=8388608"
	r := runOne(t, spec{name: "dl", host: srv.Host, port: srv.Port, id: srv.ID, security: "aes-128-gcm"}.target(t), opts)
	wantOK(t, r)
	if r.Download == nil || r.Download.Bytes != 8<<20 || r.Download.Seconds <= 0 || r.Download.BytesPerS <= 0 {
		t.Fatalf("download %s", jsonOf(r.Download))
	}

	opts.Download = web.URL + "/missing"
	r = runOne(t, spec{name: "dl404", host: srv.Host, port: srv.Port, id: srv.ID, security: "aes-128-gcm"}.target(t), opts)
	if r.OK || r.Error.Kind != KindDestination || !strings.Contains(r.Error.Message, "404") {
		t.Fatalf("result %s, want a destination failure naming the 404", jsonOf(r))
	}
}

// TestProbeIPv6 probes a server listening on ::1, with the URL's host on
// ::1 too.
func TestProbeIPv6(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("this test needs IPv6 loopback: %v", err)
	}
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	web.Listener = l
	web.Start()
	t.Cleanup(web.Close)
	srv := startServer(t, vmesstest.ServerOptions{Listen: "::1"})
	r := runOne(t, spec{name: "v6", host: "::1", port: srv.Port, id: srv.ID}.target(t), testOptions(web.URL))
	wantOK(t, r)
	if got := Table([]Result{r})[0].Cells[1]; got != fmt.Sprintf("[::1]:%d", srv.Port) {
		t.Fatalf("server cell %q", got)
	}
}

// TestProbeBudgetCutsSamples: a server that works, whose budget is spent
// before its samples and its download are done, is still ok; notes say
// which measurements the budget left out, with the budget advice (a
// spent budget used to fail a working server when a download was asked
// for, and to cut samples silently).
func TestProbeBudgetCutsSamples(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	opts := testOptions(web.URL)
	opts.Count = 3
	opts.Budget = 2
	opts.Download = web.URL + "/bytes?n=1000"
	r := runOne(t, spec{name: "cut", host: srv.Host, port: srv.Port, id: srv.ID}.target(t), opts)
	wantOK(t, r)
	if r.Error != nil || r.Samples != 2 || r.Download != nil || len(r.Notes) != 2 {
		t.Fatalf("result %s, want ok with 2 samples, no download and two notes", jsonOf(r))
	}
	for i, want := range []string{"2 of 3 samples", "download not made"} {
		n := r.Notes[i]
		if !strings.Contains(n.Message, want) || !strings.Contains(n.Message, "connections allowed") || !slices.Equal(n.Advice, []Advice{AdviceBudget}) {
			t.Errorf("note %d %s, want it to say %q and why, with the budget advice", i, jsonOf(n), want)
		}
		noFlags(t, n.Message)
	}
	if row := Table([]Result{r})[0]; !strings.Contains(row.Cells[len(row.Cells)-1], "download not made") {
		t.Errorf("table detail %q does not say the download was not made", row.Cells[len(row.Cells)-1])
	}
}
