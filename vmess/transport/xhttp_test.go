package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// securities are the bodies every new transport is proven with: each one
// Xray's server accepts (auto is aes-128-gcm or chacha20-poly1305, both
// here).
var securities = []vmess.Security{vmess.SecurityAES128GCM, vmess.SecurityChaCha20Poly1305, vmess.SecurityNone, vmess.SecurityZero}

// xhttpVersions are the HTTP stacks XHTTP runs over, and what the client
// config sets to choose each.
type xhttpVersion struct {
	name string
	tls  bool
	set  func(*transport.Config)
}

var xhttpVersions = []xhttpVersion{
	{"http1.1", false, func(*transport.Config) {}},
	{"h2c", false, func(c *transport.Config) { c.XHTTP.H2C = true }},
	{"tls-h2", true, func(*transport.Config) {}},
	{"tls-http1.1", true, func(c *transport.Config) { c.TLS.ALPN = []string{"http/1.1"} }},
}

// sessionTest moves n bytes both ways through a VMess session over conn
// with security sec to echo, through srv.
func sessionTest(t *testing.T, conn net.Conn, srvID string, sec vmess.Security, echo *vmesstest.EchoServer, n int) {
	t.Helper()
	id, err := vmess.ParseID(srvID)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: sec}, echoDest(t, echo), nil)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, vc, n)
}

// TestXHTTPOverXray runs VMess sessions through every XHTTP mode over
// every HTTP stack (HTTP/1.1 and h2c without TLS, HTTP/2 and HTTP/1.1
// over TLS) with every body security, against one Xray XHTTP inbound
// without TLS and one with, and checks the phases reported.
func TestXHTTPOverXray(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	plain := startServer(t, `{"network":"xhttp","xhttpSettings":{"path":"/x"}}`)
	secure := startServer(t, tlsServer(cert, "xhttp", `"xhttpSettings":{"path":"/x"}`))
	for _, mode := range []string{"auto", "packet-up", "stream-up", "stream-one"} {
		for _, v := range xhttpVersions {
			for _, sec := range testSecurities() {
				name := mode + "/" + v.name + "/" + sec.String()
				t.Run(name, func(t *testing.T) {
					if (mode == "auto" || mode == "packet-up") && !vmesstest.XrayRaceFree {
						t.Log("not run under -race: Xray-core's own packet-up server (splithttp uploadQueue Close and Read) races on its closed field when a session ends, so the race detector would fail this test on Xray's code; the default run covers it")
						return
					}
					t.Parallel()
					srv := plain
					cfg := &transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{Path: "/x", Mode: mode}}
					if v.tls {
						srv = secure
						pinned("")(cfg, cert)
					}
					v.set(cfg)
					cfg.Address, cfg.Port = srv.Host, uint16(srv.Port)
					var mu sync.Mutex
					phases := map[transport.Phase]bool{}
					trace := &transport.Trace{PhaseDone: func(p transport.Phase, _, _ time.Time) {
						mu.Lock()
						phases[p] = true
						mu.Unlock()
					}}
					conn := dialTraced(t, cfg, trace)
					sessionTest(t, conn, srv.ID, sec, echo, 96<<10)
					mu.Lock()
					defer mu.Unlock()
					if !phases[transport.PhaseConnect] || !phases[transport.PhaseUpgrade] || phases[transport.PhaseTLS] != v.tls {
						t.Errorf("phases reported: %v", phases)
					}
				})
			}
		}
	}
}

