package probe

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// farRTT is the round trip the relays of these tests put between the
// prober and a server: a server on another continent. With -short it is
// smaller, so the package's tests run in seconds; the verdicts and the
// connection counts asserted are the same.
func farRTT() time.Duration { return shortOr(150*time.Millisecond, 20*time.Millisecond) }

// farOptions are the defaults a user gets, with only the URL pointed at
// the loopback web server, and each TCP connect one farRTT long (the
// relays delay the data, not the handshake).
func farOptions(url string) Options {
	return Options{URL: url + "/generate_204", NetDialer: probetest.Dialer{RTT: farRTT()}}
}

// TestProbeFarRejectingServers: three servers that do not hold our id, at
// 150 ms RTT, with default options: each is auth_rejected after at most
// 64 connections (the default budget), never more than 6 open at once.
// The run's wall time is logged, not asserted (BenchmarkFarRejecting
// measures it); the bound below only catches a hang.
func TestProbeFarRejectingServers(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	web := startURL(t)
	var targets []Target
	var relays []*probetest.Relay
	for i := range 3 {
		srv := startServer(t, vmesstest.ServerOptions{})
		r := probetest.StartRelay(t, srv.Addr, farRTT())
		relays = append(relays, r)
		targets = append(targets, spec{name: fmt.Sprint("far", i), host: r.Host, port: r.Port, id: vmesstest.NewUUID()}.target(t))
	}
	opts := farOptions(web.URL)
	dialer := &openCounter{inner: opts.NetDialer}
	opts.NetDialer = dialer
	start := time.Now()
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("3 rejecting servers at %v RTT: %v", farRTT(), el)
	for i, r := range res {
		if r.OK || r.Error.Kind != KindAuthRejected || r.Error.Diagnosis.Evidence != EvidenceSearch {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		if n := settled(relays[i].Conns); n > DefaultBudget {
			t.Errorf("%s: the server saw %d connections, want at most %d", r.Name, n, DefaultBudget)
		}
		if m := dialer.maxOpen(relays[i].Addr); m > DefaultPerServer {
			t.Errorf("%s: %d connections open at once, want at most %d", r.Name, m, DefaultPerServer)
		}
	}
	if el > time.Minute {
		t.Fatalf("the run took %v", el)
	}
}

// TestProbeCloseAfterRequest: a server that reads the request and closes
// without a byte looks like a VMess rejection; its verdict comes inside
// the budget (the old exhaustive search sent it 769 handshakes), and no
// handshake of it waited for the timeout: each was told by the close.
// BenchmarkCloseAfterRequest times it against the issue's "within the
// timeout plus 2 s"; this test counts instead, so a busy machine cannot
// fail it.
func TestProbeCloseAfterRequest(t *testing.T) {
	t.Parallel() // it waits for the server's pauses; the others need not
	web := startURL(t)
	host, port, conns := startCloseAfterRequest(t)
	opts := Options{URL: web.URL + "/generate_204", Timeout: 3 * time.Second}
	r := runOne(t, spec{name: "closes", host: host, port: port, id: vmesstest.NewUUID()}.target(t), opts)
	if r.OK || r.Error.Kind != KindAuthRejected || r.Error.Diagnosis == nil || r.Error.Diagnosis.Evidence != EvidenceSearch {
		t.Fatalf("result %s, want auth_rejected after the bounded search", jsonOf(r))
	}
	// A handshake that waited out the timeout would end the search with
	// "could not finish" and the timeout advice.
	if slices.Contains(r.Error.Advice, AdviceTimeout) || r.Retried {
		t.Fatalf("result %s: a handshake waited for the timeout", jsonOf(r))
	}
	if n := settled(conns.Load); n > DefaultBudget {
		t.Fatalf("%d connections, want at most %d", n, DefaultBudget)
	}
}

// startCloseAfterRequest starts a server that takes a request (until the
// client pauses) and closes without a byte; conns counts its connections.
func startCloseAfterRequest(t testing.TB) (host string, port int, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	host, port = listen(t, func(c net.Conn) {
		conns.Add(1)
		buf := make([]byte, 64<<10)
		for {
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	return host, port, conns
}

// TestProbeBudget: a server named by more entries than its budget allows
// gets no more connections than the budget; the entries beyond it are
// skipped and say why. A larger budget (--conn-budget) lets them all in.
func TestProbeBudget(t *testing.T) {
	web := startURL(t)
	// 70 users, so the entries are 70 clients of one server, not one
	// configuration under 70 names (which Run would probe once).
	ids := make([]string, 70)
	for i := range ids {
		ids[i] = vmesstest.NewUUID()
	}
	srv := startServer(t, vmesstest.ServerOptions{IDs: ids})
	for _, tc := range []struct {
		name   string
		budget int // 0: the default
		ok     int
	}{
		{"default", 0, DefaultBudget},
		{"raised", 70, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relay := probetest.StartRelay(t, srv.Addr, 0)
			var targets []Target
			for i := range 70 {
				targets = append(targets, spec{name: fmt.Sprint("e", i), host: relay.Host, port: relay.Port, id: ids[i]}.target(t))
			}
			opts := testOptions(web.URL)
			opts.Count = 1
			opts.Budget = tc.budget
			res, err := Run(context.Background(), targets, opts)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[Kind]int{}
			for _, r := range res {
				if r.OK {
					kinds["ok"]++
					continue
				}
				if r.Error.Kind != KindSkipped || !slices.Contains(r.Error.Advice, AdviceBudget) {
					t.Fatalf("%s: %s", r.Name, jsonOf(r))
				}
				kinds[r.Error.Kind]++
			}
			if kinds["ok"] != tc.ok || kinds[KindSkipped] != 70-tc.ok {
				t.Fatalf("verdicts %v, want %d ok and the rest skipped", kinds, tc.ok)
			}
			if n := settled(relay.Conns); n != int64(tc.ok) {
				t.Fatalf("the server saw %d connections, want %d", n, tc.ok)
			}
		})
	}
}

// TestProbePacing: connections to one server start at least Spacing
// apart, across all its entries, even where 6 may be open at once. The
// first connection of ten may start late (a busy machine), so the claim
// checked is a lower bound that load cannot break: the ten starts span at
// least 8 spacings (9 are owed). Without the pace they come within
// milliseconds.
func TestProbePacing(t *testing.T) {
	web := startURL(t)
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = vmesstest.NewUUID()
	}
	srv := startServer(t, vmesstest.ServerOptions{IDs: ids})
	var targets []Target
	for i, id := range ids {
		targets = append(targets, spec{name: fmt.Sprint("e", i), host: srv.Host, port: srv.Port, id: id}.target(t))
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Spacing = 40 * time.Millisecond
	dialer := &dialTimes{}
	opts.NetDialer = dialer
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		wantOK(t, r)
	}
	at := dialer.of(srv.Addr)
	if len(at) != len(ids) {
		t.Fatalf("%d connections, want %d", len(at), len(ids))
	}
	if span, least := at[len(at)-1].Sub(at[0]), time.Duration(len(at)-2)*opts.Spacing; span < least {
		t.Fatalf("%d connections started within %v, want at least %v (%v apart)", len(at), span, least, opts.Spacing)
	}
}

// dialTimes is a dialer that notes when each connection to an address
// starts.
type dialTimes struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (d *dialTimes) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	if d.at == nil {
		d.at = map[string][]time.Time{}
	}
	d.at[addr] = append(d.at[addr], time.Now())
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// of is the start times of addr's connections, in order.
func (d *dialTimes) of(addr string) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	at := slices.Clone(d.at[addr])
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	return at
}

// openCounter is a dialer that counts the connections open at once to
// each address, as the prober holds them (from connect to Close).
type openCounter struct {
	inner transport.ContextDialer
	mu    sync.Mutex
	open  map[string]int
	max   map[string]int
}

func (d *openCounter) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.inner.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.open == nil {
		d.open, d.max = map[string]int{}, map[string]int{}
	}
	d.open[addr]++
	d.max[addr] = max(d.max[addr], d.open[addr])
	d.mu.Unlock()
	return &countedConn{Conn: c, close: func() {
		d.mu.Lock()
		d.open[addr]--
		d.mu.Unlock()
	}}, nil
}

