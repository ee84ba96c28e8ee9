package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestProbeSlowServersDoNotStall mixes blackholes (accept, never answer), a
// garbage-speaking server and a server that accepts and hangs up with
// healthy servers at concurrency 2: every healthy server finishes while the
// first blackhole still holds its slot, and each blackhole costs its
// timeout and no more.
func TestProbeSlowServersDoNotStall(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	bh, bp := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	gh, gp := listen(t, func(c net.Conn) {
		c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02garbage"))
		io.Copy(io.Discard, c)
	})
	ok := func(i int) Target {
		return targetFor(t, fmt.Sprintf("ok%d", i), srv.Host, srv.Port, srv.ID, "auto", "")
	}
	targets := []Target{
		targetFor(t, "blackhole1", bh, bp, srv.ID, "auto", ""),
		targetFor(t, "garbage", gh, gp, srv.ID, "auto", ""),
		ok(1), ok(2), ok(3), ok(4), ok(5), ok(6),
		targetFor(t, "blackhole2", bh, bp, srv.ID, "auto", ""),
	}
	// Room for a busy machine: the healthy servers must beat 3/4 of it.
	const timeout = 3 * time.Second
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 2
	opts.Timeout = timeout
	start, done := recordFinish(&opts)
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	if len(res) != len(targets) {
		t.Fatalf("%d results, want %d", len(res), len(targets))
	}
	want := map[string]Kind{"blackhole1": KindTimeout, "garbage": KindProtocol, "blackhole2": KindTimeout}
	lastOK := time.Duration(0)
	for _, r := range res {
		if k, bad := want[r.Name]; bad {
			if r.OK || r.Error == nil || r.Error.Kind != k {
				t.Fatalf("%s: %s, want %s", r.Name, jsonOf(r), k)
			}
			continue
		}
		if !r.OK {
			t.Fatalf("%s: %s, want ok", r.Name, jsonOf(r))
		}
		// The healthy servers share the slot the first blackhole does not
		// hold, so each finishes long before that blackhole's timeout.
		if done[r.Name] >= timeout*3/4 {
			t.Errorf("%s finished after %v: it waited for a blackhole (timeout %v)", r.Name, done[r.Name], timeout)
		}
		lastOK = max(lastOK, done[r.Name])
	}
	// Each blackhole costs its timeout: the first from the start, the
	// second from when its slot freed (after the healthy ones at the
	// latest).
	slack := time.Second
	if d := done["blackhole1"]; d < timeout || d > timeout+slack {
		t.Errorf("blackhole1 took %v, want its timeout %v", d, timeout)
	}
	if d := done["blackhole2"]; d > lastOK+timeout+slack {
		t.Errorf("blackhole2 finished at %v, want by %v (the last healthy one at %v plus the timeout)", d, lastOK+timeout+slack, lastOK)
	}
	if total > 2*timeout+slack {
		t.Errorf("the run took %v, want at most %v", total, 2*timeout+slack)
	}
}