// TestXHTTPFingerprints: XHTTP over TLS speaks every uTLS fingerprint
// that ws and raw do, over HTTP/2 and HTTP/1.1 (each hello offers its
// own ALPN list; the server must still pick what the mode needs), against
// Xray's inbound.
func TestXHTTPFingerprints(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	srv := startServer(t, tlsServer(cert, "xhttp", `"xhttpSettings":{"path":"/x"}`))
	for _, fp := range []string{"chrome", "firefox", "safari", "ios", "edge", "random", "randomized", "unsafe"} {
		for _, v := range xhttpVersions {
			if !v.tls {
				continue
			}
			t.Run(fp+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				cfg := &transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{Path: "/x", Mode: "stream-one"}}
				pinned(fp)(cfg, cert)
				v.set(cfg)
				cfg.Address, cfg.Port = srv.Host, uint16(srv.Port)
				conn := dialTransport(t, cfg)
				sessionTest(t, conn, srv.ID, vmess.SecurityAES128GCM, echo, 16<<10)
			})
		}
	}
}

// TestXHTTPFailuresNamePhase: a wrong path or host, and each TLS
// mismatch, fail in the phase that names them, within the deadline.
func TestXHTTPFailuresNamePhase(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	plain := startServer(t, `{"network":"xhttp","xhttpSettings":{"path":"/x","host":"right.example"}}`)
	secure := startServer(t, tlsServer(cert, "xhttp", `"xhttpSettings":{"path":"/x"}`))
	h1only := startServer(t, tlsServer(cert, "xhttp", `"xhttpSettings":{"path":"/x"}`, "http/1.1"))
	tests := []struct {
		name   string
		srv    *vmesstest.Server
		client func(*transport.Config)
		phase  transport.Phase
		text   string
	}{
		{"wrong-path", plain, func(c *transport.Config) { c.XHTTP = transport.XHTTPConfig{Path: "/y", Host: "right.example"} }, transport.PhaseUpgrade, "404"},
		{"wrong-path-stream-one", plain, func(c *transport.Config) {
			c.XHTTP = transport.XHTTPConfig{Path: "/y", Host: "right.example", Mode: "stream-one"}
		}, transport.PhaseUpgrade, "404"},
		{"wrong-path-h2c", plain, func(c *transport.Config) {
			c.XHTTP = transport.XHTTPConfig{Path: "/y", Host: "right.example", H2C: true}
		}, transport.PhaseUpgrade, "404"},
		{"wrong-host", plain, func(c *transport.Config) { c.XHTTP = transport.XHTTPConfig{Path: "/x", Host: "wrong.example"} }, transport.PhaseUpgrade, "host"},
		{"wrong-path-tls", secure, func(c *transport.Config) {
			pinned("")(c, cert)
			c.XHTTP = transport.XHTTPConfig{Path: "/y", Mode: "stream-up"}
		}, transport.PhaseUpgrade, "404"},
		{"tls-client-plain-server", plain, func(c *transport.Config) {
			pinned("")(c, cert)
			c.XHTTP = transport.XHTTPConfig{Path: "/x", Host: "right.example"}
		}, transport.PhaseTLS, ""},
		{"plain-client-tls-server", secure, func(c *transport.Config) { c.XHTTP = transport.XHTTPConfig{Path: "/x"} }, transport.PhaseUpgrade, "400"},
		{"plain-h2c-client-tls-server", secure, func(c *transport.Config) { c.XHTTP = transport.XHTTPConfig{Path: "/x", H2C: true} }, transport.PhaseUpgrade, "h2c"},
		{"h2-client-http1.1-only-server", h1only, func(c *transport.Config) {
			pinned("unsafe")(c, cert)
			c.XHTTP = transport.XHTTPConfig{Path: "/x"}
		}, transport.PhaseUpgrade, `chose "http/1.1" by ALPN`},
		{"pin-mismatch", secure, func(c *transport.Config) {
			pinned("")(c, cert)
			c.TLS.PinnedPeerCertSHA256 = []string{strings.Repeat("ab", 32)}
			c.XHTTP = transport.XHTTPConfig{Path: "/x"}
		}, transport.PhaseTLS, "pinnedPeerCertSha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := &transport.Config{Address: tt.srv.Host, Port: uint16(tt.srv.Port), Network: "xhttp"}
			tt.client(cfg)
			failure{tt.phase, &inTime, tt.text}.check(t, dialFailure(t, cfg, 5*time.Second))
		})
	}
}

