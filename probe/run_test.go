package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestProbeSlowServersDoNotStall mixes a blackhole (accepts, never
// answers) and a garbage-speaking server with healthy servers at
// concurrency 2: every healthy server finishes while the blackhole holds
// its slot — before the blackhole's verdict, which takes its timeout twice
// (it is tried again at the end, before it is called a timeout).
func TestProbeSlowServersDoNotStall(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	bh, bp := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	gh, gp := listen(t, func(c net.Conn) {
		c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02garbage"))
		io.Copy(io.Discard, c)
	})
	targets := []Target{
		spec{name: "blackhole", host: bh, port: bp, id: srv.ID}.target(t),
		spec{name: "garbage", host: gh, port: gp, id: srv.ID}.target(t),
	}
	for i := range 6 {
		targets = append(targets, spec{name: fmt.Sprintf("ok%d", i), host: srv.Host, port: srv.Port, id: srv.ID}.target(t))
	}
	timeout := shortOr(3*time.Second, time.Second)
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 2
	opts.Timeout = timeout
	place := recordOrder(&opts)
	start := time.Now()
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	if len(res) != len(targets) {
		t.Fatalf("%d results, want %d", len(res), len(targets))
	}
	want := map[string]Kind{"blackhole": KindTimeout, "garbage": KindProtocol}
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
		// The healthy servers share the slot the blackhole does not hold.
		if place[r.Name] > place["blackhole"] {
			t.Errorf("%s finished after the blackhole (order %v): it waited for it", r.Name, place)
		}
	}
	if !res[0].Retried || !strings.Contains(res[0].Error.Message, "also on a second try") {
		t.Errorf("blackhole %s: want it tried again before the verdict", jsonOf(res[0]))
	}
	// A hang catcher, not a speed test (the order above is the claim):
	// the blackhole's two timeouts, with room for a busy machine.
	if limit := 10 * timeout; total > limit {
		t.Errorf("the run took %v, want at most %v", total, limit)
	}
}

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
		targets[i] = spec{name: fmt.Sprintf("t%03d", i), host: s.Host, port: port, id: s.ID, security: "aes-128-gcm"}.target(t)
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 64
	opts.Budget = 1000 // 100 entries a server; TestProbeBudget is the default's
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
		spec{name: "ok", host: srv.Host, port: srv.Port, id: srv.ID}.target(t),
		spec{name: "blackhole1", host: bh, port: bp, id: srv.ID}.target(t),
		spec{name: "blackhole2", host: bh, port: bp, id: srv.ID}.target(t),
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

// recordOrder sets opts.OnResult to note the order in which results
// become final: place maps each target's name to its position (0 first).
// Tests compare places, not times, so a busy machine cannot fail them.
func recordOrder(opts *Options) (place map[string]int) {
	var mu sync.Mutex
	place = map[string]int{}
	opts.OnResult = func(r Result) {
		mu.Lock()
		place[r.Name] = len(place)
		mu.Unlock()
	}
	return place
}

// relay starts vmesstest's counting relay to addr, hanging up connection
// number n (from 1) at once, without a byte, when drop(n) says so (nil:
// none). It returns the relay with its host and port, as targets take them.
func relay(t testing.TB, addr string, drop func(n int64) bool) (r *vmesstest.Relay, host string, port int) {
	t.Helper()
	r = vmesstest.StartRelayDropping(t, addr, drop)
	return r, "127.0.0.1", vmesstest.Port(t, r.Addr)
}