func (d *openCounter) maxOpen(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.max[addr]
}

type countedConn struct {
	net.Conn
	once  sync.Once
	close func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.close)
	return c.Conn.Close()
}

// dialCounter counts the dials its inner dialer makes (every TCP
// connection attempt, refused ones included).
type dialCounter struct {
	inner transport.ContextDialer
	n     atomic.Int64
}

func (d *dialCounter) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	return d.inner.DialContext(ctx, network, addr)
}

// TestProbeBudgetPerDial: the budget counts TCP connections, not attempts.
// A name with two addresses, the first refusing, costs two connections
// per attempt; with a budget of 3 and 3 samples asked for, the server
// receives at most 3 (it used to receive 6: the budget was taken once per
// attempt), and the entry stays ok with a note of the samples left out.
func TestProbeBudgetPerDial(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	relay := probetest.StartRelay(t, srv.Addr, 0)
	dns := vmesstest.StartDNS(t, [4]byte{127, 0, 0, 2}, [4]byte{127, 0, 0, 1}) // nothing listens on 127.0.0.2
	opts := testOptions(web.URL)
	opts.Count = 3
	opts.Budget = 3
	opts.Resolver = dns.Resolver()
	dialer := &dialCounter{inner: &net.Dialer{}}
	opts.NetDialer = dialer
	r := runOne(t, spec{name: "two", host: "two.example", port: relay.Port, id: srv.ID}.target(t), opts)
	wantOK(t, r)
	if n := dialer.n.Load(); n > 3 {
		t.Fatalf("%d TCP connections, want at most the budget of 3: %s", n, jsonOf(r))
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0].Message, "of 3 samples") {
		t.Fatalf("result %s, want a note of the samples the budget left out", jsonOf(r))
	}
}

