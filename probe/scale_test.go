package probe

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// shortOr is long, or short with -short: a timeout a test spends in full
// (a blackhole, a dead host), made smaller so that the package's tests run
// in seconds; the verdicts asserted are the same.
func shortOr(long, short time.Duration) time.Duration {
	if testing.Short() {
		return short
	}
	return long
}

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

// TestProbeServerClockAhead: a server whose clock is 300 s ahead of ours
// (made by setting our clock 300 s back; the run's reference, the URL's
// server, follows our clock, so ours is not to blame) is clock_skew with
// the offset within ±3 s, inside the budget, at 150 ms RTT. On WebSocket
// and XHTTP (stream-one, one connection per attempt) its Date header
// gives the clock in at most 4 connections: the first attempt, the Date
// request and one confirming handshake.
func TestProbeServerClockAhead(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	for _, tc := range []struct {
		name, server, client string
		evidence             Evidence
		maxConns             int64
	}{
		{"raw", "", "", EvidenceSearch, DefaultBudget},
		{"ws", `{"network":"ws","wsSettings":{"path":"/ws"}}`, `{"network":"ws","wsSettings":{"path":"/ws"}}`, EvidenceServerDate, 4},
		{"xhttp", `{"network":"xhttp","xhttpSettings":{"path":"/x"}}`, `{"network":"xhttp","xhttpSettings":{"path":"/x","mode":"stream-one"}}`, EvidenceServerDate, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := func() time.Time { return time.Now().Add(-300 * time.Second) }
			web := startURLWithClock(t, now)
			srv := startServer(t, vmesstest.ServerOptions{StreamSettings: tc.server})
			relay := probetest.StartRelay(t, srv.Addr, farRTT())
			opts := farOptions(web.URL)
			opts.Now = now
			r := runOne(t, spec{name: tc.name, host: relay.Host, port: relay.Port, id: srv.ID, stream: tc.client}.target(t), opts)
			if r.OK || r.Error.Kind != KindClockSkew || r.Skew == nil || math.Abs(r.Skew.OffsetS-300) > 3 {
				t.Fatalf("result %s, want clock_skew +300 s ± 3", jsonOf(r))
			}
			// The offset is checked above as a number (the text rounds
			// it: 4m59s is as right as 5m).
			if !strings.HasPrefix(r.Error.Message, "server clock is ") || !strings.Contains(r.Error.Message, "ahead of yours") || r.Error.Diagnosis.Evidence != tc.evidence {
				t.Fatalf("result %s, want the server's clock ahead, from %s", jsonOf(r), tc.evidence)
			}
			if n := settled(relay.Conns); n > tc.maxConns {
				t.Fatalf("the server saw %d connections, want at most %d", n, tc.maxConns)
			}
		})
	}
}

// TestProbeOurClockOff: when our own clock is 5 minutes ahead, every
// server rejects us, and the verdicts name our clock first: against the
// Date of a direct request to the clock reference when no server works,
// or against the Date of a response through a working server.
func TestProbeOurClockOff(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	t.Run("direct reference", func(t *testing.T) {
		web := startURL(t) // real time: the reference
		srv := startServer(t, vmesstest.ServerOptions{})
		relay := probetest.StartRelay(t, srv.Addr, farRTT())
		opts := farOptions(web.URL)
		opts.Now = func() time.Time { return time.Now().Add(5 * time.Minute) }
		opts.ClockReference = web.URL + "/generate_204"
		r := runOne(t, spec{name: "fine", host: relay.Host, port: relay.Port, id: srv.ID}.target(t), opts)
		if r.OK || r.Error.Kind != KindClockSkew || !ourClockFirst(r.Error.Message) ||
			!strings.Contains(r.Error.Message, "the clock to fix is this machine's") {
			t.Fatalf("result %s, want our clock named first", jsonOf(r))
		}
		l := r.Error.Diagnosis.LocalClock
		if l == nil || math.Abs(l.OffsetS+300) > 2 || l.Through != "" || r.Error.Diagnosis.Evidence != EvidenceLocalClock {
			t.Fatalf("diagnosis %s, want our clock 300 s ahead of the direct reference", jsonOf(r.Error.Diagnosis))
		}
		if n := settled(relay.Conns); n > 20 {
			t.Fatalf("the server saw %d connections; one handshake at the reference's time and the edges should do", n)
		}
	})
	t.Run("through a working server", func(t *testing.T) {
		// The URL's server is 5 minutes behind the servers: to the
		// prober, whose clock agrees with the servers, the reference says
		// our clock is 5 minutes ahead. A wrong id elsewhere is diagnosed
		// with that warning first.
		web := startURLWithClock(t, func() time.Time { return time.Now().Add(-5 * time.Minute) })
		opts := farOptions(web.URL)
		opts.Count = 1
		res, good := workingAndWrong(t, opts)
		r := res[1]
		if !res[0].OK || r.OK || r.Error.Kind != KindAuthRejected || !ourClockFirst(r.Error.Message) {
			t.Fatalf("results %s, want the wrong id's verdict to name our clock first", jsonOf(res))
		}
		if l := r.Error.Diagnosis.LocalClock; l == nil || math.Abs(l.OffsetS+300) > 2 || l.Through != hostPort(good.Host, good.Port) {
			t.Fatalf("diagnosis %s, want the reference read through the working server", jsonOf(r.Error.Diagnosis))
		}
	})
}

