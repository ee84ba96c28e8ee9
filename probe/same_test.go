package probe

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestRunProbesSameServerOnce: three names for one server (the id spelled
// in another case once) are one probe, counted at the server's door, and
// three results in input order; a fourth entry that differs in its cipher
// is probed on its own.
func TestRunProbesSameServerOnce(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	rel, host, port := relay(t, srv.Addr, nil)
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
	if n := rel.Conns(); n != 4 {
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

// TestSameKeyWithinDedupe holds probe's shared probes to the one
// definition of a repeat (docs/subscriptions.md#duplicates): entries
// share a probe only when they are the same server as convert's --dedupe
// sees it and equal in every client setting probe sends. The only pairs
// probe may merge that --dedupe keeps apart differ in a setting probe
// does not send, so its result cannot depend on it.
func TestSameKeyWithinDedupe(t *testing.T) {
	const id = "b831381d-6324-4d53-ad4f-8cda48b30811"
	link := func(query string) string { return "vmess://" + id + "@a.example:443?" + query }
	ws := link("type=ws&security=tls&path=%2Fws&host=cdn.example")
	kcp := link("type=kcp&headerType=none&seed=seed1")
	grpc := link("type=grpc&security=tls&serviceName=g&authority=front.example")
	reality := link("type=tcp&security=reality&sni=www.example&pbk=Ar5b6iHqWl8g4JtVvJmG0dB8Pcd7lWm3-dFcS5M2X1U&sid=6ba85179e30d4fc2")
	for _, c := range []struct {
		name         string
		a, b         string
		server, send bool // same server (--dedupe), same probe
		// unsent names the setting probe does not send, where the probe is
		// shared but --dedupe keeps the entries apart.
		unsent string
	}{
		{name: "name", a: ws, b: ws, server: true, send: true},
		{name: "address case", a: ws, b: strings.Replace(ws, "a.example", "A.Example", 1), server: true, send: true},
		{name: "fingerprint", a: ws, b: ws + "&fp=firefox", server: true},
		{name: "alpn", a: ws, b: ws + "&alpn=h2", server: true},
		{name: "cipher", a: ws, b: ws + "&encryption=aes-128-gcm", server: true},
		{name: "alterId", a: ws, b: ws + "&aid=64"},
		{name: "path", a: ws, b: strings.Replace(ws, "%2Fws", "%2Fw2", 1)},
		{name: "sni", a: ws, b: ws + "&sni=other.example"},
		{name: "allowInsecure", a: ws, b: ws + "&allowInsecure=1"},
		{name: "pinned certificate", a: ws, b: ws + "&pcs=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{name: "tcp header", a: link("type=tcp"), b: link("type=tcp&headerType=http")},
		{name: "kcp seed", a: kcp, b: strings.Replace(kcp, "seed1", "seed2", 1)},
		{name: "kcp header", a: kcp, b: strings.Replace(kcp, "headerType=none", "headerType=wechat-video", 1)},
		{name: "gRPC authority", a: grpc, b: strings.Replace(grpc, "front.example", "front2.example", 1)},
		{name: "xhttp mode", a: link("type=xhttp&path=%2Fx&mode=packet-up"), b: link("type=xhttp&path=%2Fx&mode=stream-one")},
		{name: "ws early data header", a: ws + "&ed=2048", b: ws + "&ed=2048&eh=X-Early-Data", send: true,
			unsent: "the header name: probe, as Xray's client, puts early data in Sec-WebSocket-Protocol"},
		{name: "REALITY public key", a: reality, b: strings.Replace(reality, "pbk=A", "pbk=B", 1), send: true,
			unsent: "REALITY's keys: probe cannot dial REALITY, and says so for both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := convert.Parse(context.Background(), "sub", []byte(c.a+"#A\n"+c.b+"#B"), convert.Options{})
			if err != nil || len(res.Nodes) != 2 {
				t.Fatalf("parse: %v %v", err, res.Diagnostics)
			}
			kept, _ := convert.Dedupe(res.Nodes)
			server := len(kept) == 1
			ta, tb := TargetFromNode(res.Nodes[0]), TargetFromNode(res.Nodes[1])
			send := sameKey(&ta) == sameKey(&tb)
			if server != c.server || send != c.send {
				t.Fatalf("same server %v, same probe %v; want %v, %v", server, send, c.server, c.send)
			}
			if send && !server && c.unsent == "" {
				t.Fatal("one probe for two servers, and no setting probe leaves unsent explains it")
			}
		})
	}
}

// TestRunSameServerPerMember: entries that share a probe are each reported
// as they were written: under their own name and address spelling, and a
// failure found before probing (no user id) names the entry it is about.
func TestRunSameServerPerMember(t *testing.T) {
	targets := []Target{
		{Name: "HK 01", Stream: transport.Config{Address: "HK.Example", Port: 443}},
		{Name: "Traffic left: 37 GB", Stream: transport.Config{Address: "hk.example.", Port: 443}},
	}
	if uniq, _ := groupSame(targets); len(uniq) != 1 {
		t.Fatalf("%d groups, want the two entries to share one probe", len(uniq))
	}
	res, err := Run(context.Background(), targets, Options{URL: "http://127.0.0.1:1/", Count: 1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		tg := targets[i]
		if r.Name != tg.Name || r.Address != tg.Stream.Address || r.Error == nil ||
			r.Error.Message != fmt.Sprintf("probe: %q has no user id; add the id the server's admin gave you", tg.Name) {
			t.Errorf("result %d: %s", i, jsonOf(r))
		}
	}
}
