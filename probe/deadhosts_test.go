package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestProbeDeadHosts: entries on hosts that never answer a SYN cost one
// connect timeout per host, not per entry: the first entry of each host
// waits for its connect, is tried again at the end, and the others share
// that verdict without a connect of their own. Healthy servers are not
// held up meanwhile, even at concurrency 1: a connect that is slow gives
// its slot back.
func TestProbeDeadHosts(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	dead := []*probetest.DeadHost{probetest.StartDeadHost(t), probetest.StartDeadHost(t)}
	var targets []Target
	deadEntries := func(i int) {
		for j := range 3 {
			// Each its own id: entries that differ only in name would be
			// one probe (Run's de-duplication), not three sharing a verdict.
			targets = append(targets, spec{name: fmt.Sprintf("dead%d.%d", i, j), host: dead[i].Host, port: dead[i].Port, id: vmesstest.NewUUID()}.target(t))
		}
	}
	deadEntries(0)
	for i := range 3 {
		targets = append(targets, spec{name: fmt.Sprint("ok", i), host: srv.Host, port: srv.Port, id: srv.ID}.target(t))
	}
	deadEntries(1)
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 1
	opts.ConnectTimeout = shortOr(2*time.Second, 600*time.Millisecond)
	place := recordOrder(&opts)
	start := time.Now()
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("6 dead entries on 2 hosts and 3 healthy ones at concurrency 1: %v", time.Since(start))
	for _, r := range res {
		if strings.HasPrefix(r.Name, "ok") {
			if !r.OK {
				t.Fatalf("%s: %s", r.Name, jsonOf(r))
			}
			// Not behind the dead hosts: every healthy entry is final
			// before any dead one, whose connect timed out.
			for _, d := range res {
				if strings.HasPrefix(d.Name, "dead") && place[d.Name] < place[r.Name] {
					t.Errorf("%s finished after %s (order %v): it waited for a dead host", r.Name, d.Name, place)
				}
			}
			continue
		}
		if r.OK || r.Error.Kind != KindTimeout || !slices.Contains(r.Error.Advice, AdviceConnectTimeout) {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
	}
	for _, first := range []int{0, 6} {
		if r := res[first]; !r.Retried || r.Error.Shared || !strings.Contains(r.Error.Message, "did not accept a TCP connection within "+opts.ConnectTimeout.String()) {
			t.Errorf("%s: %s, want its own verdict after a retry", r.Name, jsonOf(r))
		}
		for _, r := range res[first+1 : first+3] {
			if r.Retried || !r.Error.Shared || r.Samples != 0 {
				t.Errorf("%s: %s, want the first entry's verdict shared", r.Name, jsonOf(r))
			}
		}
	}
}

// TestProbeRefusedShared: the entries of a refusing port share the first
// entry's verdict.
func TestProbeRefusedShared(t *testing.T) {
	port := closedPort(t)
	var targets []Target
	for i := range 4 {
		targets = append(targets, spec{name: fmt.Sprint("r", i), host: "127.0.0.1", port: port, id: vmesstest.NewUUID()}.target(t))
	}
	res, err := Run(context.Background(), targets, farOptions("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.OK || r.Error.Kind != KindRefused || r.Error.Shared != (i > 0) {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
	}
}

// TestProbeRecoveredOnRetry: a server that swallows the first connection
// (a timeout) and then works is tried again at the end and is ok,
// "recovered on retry".
func TestProbeRecoveredOnRetry(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	var n atomic.Int64
	host, port := listen(t, func(c net.Conn) {
		if n.Add(1) == 1 {
			io.Copy(io.Discard, c) // never answers
			return
		}
		up, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			return
		}
		defer up.Close()
		go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
		io.Copy(c, up)
	})
	opts := testOptions(web.URL)
	opts.Timeout = shortOr(time.Second, 300*time.Millisecond)
	r := runOne(t, spec{name: "flaky", host: host, port: port, id: srv.ID}.target(t), opts)
	wantOK(t, r)
	if !r.Retried || r.Samples != 2 || r.Lost != 0 {
		t.Fatalf("result %s, want ok on retry with its two samples", jsonOf(r))
	}
	if row := Table([]Result{r})[0]; !strings.Contains(row.Cells[len(row.Cells)-1], "recovered on retry") {
		t.Fatalf("table detail %q does not say it recovered on retry", row.Cells[len(row.Cells)-1])
	}
}

// TestProbeSlowConnectsTakeTheirSlotBack: a server whose TCP connect takes
// longer than the 500 ms after which a connect gives its slot back (a
// server far away, or a lost SYN) still gets its answer: the connect
// takes the slot back when it succeeds, ahead of new work, even at
// concurrency 1 with other servers waiting.
func TestProbeSlowConnectsTakeTheirSlotBack(t *testing.T) {
	t.Parallel() // it waits out slow connects; the others need not wait for it
	web := startURL(t)
	far := startServer(t, vmesstest.ServerOptions{})
	near := startServer(t, vmesstest.ServerOptions{})
	var targets []Target
	for i := range 3 {
		targets = append(targets,
			spec{name: fmt.Sprint("far", i), host: far.Host, port: far.Port, id: far.ID}.target(t),
			spec{name: fmt.Sprint("near", i), host: near.Host, port: near.Port, id: near.ID}.target(t))
	}
	opts := testOptions(web.URL)
	opts.Concurrency = 1
	dialer := &slowTo{addr: far.Addr, delay: 700 * time.Millisecond}
	opts.NetDialer = dialer
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	longest := dialer.longest()
	for _, r := range res {
		if !r.OK || r.Timings == nil || r.Timings.Connect == nil {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		// The connect phase is the connect's, not the wait for a slot:
		// at least the 700 ms it was held, and no longer than the
		// slowest connect measured in the dialer (with room for the
		// scheduler on a busy machine).
		if c := time.Duration(float64(*r.Timings.Connect) * float64(time.Millisecond)); strings.HasPrefix(r.Name, "far") && (c < dialer.delay || c > longest+250*time.Millisecond) {
			t.Errorf("%s: connect %v, want the connect's own time (%v to %v)", r.Name, c, dialer.delay, longest)
		}
	}
}

// slowTo dials addr after delay, and everything else at once; it keeps
// the longest time a connect to addr took.
type slowTo struct {
	addr  string
	delay time.Duration
	mu    sync.Mutex
	most  time.Duration
}

func (d *slowTo) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if addr != d.addr {
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}
	start := time.Now()
	c, err := probetest.Dialer{RTT: d.delay}.DialContext(ctx, network, addr)
	d.mu.Lock()
	d.most = max(d.most, time.Since(start))
	d.mu.Unlock()
	return c, err
}

func (d *slowTo) longest() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.most
}