// TestXHTTPXmuxMovesUploads: with xmux hMaxRequestTimes = 3, a
// packet-up session's uploads move to a new connection once three
// requests (the download GET and two POSTs) have used one, as Xray's
// XmuxManager does, and the session goes on.
func TestXHTTPXmuxMovesUploads(t *testing.T) {
	t.Parallel()
	if !vmesstest.XrayRaceFree {
		t.Log("not run under -race: Xray-core's packet-up server races when a session ends (see TestXHTTPOverXray)")
		return
	}
	echo := vmesstest.StartEcho(t)
	srv := startServer(t, `{"network":"xhttp","xhttpSettings":{"path":"/x"}}`)
	for _, v := range []struct {
		name string
		h2c  bool
		// conns expected: HTTP/1.1 opens the download connection, the
		// first upload connection, then one per rotation; h2c carries
		// the first uploads with the download, then one per rotation.
		want int64
	}{{"http1.1", false, 4}, {"h2c", true, 3}} {
		t.Run(v.name, func(t *testing.T) {
			relay := vmesstest.StartRelay(t, srv.Addr)
			cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(vmesstest.Port(t, relay.Addr)), Network: "xhttp",
				XHTTP: transport.XHTTPConfig{Path: "/x", H2C: v.h2c, ScMinPostsIntervalMs: transport.Range{From: 1, To: 1},
					Xmux: transport.XmuxConfig{HMaxRequestTimes: transport.Range{From: 3, To: 3}}}}
			conn := dialTransport(t, cfg)
			id, _ := vmess.ParseID(srv.ID)
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, echoDest(t, echo), nil)
			if err != nil {
				t.Fatal(err)
			}
			// Five writes, each echoed before the next: five POSTs.
			buf := make([]byte, 10)
			for i := 0; i < 5; i++ {
				if _, err := vc.Write([]byte("0123456789")); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(vc, buf); err != nil {
					t.Fatalf("echo %d: %v", i, err)
				}
			}
			if got := relay.Conns(); got != v.want {
				t.Errorf("%d connections, want %d", got, v.want)
			}
		})
	}
}

// TestXHTTPConfigErrors: settings Xray's loader refuses are refused
// before any I/O, and the ones xvm does not speak are named.
func TestXHTTPConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		x           transport.XHTTPConfig
		want        string
		unsupported bool
	}{
		{"bad-mode", transport.XHTTPConfig{Mode: "stream-down"}, "mode", false},
		{"host-header", transport.XHTTPConfig{Headers: map[string]string{"HOST": "a"}}, "host", false},
		{"padding-disabled", transport.XHTTPConfig{XPaddingBytes: transport.Range{From: 0, To: 10}}, "xPaddingBytes", false},
		{"xmux-both", transport.XHTTPConfig{Xmux: transport.XmuxConfig{MaxConnections: transport.Range{From: 1, To: 2}, MaxConcurrency: transport.Range{From: 1, To: 1}}}, "maxConnections", false},
		{"extra-not-json", transport.XHTTPConfig{Extra: []byte(`{`)}, "extra", false},
		{"download-settings", transport.XHTTPConfig{Extra: []byte(`{"downloadSettings":{"address":"a"}}`)}, "downloadSettings", true},
		{"obfs", transport.XHTTPConfig{Extra: []byte(`{"xPaddingObfsMode":true}`)}, "xPaddingObfsMode", true},
		{"method", transport.XHTTPConfig{Extra: []byte(`{"uplinkHTTPMethod":"PUT"}`)}, "uplinkHTTPMethod", true},
		{"session-placement", transport.XHTTPConfig{Extra: []byte(`{"sessionPlacement":"header"}`)}, "sessionPlacement", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantConfigError(t, transport.Config{Network: "xhttp", XHTTP: tt.x}, tt.want, tt.unsupported)
		})
	}
	t.Run("http3", func(t *testing.T) {
		wantConfigError(t, transport.Config{Network: "splithttp", Security: "tls", TLS: transport.TLSConfig{ALPN: []string{"h3"}}}, "HTTP/3", true)
	})
}

