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
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// startURL starts the loopback HTTP target: /generate_204 answers 204, and
// /bytes?n=N sends N bytes.
func startURL(t testing.TB) *httptest.Server {
	t.Helper()
	return startURLWithClock(t, nil)
}

// startURLWithClock is startURL whose Date headers come from now (nil:
// the real clock), so a test's shifted clock can be the run's reference.
func startURLWithClock(t testing.TB, now func() time.Time) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/generate_204", func(w http.ResponseWriter, r *http.Request) {
		if now != nil {
			w.Header().Set("Date", now().UTC().Format(http.TimeFormat))
		}
		w.WriteHeader(http.StatusNoContent)
	})
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

// spec describes a test target; target builds it as the CLI and serve
// do: an Xray outbound (JSON) read by convert into a node, then
// TargetFromNode.
type spec struct {
	name     string
	host     string
	port     int
	id       string
	security string // the VMess body security; "" means auto
	stream   string // streamSettings as JSON; "" means raw
}

func (s spec) target(t testing.TB) Target {
	t.Helper()
	sec := s.security
	if sec == "" {
		sec = "auto"
	}
	ob := fmt.Sprintf(`{"protocol":"vmess","tag":%q,"settings":{"vnext":[{"address":%q,"port":%d,"users":[{"id":%q,"security":%q}]}]}`, s.name, s.host, s.port, s.id, sec)
	if s.stream != "" {
		ob += `,"streamSettings":` + s.stream
	}
	return targetFromXray(t, `{"outbounds":[`+ob+`}]}`)
}