// silentResolver is a resolver whose DNS server never answers: every
// lookup ends at its context's deadline.
func silentResolver(t testing.TB) *net.Resolver {
	t.Helper()
	dns := vmesstest.StartSilentUDP(t).String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}
}

// TestProbeSilentDNS: three entries on a name whose DNS server never
// answers, at concurrency 1. The first lookup's timeout is tried again at
// the end, and the other entries share its verdict, which names the DNS
// phase: a message, never a nil error printed (it used to read
// "%!v(PANIC=Error method: …)").
func TestProbeSilentDNS(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	var targets []Target
	for i := range 3 {
		targets = append(targets, spec{name: fmt.Sprint("n", i), host: "silent.example", port: 443, id: vmesstest.NewUUID()}.target(t))
	}
	opts := farOptions("http://127.0.0.1:1")
	opts.Resolver = silentResolver(t)
	opts.Timeout = shortOr(time.Second, 300*time.Millisecond)
	opts.Concurrency = 1
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.OK || r.Error.Kind != KindTimeout || strings.Contains(r.Error.Message, "%!") || !strings.Contains(r.Error.Message, `resolving "silent.example" did not finish`) {
			t.Fatalf("%s: %s, want a timeout of the lookup", r.Name, jsonOf(r))
		}
		if r.Error.Shared != (i > 0) || r.Retried != (i == 0) {
			t.Errorf("%s: %s, want the first entry retried and its verdict shared", r.Name, jsonOf(r))
		}
	}
}