// TestXHTTPServerHangsUp: a server that takes the request and closes the
// connection (or answers garbage) fails the dial at once with an upgrade
// error, in every mode, not at the deadline: net/http's HTTP/1.1 writer
// waits on a streaming request body until someone closes it.
func TestXHTTPServerHangsUp(t *testing.T) {
	t.Parallel()
	for _, answer := range []string{"", "\x16\x03\x01\x00\x02\x02\x28", "HTTP/1.1 200 OK\r\nContent-Length: zz\r\n\r\n"} {
		addr := vmesstest.StartTCP(t, func(c net.Conn) {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Read(make([]byte, 4096))
			c.Write([]byte(answer))
		})
		for _, mode := range []string{"packet-up", "stream-up", "stream-one"} {
			for _, h2c := range []bool{false, true} {
				t.Run(fmt.Sprintf("%q/%s/h2c=%v", answer, mode, h2c), func(t *testing.T) {
					cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(vmesstest.Port(t, addr)), Network: "xhttp",
						XHTTP: transport.XHTTPConfig{Mode: mode, H2C: h2c}}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					conn, err := transport.Dial(ctx, cfg, nil)
					if err == nil {
						conn.Close()
						t.Fatal("Dial succeeded")
					}
					if te := phaseOf(t, err); te.Phase != transport.PhaseUpgrade || te.Timeout() {
						t.Errorf("phase %q, timeout %v: %v; want an upgrade failure before the deadline", te.Phase, te.Timeout(), err)
					}
				})
			}
		}
	}
}

// TestXHTTPStreamUpCut: when the connection carrying stream-up's upload
// POST dies mid-session (HTTP/1.1, where it is a connection of its own),
// Xray's server ends the whole session: the upload was its request
// reader (splithttp hub.go: ServeHTTP pushes the POST body as the
// session's upload reader, whose error ends the VMess inbound). The
// client's Writes then fail with ErrXHTTPUploadEnded (they said "io:
// read/write on closed pipe") and its Read ends (EOF or an error) soon
// after, rather than the download going on with half a session.
func TestXHTTPStreamUpCut(t *testing.T) {
	t.Parallel()
	echo := vmesstest.StartEcho(t)
	srv := startServer(t, `{"network":"xhttp","xhttpSettings":{"path":"/x","mode":"stream-up"}}`)
	relay := vmesstest.StartRelay(t, srv.Addr)
	cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(vmesstest.Port(t, relay.Addr)), Network: "xhttp",
		XHTTP: transport.XHTTPConfig{Path: "/x", Mode: "stream-up"}}
	conn := dialTransport(t, cfg)
	// Generous: only a hang should end the test this way.
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	id, _ := vmess.ParseID(srv.ID)
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, echoDest(t, echo), nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("before the cut")
	if _, err := vc.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(vc, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	if n := relay.Conns(); n != 2 {
		t.Fatalf("%d connections, want 2 (download GET, upload POST)", n)
	}
	relay.Cut(1) // the upload
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = vc.Write(make([]byte, 16<<10))
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(werr, transport.ErrXHTTPUploadEnded) {
		t.Fatalf("Write after the cut: %v, want ErrXHTTPUploadEnded", werr)
	}
	_, rerr := io.Copy(io.Discard, vc)
	if errors.Is(rerr, os.ErrDeadlineExceeded) {
		t.Fatalf("the download went on after the upload was cut: %v", rerr)
	}
	t.Logf("write: %v; read ended with %v", werr, rerr)
}
