package probe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// BenchmarkSkewSearchCost measures what diagnosing a rejection costs a
// real in-process Xray server with the default options: the connections
// the server sees (conns/op, counted by a relay in front of it, first
// attempts included) and the wall time, for a wrong id, clocks off by
// whole and odd amounts (the server's clock shifted by shifting ours; the
// URL's Date follows our clock, so ours is not blamed), on raw TCP and on
// WebSocket, and subscriptions of five entries on one server.
func BenchmarkSkewSearchCost(b *testing.B) {
	ws := `{"network":"ws","wsSettings":{"path":"/ws"}}`
	raw := startServer(b, vmesstest.ServerOptions{})
	wsSrv := startServer(b, vmesstest.ServerOptions{IDs: []string{raw.ID}, StreamSettings: ws})
	wrong := func(n int) []string {
		var ids []string
		for range n {
			ids = append(ids, vmesstest.NewUUID())
		}
		return ids
	}
	cases := []struct {
		name   string
		ws     bool
		shift  time.Duration // of the server's clock
		ids    []string      // one target per id
		search SkewSearch
	}{
		{name: "wrong-id", ids: wrong(1)},
		{name: "wrong-id-24h", ids: wrong(1), search: SkewSearch{Range: 24 * time.Hour}},
		{name: "ws-wrong-id", ws: true, ids: wrong(1)},
		{name: "clock-off-200s", shift: 200 * time.Second, ids: []string{raw.ID}},
		{name: "ws-clock-off-200s", ws: true, shift: 200 * time.Second, ids: []string{raw.ID}},
		{name: "clock-off-1h", shift: time.Hour, ids: []string{raw.ID}},
		{name: "clock-off-5h30m", shift: 5*time.Hour + 30*time.Minute, ids: []string{raw.ID}},
		{name: "clock-off-3h7m", shift: 3*time.Hour + 7*time.Minute, ids: []string{raw.ID}},
		{name: "clock-off-3h7m-24h", shift: 3*time.Hour + 7*time.Minute, ids: []string{raw.ID}, search: SkewSearch{Range: 24 * time.Hour}},
		{name: "5-entries-one-server-clock-off-1h", shift: time.Hour, ids: []string{raw.ID, raw.ID, raw.ID, raw.ID, raw.ID}},
		{name: "5-wrong-one-server", ids: wrong(5)},
		{name: "5-wrong-1-right-one-server", ids: append(wrong(5), raw.ID)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv, stream := raw, ""
			if c.ws {
				srv, stream = wsSrv, ws
			}
			relay := probetest.StartRelay(b, srv.Addr, 0)
			var targets []Target
			for i, id := range c.ids {
				targets = append(targets, spec{name: fmt.Sprint(i), host: relay.Host, port: relay.Port, id: id, stream: stream}.target(b))
			}
			shift := c.shift
			now := func() time.Time { return time.Now().Add(-shift) }
			web := startURLWithClock(b, now)
			opts := Options{URL: web.URL + "/generate_204", Count: 1, Timeout: 3 * time.Second, Now: now, SkewSearch: c.search}
			b.ResetTimer()
			for range b.N {
				res, err := Run(context.Background(), targets, opts)
				if err != nil || len(res) != len(targets) {
					b.Fatal(err)
				}
				if b.N == 1 {
					for _, r := range res {
						if r.Error != nil {
							b.Logf("%s: %s", r.Error.Kind, r.Error.Message)
						}
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(settled(relay.Conns))/float64(b.N), "conns/op")
		})
	}
}

// BenchmarkFarRejecting is TestProbeFarRejectingServers timed: three
// servers that do not hold our id, each behind a relay at 150 ms RTT (the
// TCP connect too, through probetest.Dialer), with default options. It
// reports the wall time of the run (ns/op) and the most connections one
// server received.
func BenchmarkFarRejecting(b *testing.B) {
	web := startURL(b)
	var targets []Target
	var relays []*probetest.Relay
	for i := range 3 {
		srv := startServer(b, vmesstest.ServerOptions{})
		r := probetest.StartRelay(b, srv.Addr, 150*time.Millisecond)
		relays = append(relays, r)
		targets = append(targets, spec{name: fmt.Sprint("far", i), host: r.Host, port: r.Port, id: vmesstest.NewUUID()}.target(b))
	}
	b.ResetTimer()
	for range b.N {
		res, err := Run(context.Background(), targets, Options{URL: web.URL + "/generate_204", NetDialer: probetest.Dialer{RTT: 150 * time.Millisecond}})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.OK || r.Error.Kind != KindAuthRejected {
				b.Fatalf("%s: %s", r.Name, jsonOf(r))
			}
		}
	}
	b.StopTimer()
	var most int64
	for _, r := range relays {
		most = max(most, r.Conns())
	}
	b.ReportMetric(float64(most)/float64(b.N), "conns/server")
}

// BenchmarkCloseAfterRequest is TestProbeCloseAfterRequest timed: a
// server that reads the request and closes without a byte, which looks
// like a VMess rejection, probed with a 3 s timeout. The issue asks for
// its verdict within the timeout plus 2 s (ns/op); conns/op is what the
// server received.
func BenchmarkCloseAfterRequest(b *testing.B) {
	web := startURL(b)
	host, port, conns := startCloseAfterRequest(b)
	tg := spec{name: "closes", host: host, port: port, id: vmesstest.NewUUID()}.target(b)
	opts := Options{URL: web.URL + "/generate_204", Timeout: 3 * time.Second}
	b.ResetTimer()
	for range b.N {
		res, err := Run(context.Background(), []Target{tg}, opts)
		if err != nil || res[0].OK || res[0].Error.Kind != KindAuthRejected {
			b.Fatalf("%v: %s", err, jsonOf(res))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(settled(conns.Load))/float64(b.N), "conns/op")
}
