package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestProbeMany probes 300 targets at concurrency 64, pointed at three
// shared Xray servers, with every tenth a refused port: all finish, none
// is lost or duplicated, and the results come back in input order.
func TestProbeMany(t *testing.T) {
	web := startURL(t)
	var srvs []*vmesstest.Server
	for range 3 {
		srvs = append(srvs, startServer(t, vmesstest.ServerOptions{}))
	}
	refused := closedPort(t)
	targets := make([]Target, 300)
	for i := range targets {
		s := srvs[i%3]
		port := s.Port
		if i%10 == 9 {
			port = refused
		}
		targets[i] = targetFor(t, fmt.Sprintf("t%03d", i), s.Host, port, s.ID, "aes-128-gcm", "")
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 64
	var mu sync.Mutex
	emitted := map[string]int{}
	opts.OnResult = func(r Result) {
		mu.Lock()
		emitted[r.Name]++
		mu.Unlock()
	}
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 300 {
		t.Fatalf("%d results, want 300", len(res))
	}
	for i, r := range res {
		if want := fmt.Sprintf("t%03d", i); r.Name != want || r.Index != i {
			t.Fatalf("result %d is %s (index %d), want %s", i, r.Name, r.Index, want)
		}
		if emitted[r.Name] != 1 {
			t.Fatalf("%s emitted %d times", r.Name, emitted[r.Name])
		}
		wantOK := i%10 != 9
		if r.OK != wantOK || (!wantOK && r.Error.Kind != KindRefused) {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
	}
}

// TestProbeCancel: cancelling the run (Ctrl-C) returns at once with the
// results that finished; servers still waiting are dropped, not reported
// as failures.
func TestProbeCancel(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	bh, bp := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	targets := []Target{
		targetFor(t, "ok", srv.Host, srv.Port, srv.ID, "auto", ""),
		targetFor(t, "blackhole1", bh, bp, srv.ID, "auto", ""),
		targetFor(t, "blackhole2", bh, bp, srv.ID, "auto", ""),
	}
	opts := testOptions(web.URL)
	opts.Timeout = 20 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	opts.OnResult = func(r Result) {
		if r.Name == "ok" {
			time.AfterFunc(100*time.Millisecond, cancel)
		}
	}
	start := time.Now()
	res, err := Run(ctx, targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The blackholes would take the 20 s timeout; a quarter of it is
	// plenty of room for a busy machine to stop "at once".
	if el := time.Since(start); el > opts.Timeout/4 {
		t.Fatalf("Run took %v after cancel; want it to stop at once, not at the %v timeout", el, opts.Timeout)
	}
	if len(res) != 1 || res[0].Name != "ok" || !res[0].OK {
		t.Fatalf("results %s, want only the finished ok", jsonOf(res))
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
	r := runOne(t, targetFor(t, "https", srv.Host, srv.Port, srv.ID, "chacha20-poly1305", ""), opts)
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
		r = runOne(t, targetFor(t, "https-wrong", srv.Host, srv.Port, vmesstest.NewUUID(), "auto", ""), opts)
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
	r := runOne(t, targetFor(t, "dl", srv.Host, srv.Port, srv.ID, "aes-128-gcm", ""), opts)
	wantOK(t, r)
	if r.Download == nil || r.Download.Bytes != 8<<20 || r.Download.Seconds <= 0 || r.Download.BytesPerS <= 0 {
		t.Fatalf("download %s", jsonOf(r.Download))
	}

	opts.Download = web.URL + "/missing"
	r = runOne(t, targetFor(t, "dl404", srv.Host, srv.Port, srv.ID, "aes-128-gcm", ""), opts)
	if r.OK || r.Error.Kind != KindDestination || !strings.Contains(r.Error.Message, "404") {
		t.Fatalf("result %s, want a destination failure naming the 404", jsonOf(r))
	}
}

// TestProbeLegacy: alterId > 0 against Xray (AEAD only) is rejected, and
// the message says AEAD works.
func TestProbeLegacy(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	tg := targetFor(t, "legacy", srv.Host, srv.Port, srv.ID, "auto", "")
	tg.AlterID = 4
	r := runOne(t, tg, testOptions(web.URL))
	if r.Error == nil || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "set alterId to 0") {
		t.Fatalf("result %s", jsonOf(r))
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
	r := runOne(t, targetFor(t, "v6", "::1", srv.Port, srv.ID, "auto", ""), testOptions(web.URL))
	wantOK(t, r)
	if got := Table([]Result{r})[0].Cells[1]; got != fmt.Sprintf("[::1]:%d", srv.Port) {
		t.Fatalf("server cell %q", got)
	}
}
