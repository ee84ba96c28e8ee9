package probe

import (
	"context"
	"encoding/json"
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

	"github.com/xvmtools/xvm/schema/conf"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// startURL starts the loopback HTTP target: /generate_204 answers 204, and
// /bytes?n=N sends N bytes.
func startURL(t testing.TB) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/generate_204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		buf := make([]byte, 64<<10)
		for n > 0 {
			k := int64(len(buf))
			if k > n {
				k = n
			}
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// targetFor builds a Target the way the CLI does: from an Xray outbound
// (JSON) through TargetFromOutbound.
func targetFor(t testing.TB, name, host string, port int, id, security, stream string) Target {
	t.Helper()
	ob := fmt.Sprintf(`{"protocol":"vmess","tag":%q,"settings":{"vnext":[{"address":%q,"port":%d,"users":[{"id":%q,"security":%q}]}]}`, name, host, port, id, security)
	if stream != "" {
		ob += `,"streamSettings":` + stream
	}
	ob += "}"
	var o conf.Outbound
	if err := json.Unmarshal([]byte(ob), &o); err != nil {
		t.Fatalf("outbound %s: %v", ob, err)
	}
	tg, err := TargetFromOutbound(&o)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// startServer starts an Xray VMess server and waits until it accepts TCP
// (Xray's gRPC inbound starts listening asynchronously).
func startServer(t testing.TB, opts vmesstest.ServerOptions) *vmesstest.Server {
	t.Helper()
	srv := vmesstest.StartServer(t, opts)
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", srv.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return srv
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s never listened: %v", srv.Addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testOptions(url string) Options {
	return Options{
		URL:        url + "/generate_204",
		Count:      2,
		Timeout:    3 * time.Second,
		SkewSearch: SkewSearch{Spacing: time.Millisecond, SlowSpacing: time.Millisecond, Parallel: 8},
	}
}

func runOne(t *testing.T, tg Target, opts Options) Result {
	t.Helper()
	res, err := Run(context.Background(), []Target{tg}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	return res[0]
}

func wantOK(t *testing.T, r Result) {
	t.Helper()
	if !r.OK {
		t.Fatalf("not ok: %+v", r.Error)
	}
	if r.Timings == nil || r.Timings.Handshake == nil || r.Timings.Total == nil || r.Timings.Connect == nil || r.Latency == nil {
		t.Fatalf("timings missing: %+v", r.Timings)
	}
	tm := r.Timings
	// Plausible: every phase is non-negative, on loopback well under a
	// second, and the total covers the handshake and connect.
	if *tm.Total > 1000 || *tm.Handshake < 0 || *tm.Connect < 0 || *tm.Total < *tm.Handshake || *tm.Total < *tm.Connect {
		t.Fatalf("implausible timings %s", jsonOf(tm))
	}
	if r.Latency.Min > r.Latency.Median || r.Latency.Median > r.Latency.Max {
		t.Fatalf("latency not ordered: %+v", r.Latency)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestProbeSecurities(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	for _, sec := range []string{"auto", "aes-128-gcm", "chacha20-poly1305", "none", "zero"} {
		t.Run(sec, func(t *testing.T) {
			r := runOne(t, targetFor(t, sec, srv.Host, srv.Port, srv.ID, sec, ""), testOptions(web.URL))
			wantOK(t, r)
			if r.Samples != 2 || r.Lost != 0 || r.Security != sec || r.Network != "raw" {
				t.Fatalf("result %s", jsonOf(r))
			}
		})
	}
}

func TestProbeTransports(t *testing.T) {
	web := startURL(t)
	cert := vmesstest.NewCert(t, "localhost", "127.0.0.1")
	tlsServer := func(network, settings string) string {
		return `{"network":"` + network + `",` + settings + `"security":"tls","tlsSettings":` + cert.TLSSettings() + `}`
	}
	tlsClient := func(network, settings string) string {
		return `{"network":"` + network + `",` + settings + `"security":"tls","tlsSettings":{"serverName":"localhost","pinnedPeerCertSha256":"` + cert.SHA256 + `"}}`
	}
	tests := []struct {
		name, server, client string
		wantTLS, wantUpgrade bool
	}{
		{"raw", `{"network":"raw"}`, `{"network":"tcp"}`, false, false},
		{"raw+http header", `{"network":"raw","rawSettings":{"header":{"type":"http","request":{"path":["/a"]}}}}`,
			`{"network":"raw","rawSettings":{"header":{"type":"http","request":{"path":["/a"]}}}}`, false, false},
		{"raw+tls", tlsServer("raw", ""), tlsClient("raw", ""), true, false},
		{"ws", `{"network":"ws","wsSettings":{"path":"/ws"}}`, `{"network":"ws","wsSettings":{"path":"/ws"}}`, false, true},
		{"ws early data", `{"network":"ws","wsSettings":{"path":"/ws?ed=2048"}}`, `{"network":"ws","wsSettings":{"path":"/ws?ed=2048"}}`, false, true},
		{"ws+tls", tlsServer("ws", `"wsSettings":{"path":"/w"},`), tlsClient("ws", `"wsSettings":{"path":"/w"},`), true, true},
		{"httpupgrade", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/up"}}`, `{"network":"httpupgrade","httpupgradeSettings":{"path":"/up"}}`, false, true},
		{"grpc", `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`, `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`, false, true},
		{"grpc multi+tls", tlsServer("grpc", `"grpcSettings":{"serviceName":"gun","multiMode":true},`), tlsClient("grpc", `"grpcSettings":{"serviceName":"gun","multiMode":true},`), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, vmesstest.ServerOptions{StreamSettings: tt.server})
			r := runOne(t, targetFor(t, tt.name, srv.Host, srv.Port, srv.ID, "aes-128-gcm", tt.client), testOptions(web.URL))
			wantOK(t, r)
			if got := r.Timings.TLS != nil; got != tt.wantTLS {
				t.Errorf("tls timing present = %v, want %v", got, tt.wantTLS)
			}
			if got := r.Timings.Upgrade != nil; got != tt.wantUpgrade {
				t.Errorf("upgrade timing present = %v, want %v", got, tt.wantUpgrade)
			}
			if tt.wantTLS != (r.TransportSecurity == "tls") {
				t.Errorf("transport_security = %q", r.TransportSecurity)
			}
		})
	}
}

// TestProbeClock covers the ±120 s window: a wrong id, and our clock shifted
// by +200 s, −200 s and +60 s, on raw TCP and on WebSocket.
func TestProbeClock(t *testing.T) {
	web := startURL(t)
	streams := []struct{ name, server, client string }{
		{"raw", "", ""},
		{"ws", `{"network":"ws","wsSettings":{"path":"/ws"}}`, `{"network":"ws","wsSettings":{"path":"/ws"}}`},
	}
	for _, st := range streams {
		srv := startServer(t, vmesstest.ServerOptions{StreamSettings: st.server})
		tests := []struct {
			name     string
			id       string
			shift    time.Duration
			skewFlag bool
			wantKind Kind // "" means ok
		}{
			{"wrong id", vmesstest.NewUUID(), 0, false, KindAuthRejected},
			{"clock +200s", srv.ID, 200 * time.Second, false, KindClockSkew},
			{"clock -200s", srv.ID, -200 * time.Second, false, KindClockSkew},
			{"clock +60s", srv.ID, 60 * time.Second, false, ""},
			{"clock +60s with --skew", srv.ID, 60 * time.Second, true, ""},
			{"in sync with --skew", srv.ID, 0, true, ""},
		}
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				opts := testOptions(web.URL)
				shift := tt.shift
				opts.Now = func() time.Time { return time.Now().Add(shift) }
				opts.Skew = tt.skewFlag
				start := time.Now()
				r := runOne(t, targetFor(t, tt.name, srv.Host, srv.Port, tt.id, "auto", st.client), opts)
				elapsed := time.Since(start)
				if tt.wantKind == "" {
					wantOK(t, r)
				} else if r.OK || r.Error == nil || r.Error.Kind != tt.wantKind {
					t.Fatalf("result %s, want kind %s", jsonOf(r), tt.wantKind)
				}
				wantSkew := tt.wantKind == KindClockSkew || tt.skewFlag
				if wantSkew {
					if r.Skew == nil {
						t.Fatalf("no skew in %s", jsonOf(r))
					}
					// Our clock is ahead by shift, so the server's is behind.
					want := -shift.Seconds()
					if math.Abs(r.Skew.OffsetS-want) > 3 || r.Skew.UncertaintyS > 2 {
						t.Fatalf("skew %+v, want %.0f ± 3 s", *r.Skew, want)
					}
					if r.Skew.Handshakes > 25 {
						t.Errorf("skew search used %d handshakes, want ≤ 25", r.Skew.Handshakes)
					}
					// Only the configured bound is timed (the handshake
					// count above is what keeps the search cheap): the
					// first attempt and each search handshake have the
					// timeout, and a loopback search needs far less.
					if limit := opts.Timeout * 2; elapsed > limit {
						t.Errorf("took %v, want within %v", elapsed, limit)
					}
				} else if r.Skew != nil {
					t.Fatalf("unexpected skew %+v", *r.Skew)
				}
				if tt.wantKind == KindAuthRejected {
					if strings.Contains(r.Error.Message, tt.id) {
						t.Fatalf("message leaks the id: %s", r.Error.Message)
					}
					if !strings.Contains(r.Error.Message, "±24h") {
						t.Fatalf("message %q does not say how far the search looked", r.Error.Message)
					}
				}
				if tt.wantKind == KindClockSkew {
					dir := "behind"
					if tt.shift < 0 {
						dir = "ahead of"
					}
					if !strings.Contains(r.Error.Message, "3m20s "+dir) {
						t.Fatalf("message %q does not say 3m20s %s", r.Error.Message, dir)
					}
				}
			})
		}
	}
}

// listen starts a loopback TCP server whose connections are handled by fn.
func listen(t testing.TB, fn func(net.Conn)) (string, int) {
	t.Helper()
	return "127.0.0.1", vmesstest.Port(t, vmesstest.StartTCP(t, fn))
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// TestProbeFailures checks that every way a server can fail gives the
// right kind, each within its timeout. The timeouts leave headroom for a
// busy machine: Xray's freedom alone takes about 1 s (5 retries) to give
// up on a refused destination, and the assertion is only that no case
// exceeds its configured timeout (plus slack), never how fast we are.
func TestProbeFailures(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	id := vmesstest.NewUUID()
	blackHost, blackPort := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	garbageHost, garbagePort := listen(t, func(c net.Conn) {
		c.Write([]byte(strings.Repeat("HTTP/1.1 400 Bad Request\r\n\r\n", 4)))
		io.Copy(io.Discard, c)
	})
	// Reads the request, then sends part of a response header and closes.
	// (A server that closes without sending a byte looks exactly like a
	// rejection; TestProbeClock's wrong id covers that.)
	midHost, midPort := listen(t, func(c net.Conn) {
		// Read all the client sent, so the close is a FIN and not a
		// reset that would discard the partial answer.
		buf := make([]byte, 64<<10)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Write(buf[:10])
	})
	wsSrv := startServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"ws","wsSettings":{"path":"/right"}}`})
	cert := vmesstest.NewCert(t, "localhost")
	tlsSrv := startServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"raw","security":"tls","tlsSettings":` + cert.TLSSettings() + `}`})
	// Cases that end by a timeout (a blackhole; a RAW server draining a
	// short ClientHello) get a short one, as they always take all of it;
	// the rest get 5 s, far more than they need even on a loaded machine.
	const short, long = 2 * time.Second, 5 * time.Second
	tests := []struct {
		name     string
		target   Target
		url      string
		wantKind Kind
		timeout  time.Duration
	}{
		{"wrong ws path", targetFor(t, "p", wsSrv.Host, wsSrv.Port, wsSrv.ID, "auto", `{"network":"ws","wsSettings":{"path":"/wrong"}}`), "", KindTransport, long},
		{"TLS server probed without TLS", targetFor(t, "t", tlsSrv.Host, tlsSrv.Port, tlsSrv.ID, "auto", ""), "", KindProtocol, long},
		{"plain server probed with TLS", targetFor(t, "s", srv.Host, srv.Port, srv.ID, "auto", `{"security":"tls","tlsSettings":{"serverName":"localhost"}}`), "", KindTLS, short},
		{"untrusted certificate", targetFor(t, "c", tlsSrv.Host, tlsSrv.Port, tlsSrv.ID, "auto", `{"security":"tls","tlsSettings":{"serverName":"localhost"}}`), "", KindTLS, long},
		{"refused port", targetFor(t, "r", "127.0.0.1", closedPort(t), id, "auto", ""), "", KindRefused, long},
		{"blackhole listener", targetFor(t, "b", blackHost, blackPort, id, "auto", ""), "", KindTimeout, short},
		{"garbage server", targetFor(t, "g", garbageHost, garbagePort, id, "auto", ""), "", KindProtocol, long},
		{"closes mid-handshake", targetFor(t, "m", midHost, midPort, id, "auto", ""), "", KindProtocol, long},
		{"unreachable destination", targetFor(t, "d", srv.Host, srv.Port, srv.ID, "auto", ""),
			fmt.Sprintf("http://127.0.0.1:%d/generate_204", closedPort(t)), KindDestination, long},
		{"unknown host", targetFor(t, "n", "no-such-host.invalid", 443, id, "auto", ""), "", KindDNS, long},
		{"unsupported transport", targetFor(t, "x", srv.Host, srv.Port, id, "auto", `{"network":"xhttp"}`), "", KindTransport, long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(web.URL)
			opts.Timeout = tt.timeout
			if tt.url != "" {
				opts.URL = tt.url
			}
			start := time.Now()
			r := runOne(t, tt.target, opts)
			el := time.Since(start)
			if r.OK || r.Error == nil {
				t.Fatalf("result %s, want kind %s", jsonOf(r), tt.wantKind)
			}
			// A VMess server on RAW drains a TLS ClientHello as a rejected
			// request: it closes at once when the hello is longer than its
			// drain size D, else it waits, and the TLS phase times out.
			// Both are right; D depends on the server's random user id.
			plainWithTLS := tt.name == "plain server probed with TLS" && r.Error.Kind == KindTimeout && strings.Contains(r.Error.Message, "set security to none")
			if r.Error.Kind != tt.wantKind && !plainWithTLS {
				t.Fatalf("result %s, want kind %s", jsonOf(r), tt.wantKind)
			}
			if tt.name == "TLS server probed without TLS" && !strings.Contains(r.Error.Message, "set security to tls") {
				t.Fatalf("message %q does not say to set TLS", r.Error.Message)
			}
			if slack := time.Second; el > tt.timeout+slack {
				t.Fatalf("took %v, want within its timeout %v (+%v slack)", el, tt.timeout, slack)
			}
			if strings.Contains(r.Error.Message, id) {
				t.Fatalf("message leaks the id: %s", r.Error.Message)
			}
			// A failure keeps the phases that completed: the TCP connect
			// when the server accepted the connection, nothing otherwise.
			connected := tt.wantKind != KindRefused && tt.wantKind != KindDNS && tt.name != "unsupported transport"
			if got := r.Timings != nil && r.Timings.Connect != nil; got != connected {
				t.Fatalf("connect timing present = %v, want %v: %s", got, connected, jsonOf(r))
			}
			if tt.wantKind == KindDestination && r.Timings.Handshake == nil {
				t.Fatalf("destination failure without the handshake time: %s", jsonOf(r))
			}
		})
	}
}
