package probe

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// BenchmarkSkewSearchCost measures what the clock search costs a real
// in-process Xray server with the default SkewSearch: the connections the
// server sees (handshakes/op, counted by a relay in front of it) and the
// wall time, for a wrong id (the whole ±24 h range), clocks off by whole
// and odd amounts, and subscriptions of five wrong ids on one server,
// without and with a right id beside them.
func BenchmarkSkewSearchCost(b *testing.B) {
	web := startURL(b)
	srv := startServer(b, vmesstest.ServerOptions{})
	var conns atomic.Int64
	// The relay counts the connections the server sees.
	_, port := forwarder(b, srv.Addr, func(int64) bool { conns.Add(1); return false })
	cases := []struct {
		name  string
		shift time.Duration
		ids   []string // one target per id
	}{
		{"wrong-id", 0, []string{vmesstest.NewUUID()}},
		{"clock-off-200s", 200 * time.Second, []string{srv.ID}},
		{"clock-off-1h", time.Hour, []string{srv.ID}},
		{"clock-off-5h30m", 5*time.Hour + 30*time.Minute, []string{srv.ID}},
		{"clock-off-3h7m", 3*time.Hour + 7*time.Minute, []string{srv.ID}},
		{"5-entries-one-server-clock-off-1h", time.Hour, []string{srv.ID, srv.ID, srv.ID, srv.ID, srv.ID}},
		{"5-wrong-one-server", 0, []string{vmesstest.NewUUID(), vmesstest.NewUUID(), vmesstest.NewUUID(), vmesstest.NewUUID(), vmesstest.NewUUID()}},
		{"5-wrong-1-right-one-server", 0, []string{vmesstest.NewUUID(), vmesstest.NewUUID(), srv.ID, vmesstest.NewUUID(), vmesstest.NewUUID(), vmesstest.NewUUID()}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var targets []Target
			for i, id := range c.ids {
				targets = append(targets, spec{name: fmt.Sprint(i), host: "127.0.0.1", port: port, id: id}.target(b))
			}
			opts := Options{URL: web.URL + "/generate_204", Count: 1, Timeout: 3 * time.Second}
			shift := c.shift
			opts.Now = func() time.Time { return time.Now().Add(-shift) }
			conns.Store(0)
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
			b.ReportMetric(float64(conns.Load())/float64(b.N), "handshakes/op")
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
