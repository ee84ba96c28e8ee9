package probe

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// pathFront is a front (a CDN, nginx) on one host:port that sends a
// WebSocket request for /b to origin b and any other to origin a, the way
// users put several servers behind one address and reuse one id.
func pathFront(t *testing.T, a, b string) (string, int) {
	t.Helper()
	return listen(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		to := a
		if strings.Contains(line, " /b") {
			to = b
		}
		up, err := net.Dial("tcp", to)
		if err != nil {
			return
		}
		defer up.Close()
		if _, err := up.Write([]byte(line)); err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(up, br)
			_ = up.(*net.TCPConn).CloseWrite()
		}()
		_, _ = io.Copy(c, up)
	})
}

// TestProbeVerdictsStayOnTheirRoute: two entries share a host:port and an
// id but reach different Xray servers through a front that routes by ws
// path. What one entry's diagnosis learnt (this id has no accepted offset;
// this server accepts our clock) belongs to its own server, and must not
// decide the other entry's verdict.
func TestProbeVerdictsStayOnTheirRoute(t *testing.T) {
	web := startURL(t)
	wsA := `{"network":"ws","wsSettings":{"path":"/a"}}`
	wsB := `{"network":"ws","wsSettings":{"path":"/b"}}`
	for _, tc := range []struct {
		name string
		// aKnows and bKnows say whether each origin has the entries' id.
		aKnows, bKnows bool
		// skew shifts our clock, so every origin is that far behind.
		skew time.Duration
		// wantA and wantB are the verdicts (empty: OK); notB is text b's
		// message must not have (the other route's shortcut).
		wantA, wantB Kind
		notB         string
	}{
		{
			// a's whole search finds no offset for the id; b's server
			// knows it, 200 s behind: b is clock_skew, not "rejected
			// (searched for another entry)".
			name: "rejected id on another route", bKnows: true, skew: 200 * time.Second,
			wantA: KindAuthRejected, wantB: KindClockSkew, notB: "another entry",
		},
		{
			// a's server accepts our clock; b's does not know the id. b
			// is auth_rejected by its own search, not because a's server
			// liked our clock.
			name: "clock confirmed on another route", aKnows: true,
			wantB: KindAuthRejected, notB: "accepted another entry's id",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := func(knows bool, stream string) *vmesstest.Server {
				o := vmesstest.ServerOptions{StreamSettings: stream}
				if !knows {
					o.IDs = []string{vmesstest.NewUUID()}
				}
				return startServer(t, o)
			}
			oa, ob := origin(tc.aKnows, wsA), origin(tc.bKnows, wsB)
			id := vmesstest.NewUUID()
			if tc.aKnows {
				id = oa.ID
			} else if tc.bKnows {
				id = ob.ID
			}
			host, port := pathFront(t, oa.Addr, ob.Addr)
			targets := []Target{
				spec{name: "a", host: host, port: port, id: id, stream: wsA}.target(t),
				spec{name: "b", host: host, port: port, id: id, stream: wsB}.target(t),
			}
			opts := testOptions(web.URL)
			opts.Count = 1
			opts.Concurrency = 1 // a is diagnosed first
			opts.SkewSearch.Range = 30 * time.Minute
			opts.Now = func() time.Time { return time.Now().Add(tc.skew) }
			res, err := Run(context.Background(), targets, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []Kind{tc.wantA, tc.wantB} {
				r := res[i]
				if want == "" {
					if !r.OK {
						t.Fatalf("%s: %s, want ok", r.Name, jsonOf(r))
					}
					continue
				}
				if r.OK || r.Error.Kind != want {
					t.Fatalf("%s: %s, want %s", r.Name, jsonOf(r), want)
				}
			}
			if strings.Contains(res[1].Error.Message, tc.notB) {
				t.Fatalf("b: %q borrows the other route's verdict", res[1].Error.Message)
			}
		})
	}
}

// TestRouteKey: entries share verdicts only when every setting a front may
// route by is the same; spellings Xray treats alike share.
func TestRouteKey(t *testing.T) {
	base := func(stream string) Target {
		return spec{name: "x", host: "127.0.0.1", port: 443, id: vmesstest.NewUUID(), stream: stream}.target(t)
	}
	tls := `"security":"tls","tlsSettings":{"serverName":"a.example"}`
	for _, tc := range []struct {
		name   string
		a, b   Target
		shared bool
	}{
		{"same ws route, other id and body security", base(`{"network":"ws","wsSettings":{"path":"/a"}}`), spec{name: "y", host: "127.0.0.1", port: 443, id: vmesstest.NewUUID(), security: "aes-128-gcm", stream: `{"network":"ws","wsSettings":{"path":"/a"}}`}.target(t), true},
		{"tcp and raw", base(`{"network":"tcp"}`), base(`{"network":"raw"}`), true},
		{"ws path", base(`{"network":"ws","wsSettings":{"path":"/a"}}`), base(`{"network":"ws","wsSettings":{"path":"/b"}}`), false},
		{"ws host", base(`{"network":"ws","wsSettings":{"path":"/a","host":"a.example"}}`), base(`{"network":"ws","wsSettings":{"path":"/a","host":"b.example"}}`), false},
		{"ws header", base(`{"network":"ws","wsSettings":{"path":"/a","headers":{"X-Route":"1"}}}`), base(`{"network":"ws","wsSettings":{"path":"/a","headers":{"X-Route":"2"}}}`), false},
		{"httpupgrade path", base(`{"network":"httpupgrade","httpupgradeSettings":{"path":"/a"}}`), base(`{"network":"httpupgrade","httpupgradeSettings":{"path":"/b"}}`), false},
		{"grpc service", base(`{"network":"grpc","grpcSettings":{"serviceName":"a"}}`), base(`{"network":"grpc","grpcSettings":{"serviceName":"b"}}`), false},
		{"grpc authority", base(`{"network":"grpc","grpcSettings":{"serviceName":"a","authority":"a.example"}}`), base(`{"network":"grpc","grpcSettings":{"serviceName":"a","authority":"b.example"}}`), false},
		{"sni", base(`{"network":"ws",` + tls + `}`), base(`{"network":"ws",` + strings.Replace(tls, "a.example", "b.example", 1) + `}`), false},
		{"tls or not", base(`{"network":"ws"}`), base(`{"network":"ws",` + tls + `}`), false},
		{"network", base(`{"network":"ws","wsSettings":{"path":"/a"}}`), base(`{"network":"httpupgrade","httpupgradeSettings":{"path":"/a"}}`), false},
		{"raw http disguise path", base(`{"network":"raw","rawSettings":{"header":{"type":"http","request":{"path":["/a"]}}}}`), base(`{"network":"raw","rawSettings":{"header":{"type":"http","request":{"path":["/b"]}}}}`), false},
		{"port", base(""), spec{name: "x", host: "127.0.0.1", port: 444, id: vmesstest.NewUUID()}.target(t), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := routeKey(&tc.a), routeKey(&tc.b)
			if (ka == kb) != tc.shared {
				t.Fatalf("keys %s and %s: shared %v, want %v", ka, kb, ka == kb, tc.shared)
			}
		})
	}
}
