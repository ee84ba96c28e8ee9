package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// singH2 starts sing-box's V2Ray HTTP transport in front of sing-vmess,
// with TLS when cert is set (h2c otherwise).
func singH2(t *testing.T, cert *vmesstest.Cert, host []string, path, method string) *vmesstest.SingServer {
	t.Helper()
	return vmesstest.StartSingServer(t, vmesstest.SingServerOptions{
		HTTP: &vmesstest.SingHTTPTransport{Host: host, Path: path, Method: method, Cert: cert},
	})
}

// TestH2OverSingBox runs VMess sessions over the HTTP/2 transport,
// over TLS (several fingerprints) and h2c, with every body security,
// against sing-box's V2Ray HTTP transport server (which Xray's current
// release no longer has).
func TestH2OverSingBox(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	tlsSrv := singH2(t, cert, []string{"a.example", "b.example"}, "/h2", "")
	plainSrv := singH2(t, nil, nil, "/h2", "")
	tests := []struct {
		name string
		srv  *vmesstest.SingServer
		set  func(*transport.Config)
	}{
		{"tls-chrome", tlsSrv, func(c *transport.Config) {
			pinned("")(c, cert)
			c.Network = "h2"
			c.HTTP = transport.HTTPConfig{Host: []string{"a.example", "b.example"}, Path: "h2"}
		}},
		{"tls-firefox-headers", tlsSrv, func(c *transport.Config) {
			pinned("firefox")(c, cert)
			c.Network = "http"
			c.HTTP = transport.HTTPConfig{Host: []string{"b.example"}, Path: "/h2/sub", Headers: map[string][]string{"X-A": {"1", "2"}}}
		}},
		{"tls-unsafe", tlsSrv, func(c *transport.Config) {
			pinned("unsafe")(c, cert)
			c.Network = "h2"
			c.HTTP = transport.HTTPConfig{Host: []string{"a.example"}, Path: "/h2"}
		}},
		{"h2c", plainSrv, func(c *transport.Config) {
			c.Network = "h2"
			c.HTTP = transport.HTTPConfig{Path: "/h2"}
		}},
	}
	for _, tt := range tests {
		for _, sec := range testSecurities() {
			t.Run(tt.name+"/"+sec.String(), func(t *testing.T) {
				t.Parallel()
				cfg := &transport.Config{Address: tt.srv.Host, Port: uint16(tt.srv.Port)}
				tt.set(cfg)
				phases := map[transport.Phase]bool{}
				trace := &transport.Trace{PhaseDone: func(p transport.Phase, _, _ time.Time) { phases[p] = true }}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				conn, err := transport.Dial(ctx, cfg, trace)
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer conn.Close()
				if !phases[transport.PhaseUpgrade] || phases[transport.PhaseTLS] != (cfg.Security == "tls") {
					t.Errorf("phases reported: %v", phases)
				}
				sessionTest(t, conn, tt.srv.ID, sec, echo, 200<<10)
			})
		}
	}
}

// TestH2HalfCloseAndUDP: the end of the request body reaches sing-box
// (END_STREAM), and VMess UDP datagrams keep their boundaries.
func TestH2HalfCloseAndUDP(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	udpEcho := vmesstest.StartUDPEcho(t)
	srv := singH2(t, cert, nil, "/", "")
	cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port), Network: "h2"}
	pinned("")(cfg, cert)
	id, _ := vmess.ParseID(srv.ID)

	conn := dialTransport(t, cfg)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, echoDest(t, echo), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("half-close "), 3000)
	vc.Write(want)
	if err := vc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(vc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(want), err)
	}

	conn = dialTransport(t, cfg)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	host, port, _ := strings.Cut(udpEcho.Addr, ":")
	dest := vmess.Destination{Network: vmess.NetworkUDP, Host: host, Port: uint16(vmesstest.Port(t, host+":"+port))}
	pc, err := vmess.ClientPacket(conn, vmess.Account{ID: id, Security: vmess.SecurityChaCha20Poly1305}, dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for _, size := range []int{1, 1400, 33} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		if _, err := pc.WriteTo(msg, nil); err != nil {
			t.Fatal(err)
		}
		n, _, err := pc.ReadFrom(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("datagram of %d came back as %d bytes, %v", size, n, err)
		}
	}
}