// targetFromXray reads an Xray config of one VMess outbound through
// convert and maps its node with TargetFromNode, as the CLI reads an Xray
// input.
func targetFromXray(t testing.TB, config string) Target {
	t.Helper()
	res, err := convert.Parse(context.Background(), "test.json", []byte(config), convert.Options{})
	if err != nil {
		t.Fatalf("%s: %v", config, err)
	}
	for _, d := range res.Diagnostics {
		if d.Severity == convert.Error {
			t.Fatalf("%s: %s", config, d.Message)
		}
	}
	if len(res.Nodes) != 1 {
		t.Fatalf("%s: %d nodes, want 1", config, len(res.Nodes))
	}
	return TargetFromNode(res.Nodes[0])
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
		URL:     url + "/generate_204",
		Count:   2,
		Timeout: 3 * time.Second,
		Spacing: time.Millisecond,
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

// noFlags fails when a library message names a command-line flag: the
// caller words advice, with its own flag names.
func noFlags(t testing.TB, msg string) {
	t.Helper()
	if strings.Contains(msg, "--") {
		t.Errorf("message %q names a flag; the library gives advice codes instead", msg)
	}
}

// settled reads a connection count once it has stopped moving. A
// connection the prober opened and dropped at once (a TLS check) is
// complete for the kernel before the relay's Accept returns and counts it,
// so Run can return a moment before the count is final.
func settled(count func() int64) int64 {
	n := count()
	for range 100 {
		time.Sleep(25 * time.Millisecond)
		m := count()
		if m == n {
			return n
		}
		n = m
	}
	return n
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
			r := runOne(t, spec{name: sec, host: srv.Host, port: srv.Port, id: srv.ID, security: sec}.target(t), testOptions(web.URL))
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
			r := runOne(t, spec{name: tt.name, host: srv.Host, port: srv.Port, id: srv.ID, security: "aes-128-gcm", stream: tt.client}.target(t), testOptions(web.URL))
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

// TestProbeClock covers the ±120 s window on raw TCP and on WebSocket: a
// wrong id, and a server whose clock is 200 s behind or ahead of ours or
// 60 s off. The server's skew is made by shifting our clock, and the URL's
// server (the run's clock reference) stamps its Date with our shifted
// clock, so the reference agrees with us and the server is the odd one.
// Each case says what the diagnosis rests on and what it may cost the
// server: WebSocket answers a plain request with its Date, so its verdicts
// take a few connections where raw needs a search.
func TestProbeClock(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	streams := []struct{ name, server, client string }{
		{"raw", "", ""},
		{"ws", `{"network":"ws","wsSettings":{"path":"/ws"}}`, `{"network":"ws","wsSettings":{"path":"/ws"}}`},
	}
	tests := []struct {
		name     string
		wrongID  bool
		shift    time.Duration // of our clock (and the reference's)
		skewFlag bool
		wantKind Kind // "" means ok
		// evidence and most connections to the server, per stream.
		evidence map[string]Evidence
		maxConns map[string]int64
	}{
		{name: "wrong id", wrongID: true, wantKind: KindAuthRejected,
			evidence: map[string]Evidence{"raw": EvidenceSearch, "ws": EvidenceServerDate},
			maxConns: map[string]int64{"raw": 64, "ws": 4}},
		{name: "clock +200s", shift: 200 * time.Second, wantKind: KindClockSkew,
			evidence: map[string]Evidence{"raw": EvidenceSearch, "ws": EvidenceServerDate},
			maxConns: map[string]int64{"raw": 25, "ws": 4}},
		{name: "clock -200s", shift: -200 * time.Second, wantKind: KindClockSkew,
			evidence: map[string]Evidence{"raw": EvidenceSearch, "ws": EvidenceServerDate},
			maxConns: map[string]int64{"raw": 25, "ws": 4}},
		{name: "clock +60s", shift: 60 * time.Second, maxConns: map[string]int64{"raw": 2, "ws": 2}},
		{name: "clock +60s, skew measured", shift: 60 * time.Second, skewFlag: true, maxConns: map[string]int64{"raw": 19, "ws": 19}},
		{name: "in sync, skew measured", skewFlag: true, maxConns: map[string]int64{"raw": 19, "ws": 19}},
	}
	for _, st := range streams {
		srv := startServer(t, vmesstest.ServerOptions{StreamSettings: st.server})
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				shift := tt.shift
				now := func() time.Time { return time.Now().Add(shift) }
				web := startURLWithClock(t, now)
				relay := probetest.StartRelay(t, srv.Addr, 0)
				opts := testOptions(web.URL)
				opts.Now = now
				opts.Skew = tt.skewFlag
				id := srv.ID
				if tt.wrongID {
					id = vmesstest.NewUUID()
				}
				r := runOne(t, spec{name: tt.name, host: relay.Host, port: relay.Port, id: id, stream: st.client}.target(t), opts)
				if tt.wantKind == "" {
					wantOK(t, r)
				} else if r.OK || r.Error == nil || r.Error.Kind != tt.wantKind {
					t.Fatalf("result %s, want kind %s", jsonOf(r), tt.wantKind)
				}
				if n := settled(relay.Conns); n > tt.maxConns[st.name] {
					t.Errorf("the server saw %d connections, want at most %d", n, tt.maxConns[st.name])
				}
				if tt.wantKind != "" {
					noFlags(t, r.Error.Message)
					if strings.Contains(r.Error.Message, id) {
						t.Fatalf("message leaks the id: %s", r.Error.Message)
					}
					d := r.Error.Diagnosis
					if d == nil || d.Evidence != tt.evidence[st.name] || d.LocalClock != nil {
						t.Fatalf("diagnosis %s, want evidence %s and our clock not blamed", jsonOf(d), tt.evidence[st.name])
					}
				}
				if tt.wantKind == KindAuthRejected && r.Error.Diagnosis.Evidence == EvidenceSearch {
					// The bounded search, and what it ruled out.
					if want := (Coverage{WithinS: 840, HoursS: 14 * 3600, HalfHoursS: 12*3600 + 1800}); *r.Error.Diagnosis.Searched != want {
						t.Fatalf("searched %+v, want %+v", *r.Error.Diagnosis.Searched, want)
					}
					if !strings.Contains(r.Error.Message, "no clock offset within ±14m, or within 2m of a whole hour up to ±14h or of a half hour up to ±12h30m was accepted") ||
						!slices.Contains(r.Error.Advice, AdviceSkewRange) {
						t.Fatalf("message %q (advice %v) does not say what the search ruled out", r.Error.Message, r.Error.Advice)
					}
				}
				wantSkew := tt.wantKind == KindClockSkew || tt.skewFlag
				if !wantSkew {
					if r.Skew != nil {
						t.Fatalf("unexpected skew %+v", *r.Skew)
					}
					return
				}
				if r.Skew == nil {
					t.Fatalf("no skew in %s", jsonOf(r))
				}
				// Our clock is ahead by shift, so the server's is behind.
				want := -shift.Seconds()
				if math.Abs(r.Skew.OffsetS-want) > 3 || r.Skew.UncertaintyS > 2 {
					t.Fatalf("skew %+v, want %.0f ± 3 s", *r.Skew, want)
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

// closedPort is a loopback port that refuses connections for the rest of
// the test (reserved, so no other listener takes it meanwhile).
func closedPort(t *testing.T) int {
	t.Helper()
	return probetest.StartRefusedPort(t).Port
}

// TestProbeFailures checks that every way a server can fail gives the
// right kind, each within its timeout (twice for a timeout, which is
// tried again at the end). The timeouts leave headroom for a
// busy machine: Xray's freedom alone takes about 1 s (5 retries) to give
// up on a refused destination, and the assertion is only that no case
// exceeds its configured timeout (plus slack), never how fast we are.
func TestProbeFailures(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
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
	// short ClientHello) get a short one, as they always take all of it,
	// twice: a timeout is tried again at the end of the run. The rest get
	// 5 s, far more than they need even on a loaded machine.
	short, long := shortOr(2*time.Second, time.Second), 5*time.Second
	tests := []struct {
		name     string
		target   Target
		url      string
		wantKind Kind
		// alsoKind is another right verdict: a VMess server on RAW drains
		// a TLS ClientHello as a rejected request; it closes at once when
		// the hello is longer than its drain size D (which depends on its
		// random user id), else it waits and the TLS phase times out.
		alsoKind  Kind
		wantText  string
		timeout   time.Duration
		connected bool // the TCP connect completed (its phase is kept)
	}{
		{name: "wrong ws path", target: spec{name: "p", host: wsSrv.Host, port: wsSrv.Port, id: wsSrv.ID, stream: `{"network":"ws","wsSettings":{"path":"/wrong"}}`}.target(t),
			wantKind: KindTransport, timeout: long, connected: true},
		{name: "TLS server probed without TLS", target: spec{name: "t", host: tlsSrv.Host, port: tlsSrv.Port, id: tlsSrv.ID}.target(t),
			wantKind: KindProtocol, wantText: "set security to tls", timeout: long, connected: true},
		{name: "plain server probed with TLS", target: spec{name: "s", host: srv.Host, port: srv.Port, id: srv.ID, stream: `{"security":"tls","tlsSettings":{"serverName":"localhost"}}`}.target(t),
			wantKind: KindTLS, alsoKind: KindTimeout, timeout: short, connected: true},
		{name: "untrusted certificate", target: spec{name: "c", host: tlsSrv.Host, port: tlsSrv.Port, id: tlsSrv.ID, stream: `{"security":"tls","tlsSettings":{"serverName":"localhost"}}`}.target(t),
			wantKind: KindTLS, timeout: long, connected: true},
		{name: "refused port", target: spec{name: "r", host: "127.0.0.1", port: closedPort(t), id: id}.target(t),
			wantKind: KindRefused, timeout: long},
		{name: "blackhole listener", target: spec{name: "b", host: blackHost, port: blackPort, id: id}.target(t),
			wantKind: KindTimeout, wantText: "also on a second try", timeout: short, connected: true},
		{name: "garbage server", target: spec{name: "g", host: garbageHost, port: garbagePort, id: id}.target(t),
			wantKind: KindProtocol, timeout: long, connected: true},
		{name: "closes mid-handshake", target: spec{name: "m", host: midHost, port: midPort, id: id}.target(t),
			wantKind: KindProtocol, timeout: long, connected: true},
		{name: "unreachable destination", target: spec{name: "d", host: srv.Host, port: srv.Port, id: srv.ID}.target(t),
			url: fmt.Sprintf("http://127.0.0.1:%d/generate_204", closedPort(t)), wantKind: KindDestination, timeout: long, connected: true},
		{name: "unknown host", target: spec{name: "n", host: "no-such-host.invalid", port: 443, id: id}.target(t),
			wantKind: KindDNS, timeout: long},
		{name: "unsupported transport", target: spec{name: "x", host: srv.Host, port: srv.Port, id: id, stream: `{"network":"quic"}`}.target(t),
			wantKind: KindTransport, timeout: long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the cases wait, each for its own server
			opts := testOptions(web.URL)
			opts.Timeout = tt.timeout
			if tt.url != "" {
				opts.URL = tt.url
			}
			start := time.Now()
			r := runOne(t, tt.target, opts)
			el := time.Since(start)
			if r.OK || r.Error == nil || r.Error.Kind != tt.wantKind && (tt.alsoKind == "" || r.Error.Kind != tt.alsoKind) {
				t.Fatalf("result %s, want kind %s", jsonOf(r), tt.wantKind)
			}
			if !strings.Contains(r.Error.Message, tt.wantText) {
				t.Fatalf("message %q does not say %q", r.Error.Message, tt.wantText)
			}
			// A hang catcher, not a speed test: a timeout costs at most
			// its timeout twice (the retry at the end), anything else
			// at most once.
			bound := tt.timeout
			if r.Error.Kind == KindTimeout {
				bound = 2 * tt.timeout
				if !r.Retried {
					t.Fatalf("a timeout that was not retried: %s", jsonOf(r))
				}
			}
			if slack := max(2*time.Second, bound/2); el > bound+slack {
				t.Fatalf("took %v, want within %v (+%v slack)", el, bound, slack)
			}
			noFlags(t, r.Error.Message)
			if strings.Contains(r.Error.Message, id) {
				t.Fatalf("message leaks the id: %s", r.Error.Message)
			}
			// A failure keeps the phases that completed: the TCP connect
			// when the server accepted the connection, nothing otherwise.
			if got := r.Timings != nil && r.Timings.Connect != nil; got != tt.connected {
				t.Fatalf("connect timing present = %v, want %v: %s", got, tt.connected, jsonOf(r))
			}
			if tt.wantKind == KindDestination && r.Timings.Handshake == nil {
				t.Fatalf("destination failure without the handshake time: %s", jsonOf(r))
			}
		})
	}
}