// workingAndWrong probes two servers with opts: one that takes our id
// ("works", first) and one that does not hold it ("wrong").
func workingAndWrong(t *testing.T, opts Options) ([]Result, *vmesstest.Server) {
	t.Helper()
	good := startServer(t, vmesstest.ServerOptions{})
	bad := startServer(t, vmesstest.ServerOptions{})
	res, err := Run(context.Background(), []Target{
		spec{name: "works", host: good.Host, port: good.Port, id: good.ID}.target(t),
		spec{name: "wrong", host: bad.Host, port: bad.Port, id: vmesstest.NewUUID()}.target(t),
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, good
}

// ourClockFirst reports a message that opens with this machine's clock
// about 5 minutes ahead of the loopback reference. The offset itself is
// checked as a number: the Date header's estimate is ±(0.5 s + RTT/2), so
// the text may say 4m59s as rightly as 5m.
func ourClockFirst(msg string) bool {
	rest, ok := strings.CutPrefix(msg, "this machine's clock is ")
	if !ok {
		return false
	}
	d, rest, ok := strings.Cut(rest, " ahead of 127.0.0.1's")
	if !ok {
		return false
	}
	off, err := time.ParseDuration(d)
	return err == nil && (off-5*time.Minute).Abs() <= 2*time.Second
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

// TestProbeH2Link: an h2 link is dialed as h2, and not as xhttp (which it
// used to be, through a conversion to Xray's outbound): here the port is
// closed, so the verdict is that of the connect.
func TestProbeH2Link(t *testing.T) {
	link := v2rayNLink(t, map[string]string{"ps": "h2", "add": "127.0.0.1", "port": strconv.Itoa(closedPort(t)), "id": vmesstest.NewUUID(), "net": "h2", "path": "/h", "host": "a.example", "tls": "tls"})
	res, err := convert.Parse(context.Background(), "link", []byte(link), convert.Options{})
	if err != nil || len(res.Nodes) != 1 {
		t.Fatalf("parse: %v, %d nodes", err, len(res.Nodes))
	}
	tg := TargetFromNode(res.Nodes[0])
	r := runOne(t, tg, farOptions("http://127.0.0.1:1"))
	if r.OK || r.Error.Kind != KindRefused || r.Network != "h2" || strings.Contains(r.Error.Message, "xhttp") || tg.Stream.HTTP.Path != "/h" {
		t.Fatalf("result %s, want the h2 link dialed (a refused connect)", jsonOf(r))
	}
}

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

// v2rayNLink makes a v2rayN share link (base64 JSON) of the given fields.
func v2rayNLink(t testing.TB, fields map[string]string) string {
	t.Helper()
	m := map[string]string{"v": "2", "aid": "0", "scy": "auto", "type": "none"}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return "vmess://" + base64.StdEncoding.EncodeToString(b)
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
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
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

// startFront starts a front for a WebSocket server at addr, as nginx or a
// CDN would be: upgrade requests are passed to the server, and any other
// request is answered by the front itself, with "Server: nginx" and a
// Date from its own clock, now.
func startFront(t testing.TB, addr string, now func() time.Time) (string, int) {
	t.Helper()
	host, port := listen(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var head []byte
		buf := make([]byte, 4096)
		for !strings.Contains(string(head), "\r\n\r\n") {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			head = append(head, buf[:n]...)
		}
		c.SetReadDeadline(time.Time{})
		if !strings.Contains(strings.ToLower(string(head)), "\r\nupgrade:") {
			fmt.Fprintf(c, "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nDate: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", now().UTC().Format(http.TimeFormat))
			return
		}
		up, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer up.Close()
		if _, err := up.Write(head); err != nil {
			return
		}
		go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
		io.Copy(c, up)
	})
	return host, port
}

// TestProbeFrontDate: a front that answers plain requests itself (Server:
// nginx) with a clock 60 s ahead of the VMess server's, whose clock is
// 300 s ahead of ours. One handshake at the front's offset (+360 s) is
// accepted — it is within the server's ±120 s — but proves the offset
// only to ±120 s: the verdict measures the window (inside the budget)
// and gives +300 s, naming the front, instead of +360 s "±0.5s".
func TestProbeFrontDate(t *testing.T) {
	now := func() time.Time { return time.Now().Add(-300 * time.Second) }
	web := startURLWithClock(t, now) // the reference agrees with us
	srv := startServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"ws","wsSettings":{"path":"/ws"}}`})
	host, port := startFront(t, srv.Addr, func() time.Time { return time.Now().Add(60 * time.Second) })
	relay := probetest.StartRelay(t, net.JoinHostPort(host, strconv.Itoa(port)), 0)
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Now = now
	r := runOne(t, spec{name: "front", host: relay.Host, port: relay.Port, id: srv.ID, stream: `{"network":"ws","wsSettings":{"path":"/ws"}}`}.target(t), opts)
	if r.OK || r.Error.Kind != KindClockSkew || r.Skew == nil || math.Abs(r.Skew.OffsetS-300) > 3 || r.Skew.UncertaintyS > 3 {
		t.Fatalf("result %s, want clock_skew +300 s ± 3", jsonOf(r))
	}
	d := r.Error.Diagnosis
	if d.Evidence != EvidenceServerDate || d.ServerDate == nil || d.ServerDate.Front != "Server: nginx" || !strings.Contains(r.Error.Message, "Server: nginx") {
		t.Fatalf("result %s, want the front's Date named as such", jsonOf(r))
	}
	if n := settled(relay.Conns); n > DefaultBudget || d.Handshakes > 2+16 {
		t.Fatalf("%d connections, %d handshakes; want the Date request, one handshake and at most 16 for the edges", n, d.Handshakes)
	}
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
		a, b string
	}{
		{name: "name", a: "probe.example", b: "Probe.EXAMPLE."},
		{name: "ipv6", a: "::1", b: "[0:0:0:0:0:0:0:1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, id := relay.Port, srv.ID
			if tc.name == "ipv6" {
				port, id = v6.Port, v6.ID
			}
			a := spec{name: "a", host: "127.0.0.1", port: port, id: id}.target(t)
			b := spec{name: "b", host: "127.0.0.1", port: port, id: id, security: "aes-128-gcm"}.target(t)
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

// TestProbeCachedDateIsNoReference: a response served from a cache
// carries the Date its origin stamped, which may be minutes old (RFC 9111
// §4: the Age header says how old). A Date 5 minutes behind our clock
// from a cached answer — through a working server, or fetched directly —
// must not make the run blame our clock.
func TestProbeCachedDateIsNoReference(t *testing.T) {
	for _, hint := range []map[string]string{{"Age": "300"}, {"X-Cache": "HIT from squid"}, {"CF-Cache-Status": "HIT"}} {
		t.Run(fmt.Sprint(hint), func(t *testing.T) {
			web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", time.Now().Add(-5*time.Minute).UTC().Format(http.TimeFormat))
				for k, v := range hint {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(web.Close)
			opts := testOptions(web.URL)
			opts.Count = 1
			opts.ClockReference = web.URL + "/generate_204"
			res, _ := workingAndWrong(t, opts)
			r := res[1]
			if !res[0].OK || r.OK || r.Error.Kind != KindAuthRejected || r.Error.Diagnosis.LocalClock != nil || strings.Contains(r.Error.Message, "this machine's clock") {
				t.Fatalf("results %s, want the cached Date ignored", jsonOf(res))
			}
			// And directly, when no server works.
			bad := startServer(t, vmesstest.ServerOptions{})
			res, err := Run(context.Background(), []Target{spec{name: "wrong", host: bad.Host, port: bad.Port, id: vmesstest.NewUUID()}.target(t)}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if r := res[0]; r.OK || r.Error.Diagnosis == nil || r.Error.Diagnosis.LocalClock != nil {
				t.Fatalf("result %s, want the cached Date of the direct reference ignored", jsonOf(r))
			}
		})
	}
}

// TestProbeNoDateRequestWithoutFront: Xray's own HTTPUpgrade and gRPC
// servers answer a plain request with nothing, so without TLS — where a
// front that would answer is not plausible — a wrong id's diagnosis
// spends no connection on a Date request: its connections are the first
// attempt and the search's handshakes.
func TestProbeNoDateRequestWithoutFront(t *testing.T) {
	web := startURL(t)
	for _, stream := range []string{
		`{"network":"httpupgrade","httpupgradeSettings":{"path":"/up"}}`,
		`{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`,
	} {
		t.Run(stream, func(t *testing.T) {
			srv := startServer(t, vmesstest.ServerOptions{StreamSettings: stream})
			relay := probetest.StartRelay(t, srv.Addr, 0)
			opts := testOptions(web.URL)
			opts.Count = 1
			r := runOne(t, spec{name: "x", host: relay.Host, port: relay.Port, id: vmesstest.NewUUID(), stream: stream}.target(t), opts)
			if r.OK || r.Error.Kind != KindAuthRejected || r.Error.Diagnosis.Evidence != EvidenceSearch {
				t.Fatalf("result %s, want auth_rejected from the search", jsonOf(r))
			}
			if d := r.Error.Diagnosis; d.Handshakes != len(boundedGrid()) || settled(relay.Conns) != int64(1+d.Handshakes) {
				t.Fatalf("%d handshakes, %d connections; want the %d of the search and the first attempt, no Date request", d.Handshakes, relay.Conns(), len(boundedGrid()))
			}
		})
	}
}