// TestH2FailuresNamePhase: a wrong path, host or method, and each TLS
// mismatch, fail in the named phase against sing-box's server.
func TestH2FailuresNamePhase(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	tlsSrv := singH2(t, cert, []string{"right.example"}, "/h2", "PUT")
	plainSrv := singH2(t, nil, nil, "/h2", "")
	tests := []struct {
		name    string
		srv     *vmesstest.SingServer
		set     func(*transport.Config)
		phase   transport.Phase
		text    string
		timeout *bool // nil: either
	}{
		{"wrong-path", tlsSrv, func(c *transport.Config) {
			pinned("")(c, cert)
			c.HTTP = transport.HTTPConfig{Host: []string{"right.example"}, Path: "/nope"}
		}, transport.PhaseUpgrade, "404", &inTime},
		{"wrong-host", tlsSrv, func(c *transport.Config) {
			pinned("")(c, cert)
			c.HTTP = transport.HTTPConfig{Host: []string{"wrong.example"}, Path: "/h2"}
		}, transport.PhaseUpgrade, "400", &inTime},
		{"default-host-refused", tlsSrv, func(c *transport.Config) {
			pinned("")(c, cert)
			c.HTTP = transport.HTTPConfig{Path: "/h2"}
		}, transport.PhaseUpgrade, "400", &inTime},
		{"wrong-method", tlsSrv, func(c *transport.Config) {
			pinned("")(c, cert)
			c.HTTP = transport.HTTPConfig{Host: []string{"right.example"}, Path: "/h2", Method: "POST"}
		}, transport.PhaseUpgrade, "404", &inTime},
		{"alpn-http1.1-only", tlsSrv, func(c *transport.Config) {
			pinned("unsafe")(c, cert)
			c.TLS.ALPN = []string{"http/1.1"}
			c.HTTP = transport.HTTPConfig{Host: []string{"right.example"}, Path: "/h2"}
		}, transport.PhaseUpgrade, "ALPN", &inTime},
		{"tls-client-plain-server", plainSrv, func(c *transport.Config) {
			pinned("")(c, cert)
			c.HTTP = transport.HTTPConfig{Path: "/h2"}
		}, transport.PhaseTLS, "", &inTime},
		// sing-box's TLS listener either waits for a ClientHello that
		// never comes (the PING round trip runs out of time) or closes
		// on the preface: either way an upgrade failure.
		{"plain-client-tls-server", tlsSrv, func(c *transport.Config) {
			c.HTTP = transport.HTTPConfig{Host: []string{"right.example"}, Path: "/h2"}
		}, transport.PhaseUpgrade, "h2c", nil},
		{"pin-mismatch", tlsSrv, func(c *transport.Config) {
			pinned("")(c, cert)
			c.TLS.PinnedPeerCertSHA256 = []string{strings.Repeat("cd", 32)}
		}, transport.PhaseTLS, "pinnedPeerCertSha256", &inTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := &transport.Config{Address: tt.srv.Host, Port: uint16(tt.srv.Port), Network: "h2"}
			tt.set(cfg)
			failure{tt.phase, tt.timeout, tt.text}.check(t, dialFailure(t, cfg, 2*time.Second))
		})
	}
}

// TestH2ConnDeadline: a read deadline on the stream interrupts a session
// whose destination never answers, with os.ErrDeadlineExceeded and not a
// transport phase error, while sing-box has not yet answered the request.
func TestH2ConnDeadline(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	srv := singH2(t, cert, nil, "/", "")
	silent := silentServer(t)
	cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port), Network: "h2"}
	pinned("")(cfg, cert)
	conn := dialTransport(t, cfg)
	id, _ := vmess.ParseID(srv.ID)
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM},
		vmess.Destination{Host: "127.0.0.1", Port: uint16(silent.Port)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Write([]byte("hello?")); err != nil {
		t.Fatal(err)
	}
	vc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = vc.Read(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: %v, want os.ErrDeadlineExceeded", err)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		t.Errorf("a timeout after Dial is not a transport phase failure: %v", err)
	}
}

// BenchmarkDownloadH2 measures 64 MiB through the HTTP/2 transport to
// sing-box's server, over TLS and h2c. There is no Xray client to put
// beside it: Xray's current release has no HTTP/2 transport.
func BenchmarkDownloadH2(b *testing.B) {
	cert := vmesstest.NewCert(b, "vmess.test", "127.0.0.1")
	src := vmesstest.StartSource(b, benchDownload)
	buf := make([]byte, 64<<10)
	for _, withTLS := range []bool{true, false} {
		name, c := "h2c", (*vmesstest.Cert)(nil)
		if withTLS {
			name, c = "tls", cert
		}
		srv := vmesstest.StartSingServer(b, vmesstest.SingServerOptions{HTTP: &vmesstest.SingHTTPTransport{Cert: c}})
		id, _ := vmess.ParseID(srv.ID)
		b.Run(name+"/xvm", func(b *testing.B) {
			cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port), Network: "h2"}
			if withTLS {
				pinned("")(cfg, cert)
			}
			var total int64
			for b.Loop() {
				vc := xvmDial(b, cfg, id, addrDest(b, src.Addr))
				n, err := io.CopyBuffer(io.Discard, io.LimitReader(vc, benchDownload), buf)
				if err != nil || n != benchDownload {
					b.Fatalf("got %d bytes, %v", n, err)
				}
				total += n
				vc.Close()
			}
			reportThroughput(b, total)
		})
	}
}