// TestProbeBudgetKey: one server, however its host is spelled, has one
// budget: a name in another case or with a trailing dot, an IPv6 address
// written out in full or in brackets. With a budget of 1, the second
// spelling is skipped.
func TestProbeBudgetKey(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	relay := probetest.StartRelay(t, srv.Addr, 0)
	dns := vmesstest.StartDNS(t, [4]byte{127, 0, 0, 1})
	v6 := startServer(t, vmesstest.ServerOptions{Listen: "::1"})
	for _, tc := range []struct {
		name string
		a, b string // the two spellings of the host
		port int
		id   string
	}{
		{name: "name", a: "probe.example", b: "Probe.EXAMPLE.", port: relay.Port, id: srv.ID},
		{name: "ipv6", a: "::1", b: "[0:0:0:0:0:0:0:1]", port: v6.Port, id: v6.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := spec{name: "a", host: "127.0.0.1", port: tc.port, id: tc.id}.target(t)
			b := spec{name: "b", host: "127.0.0.1", port: tc.port, id: tc.id, security: "aes-128-gcm"}.target(t)
			a.Stream.Address, b.Stream.Address = tc.a, tc.b
			opts := testOptions(web.URL)
			opts.Count = 1
			opts.Budget = 1
			opts.Resolver = dns.Resolver()
			res, err := Run(context.Background(), []Target{a, b}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !res[0].OK || res[1].OK || res[1].Error.Kind != KindSkipped {
				t.Fatalf("results %s, want the first ok and the second skipped (one budget)", jsonOf(res))
			}
		})
	}
}