// forwarder relays TCP connections to addr; connection number n (from 1)
// is hung up at once, without a byte, when drop(n) says so.
func forwarder(t testing.TB, addr string, drop func(n int64) bool) (string, int) {
	t.Helper()
	var count atomic.Int64
	return listen(t, func(c net.Conn) {
		if drop(count.Add(1)) {
			return
		}
		up, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer up.Close()
		go func() {
			io.Copy(up, c)
			up.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(c, up)
	})
}

// TestProbeCountSemantics: --count N makes N samples on fresh connections;
// a failed sample after the first is counted in lost and left out of
// latency, which is min/median/max of the successful samples' totals. A
// failed first sample ends the probe with a verdict (one sample).
func TestProbeCountSemantics(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})

	t.Run("second of four lost", func(t *testing.T) {
		host, port := forwarder(t, srv.Addr, func(n int64) bool { return n == 2 })
		opts := testOptions(web.URL)
		opts.Count = 4
		r := runOne(t, targetFor(t, "flaky", host, port, srv.ID, "auto", ""), opts)
		wantOK(t, r)
		if r.Samples != 4 || r.Lost != 1 {
			t.Fatalf("samples %d lost %d, want 4 and 1: %s", r.Samples, r.Lost, jsonOf(r))
		}
		if r.Latency.Min > r.Latency.Median || r.Latency.Median > r.Latency.Max || r.Latency.Min == r.Latency.Max && r.Latency.Min == 0 {
			t.Fatalf("latency %+v", *r.Latency)
		}
	})
	t.Run("all later samples lost", func(t *testing.T) {
		host, port := forwarder(t, srv.Addr, func(n int64) bool { return n >= 2 })
		opts := testOptions(web.URL)
		opts.Count = 3
		r := runOne(t, targetFor(t, "dies", host, port, srv.ID, "auto", ""), opts)
		if !r.OK || r.Samples != 3 || r.Lost != 2 || r.Latency == nil || r.Latency.Min != r.Latency.Max {
			t.Fatalf("result %s, want ok with one good sample of three", jsonOf(r))
		}
	})
	t.Run("first sample decides", func(t *testing.T) {
		// The first connection is hung up like a rejection; the clock
		// check that follows is accepted at our clock, so the verdict
		// says to probe again, after one sample.
		host, port := forwarder(t, srv.Addr, func(n int64) bool { return n == 1 })
		opts := testOptions(web.URL)
		opts.Count = 5
		r := runOne(t, targetFor(t, "hiccup", host, port, srv.ID, "auto", ""), opts)
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

// TestProbeWrongIDBesideWorkingOne: when another entry for the same server
// was accepted at our clock, a rejected id needs no clock search of its
// own: the verdict is auth_rejected at once, with a handful of handshakes.
func TestProbeWrongIDBesideWorkingOne(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	var conns atomic.Int64
	host, port := forwarder(t, srv.Addr, func(int64) bool { conns.Add(1); return false })
	wrong := vmesstest.NewUUID()
	targets := []Target{
		targetFor(t, "right", host, port, srv.ID, "auto", ""),
		targetFor(t, "wrong", host, port, wrong, "auto", ""),
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 1 // the working entry finishes first
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := res[1]
	if !res[0].OK || r.OK || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "accepted another entry's id with our clock") {
		t.Fatalf("results %s", jsonOf(res))
	}
	if strings.Contains(r.Error.Message, wrong) || !strings.Contains(r.Error.Message, vmess.MaskID(wrong)) {
		t.Fatalf("message %q: want the id masked", r.Error.Message)
	}
	// right: 1 sample; wrong: 1 sample and the TLS check.
	if n := conns.Load(); n > 3 {
		t.Fatalf("the server saw %d connections, want 3", n)
	}
}

// TestProbeSkewSharedConcurrent: five entries for one server an hour
// behind, all probed at once: the first search finds the offset, and each
// of the others verifies it with one handshake.
func TestProbeSkewSharedConcurrent(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	var conns atomic.Int64
	host, port := forwarder(t, srv.Addr, func(int64) bool { conns.Add(1); return false })
	var targets []Target
	for i := range 5 {
		targets = append(targets, targetFor(t, fmt.Sprint(i), host, port, srv.ID, "auto", ""))
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Now = func() time.Time { return time.Now().Add(time.Hour) }
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	verified := 0
	for _, r := range res {
		if r.OK || r.Error.Kind != KindClockSkew || r.Skew == nil || r.Skew.OffsetS > -3597 || r.Skew.OffsetS < -3603 {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		if r.Skew.Handshakes == 1 {
			verified++
		}
	}
	// Searches take turns per server: one full search (about 29
	// handshakes) and four one-handshake checks, plus a sample and a TLS
	// check per entry: about 43 connections, against 5 × 31 without.
	if n := conns.Load(); verified != 4 || n > 50 {
		t.Fatalf("%d of 5 verified another's offset; the server saw %d connections", verified, n)
	}
}

// TestProbeSkewSharedPerServer: once one entry's search found a server's
// clock offset, another rejected entry for the same server verifies it
// with one handshake instead of searching again.
func TestProbeSkewSharedPerServer(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	var conns atomic.Int64
	host, port := forwarder(t, srv.Addr, func(int64) bool { conns.Add(1); return false })
	targets := []Target{
		targetFor(t, "first", host, port, srv.ID, "auto", ""),
		targetFor(t, "second", host, port, srv.ID, "aes-128-gcm", ""),
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 1
	opts.Now = func() time.Time { return time.Now().Add(time.Hour) } // the server is an hour behind
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.OK || r.Error.Kind != KindClockSkew || r.Skew == nil || r.Skew.OffsetS > -3597 || r.Skew.OffsetS < -3603 || !strings.Contains(r.Error.Message, "1h behind") {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
	}
	first, second := res[0].Skew.Handshakes, res[1].Skew.Handshakes
	if second != 1 || !strings.Contains(res[1].Error.Message, "measured with another entry") {
		t.Fatalf("second entry: %d handshakes, message %q; want 1, citing the other entry", second, res[1].Error.Message)
	}
	// Each entry: one sample and the TLS check, plus its search.
	if n := settledCount(&conns, int64(2+first+2+second)); n != int64(2+first+2+second) {
		t.Fatalf("the server saw %d connections, want %d", n, 2+first+2+second)
	}
}

// TestProbeSameWrongIDTwice: two entries with the same wrong id for one
// server (a subscription's duplicates) cost one search: the second takes
// its turn after the first and reuses its verdict.
func TestProbeSameWrongIDTwice(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	var conns atomic.Int64
	host, port := forwarder(t, srv.Addr, func(int64) bool { conns.Add(1); return false })
	wrong := vmesstest.NewUUID()
	targets := []Target{
		targetFor(t, "a", host, port, wrong, "auto", ""),
		targetFor(t, "b", host, port, strings.ToUpper(wrong), "aes-128-gcm", ""),
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.SkewSearch.Range = time.Hour // 33 handshakes a search
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	shared := 0
	for _, r := range res {
		if r.OK || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "no clock offset within ±1h was accepted") {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		if strings.Contains(r.Error.Message, "searched for another entry with the same id") {
			shared++
		}
	}
	// Two samples, two TLS checks, one search of 33.
	if n := settledCount(&conns, 2+2+33); shared != 1 || n != 2+2+33 {
		t.Fatalf("%d verdicts shared, %d connections; want 1 and 37", shared, n)
	}
}

// TestProbeSearchTurnsDoNotStall: rejected entries of one server that wait
// for their search turn give their run slot back, so at concurrency 2 the
// healthy servers behind them finish while the searches go on.
func TestProbeSearchTurnsDoNotStall(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	other := startServer(t, vmesstest.ServerOptions{})
	var targets []Target
	for i := range 3 {
		targets = append(targets, targetFor(t, fmt.Sprint("wrong", i), srv.Host, srv.Port, vmesstest.NewUUID(), "auto", ""))
	}
	for i := range 4 {
		targets = append(targets, targetFor(t, fmt.Sprint("ok", i), other.Host, other.Port, other.ID, "auto", ""))
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 2
	// A search of ±1h is 33 handshakes, 20 ms apart: about 0.65 s each,
	// and the three take turns.
	opts.SkewSearch = SkewSearch{Range: time.Hour, Spacing: 20 * time.Millisecond, SlowSpacing: 20 * time.Millisecond}
	_, done := recordFinish(&opts)
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		wantOK := strings.HasPrefix(r.Name, "ok")
		if r.OK != wantOK || (!wantOK && r.Error.Kind != KindAuthRejected) {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		// Relative, not a wall-clock bound: the working entries use the
		// slots the waiting searches parked, so they end before the
		// first search does (it is 33 paced handshakes).
		if wantOK && done[r.Name] >= done["wrong0"] {
			t.Errorf("%s finished at %v, behind the first search (wrong0 at %v)", r.Name, done[r.Name], done["wrong0"])
		}
	}
	if d := done["wrong2"]; d < 3*600*time.Millisecond {
		t.Errorf("the three searches of one server ended at %v; want them one after another (≥ 1.8 s)", d)
	}
}

// recordFinish sets opts.OnResult to note, by target name, how long after
// start (now) each result arrived. Read done after Run returns.
func recordFinish(opts *Options) (start time.Time, done map[string]time.Duration) {
	var mu sync.Mutex
	done = map[string]time.Duration{}
	start = time.Now()
	opts.OnResult = func(r Result) {
		mu.Lock()
		done[r.Name] = time.Since(start)
		mu.Unlock()
	}
	return start, done
}

// settledCount reads a connection counter once it has reached want or
// stopped moving. A connection the prober opened and dropped at once (the
// TLS check) is complete for the kernel before the forwarder's Accept
// returns and counts it, so Run can return a moment before the count is
// final; an exact count read at once would be a race with the forwarder.
func settledCount(c *atomic.Int64, want int64) int64 {
	deadline := time.Now().Add(2 * time.Second)
	for c.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // a count above want shows up too
	return c.Load()
}
