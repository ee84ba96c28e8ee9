package probe

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

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
