package probe

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestRunProbesSameServerOnce: three names for one server (the id spelled
// in another case once) are one probe, counted at the server's door, and
// three results in input order; a fourth entry that differs in its cipher
// is probed on its own.
func TestRunProbesSameServerOnce(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	var conns atomic.Int64
	host, port := forwarder(t, srv.Addr, func(int64) bool { conns.Add(1); return false })
	targets := []Target{
		spec{name: "HK 01", host: host, port: port, id: srv.ID}.target(t),
		spec{name: "other cipher", host: host, port: port, id: srv.ID, security: "aes-128-gcm"}.target(t),
		spec{name: "Traffic left: 37 GB", host: host, port: port, id: strings.ToUpper(srv.ID)}.target(t),
		spec{name: "Expires 2026-12-31", host: host, port: port, id: srv.ID}.target(t),
	}
	opts := testOptions(web.URL) // two samples per probe
	var (
		mu      sync.Mutex
		emitted []string
	)
	opts.OnResult = func(r Result) {
		mu.Lock()
		emitted = append(emitted, r.Name)
		mu.Unlock()
	}
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || len(emitted) != 4 {
		t.Fatalf("%d results, %d emitted: %s", len(res), len(emitted), jsonOf(res))
	}
	for i, r := range res {
		if r.Name != targets[i].Name || r.Index != i || !r.OK || r.Samples != 2 {
			t.Fatalf("result %d: %s", i, jsonOf(r))
		}
	}
	if *res[0].Latency != *res[2].Latency || *res[0].Latency != *res[3].Latency {
		t.Fatalf("the three names should share one measurement: %s", jsonOf(res))
	}
	if n := conns.Load(); n != 4 {
		t.Fatalf("the server saw %d connections, want 4 (2 samples × 2 distinct configurations; 8 without de-duplication)", n)
	}
}

func TestSameKey(t *testing.T) {
	base := spec{name: "a", host: "Host.Example", port: 443, id: "b831bfb3-e84c-4647-a953-bbdd6e6d6390", stream: `{"network":"ws","wsSettings":{"path":"/ws","headers":{"X":"1"}}}`}.target(t)
	for _, c := range []struct {
		name string
		edit func(*Target)
		same bool
	}{
		{"name", func(t *Target) { t.Name = "b" }, true},
		{"address case and trailing dot", func(t *Target) { t.Stream.Address = "host.example." }, true},
		{"id without dashes, upper case", func(t *Target) { t.ID = "B831BFB3E84C4647A953BBDD6E6D6390" }, true},
		{"port", func(t *Target) { t.Stream.Port = 444 }, false},
		{"alterId", func(t *Target) { t.AlterID = 1 }, false},
		{"path", func(t *Target) { t.Stream.WS.Path = "/other" }, false},
		{"a header", func(t *Target) { t.Stream.WS.Headers = map[string]string{"X": "2"} }, false},
		{"fingerprint", func(t *Target) { t.Stream.TLS.Fingerprint = "chrome" }, false},
	} {
		o := base
		o.Stream.WS.Headers = map[string]string{"X": "1"}
		c.edit(&o)
		if got := sameKey(&base) == sameKey(&o); got != c.same {
			t.Errorf("%s: same = %v, want %v", c.name, got, c.same)
		}
	}
}
