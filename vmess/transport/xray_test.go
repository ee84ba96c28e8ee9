package transport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// transportCase is one stream setting, as the Xray server JSON and as the
// transport.Config our client dials it with.
type transportCase struct {
	name   string
	server func(cert *vmesstest.Cert) string
	client func(cfg *transport.Config, cert *vmesstest.Cert)
	// checks are the tests besides TestVMessOverTransports that run the
	// case: each starts servers of its own, so they take a case or two
	// per transport shape.
	checks checks
	// kcp: the Xray server runs mKCP, whose code races (racesInXray).
	kcp bool
}

// checks is a set of tests that run a transportCase.
type checks uint8

const (
	checkUDP       checks = 1 << iota // TestUDPOverTransports
	checkHalfClose                    // TestHalfCloseReachesEOF
	checkDeadline                     // TestConnDeadlines
)

// with returns tc run also by the tests in c.
func (tc transportCase) with(c checks) transportCase {
	tc.checks |= c
	return tc
}

func tlsServer(cert *vmesstest.Cert, network, extra string, alpn ...string) string {
	s := `{"network":"` + network + `","security":"tls","tlsSettings":` + cert.TLSSettings(alpn...)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func pinned(fp string) func(cfg *transport.Config, cert *vmesstest.Cert) {
	return func(cfg *transport.Config, cert *vmesstest.Cert) {
		cfg.Security = "tls"
		cfg.TLS.ServerName = "vmess.test"
		cfg.TLS.Fingerprint = fp
		cfg.TLS.PinnedPeerCertSHA256 = []string{cert.SHA256}
	}
}

// plainCase is a transportCase without TLS: the server's stream settings
// and what set writes into the client's Config.
func plainCase(name, server string, set func(cfg *transport.Config)) transportCase {
	var stream struct{ Network string }
	json.Unmarshal([]byte(server), &stream) // "" (raw) for no settings
	return transportCase{name: name,
		server: func(*vmesstest.Cert) string { return server },
		client: func(cfg *transport.Config, _ *vmesstest.Cert) { set(cfg) },
		kcp:    stream.Network == "kcp"}
}

// tlsCase is a transportCase over TLS with the test certificate pinned and
// fingerprint fp: the server runs network with the extra settings member,
// the client the same network, and set adds the rest.
func tlsCase(name, fp, network, extra string, set func(cfg *transport.Config)) transportCase {
	return transportCase{name: name,
		server: func(c *vmesstest.Cert) string { return tlsServer(c, network, extra) },
		client: func(cfg *transport.Config, cert *vmesstest.Cert) {
			pinned(fp)(cfg, cert)
			cfg.Network = network
			set(cfg)
		},
		kcp: network == "kcp"}
}

// transportCases covers every supported transport; the servers are
// Xray-core v1.260327.0 VMess inbounds.
func transportCases() []transportCase {
	rawTLS := func(c *vmesstest.Cert) string { return tlsServer(c, "raw", "") }
	return []transportCase{
		plainCase("raw", "", func(*transport.Config) {}).with(checkUDP | checkHalfClose | checkDeadline),
		plainCase("raw-http-header", `{"network":"raw","rawSettings":{"header":{"type":"http","request":{"path":["/a","/b"]}}}}`, func(cfg *transport.Config) {
			cfg.Network = "tcp"
			cfg.Raw = transport.RawConfig{HeaderType: "http", Request: transport.HTTPRequest{Path: []string{"/a", "/b"}}}
		}).with(checkHalfClose),
		plainCase("raw-http-header-custom", `{"network":"tcp","tcpSettings":{"header":{"type":"http","request":{"path":["/x"],"headers":{"Host":["h.example"]}}}}}`, func(cfg *transport.Config) {
			cfg.Raw = transport.RawConfig{HeaderType: "http", Request: transport.HTTPRequest{Method: "GET", Path: []string{"/x"},
				Headers: map[string][]string{"Host": {"h.example"}, "User-Agent": {"a", "b"}}}}
		}),
		{name: "raw-tls-chrome-default", server: rawTLS, client: pinned(""), checks: checkUDP},
		{name: "raw-tls-unsafe", server: rawTLS, client: pinned("unsafe"), checks: checkHalfClose | checkDeadline},
		{name: "raw-tls-firefox", server: rawTLS, client: pinned("firefox")},
		{name: "raw-tls-safari", server: rawTLS, client: pinned("safari")},
		{name: "raw-tls-ios", server: rawTLS, client: pinned("ios")},
		{name: "raw-tls-edge", server: rawTLS, client: pinned("edge")},
		{name: "raw-tls-random", server: rawTLS, client: pinned("random")},
		{name: "raw-tls-randomized", server: rawTLS, client: pinned("randomized")},
		{name: "raw-tls-verify-by-name-pinned-ca", server: rawTLS,
			client: func(cfg *transport.Config, cert *vmesstest.Cert) {
				// The self-signed cert is its own CA: trusted via RootCAs and
				// checked against verifyPeerCertByName instead of SNI.
				pinned("chrome")(cfg, cert)
				cfg.TLS.PinnedPeerCertSHA256 = nil
				cfg.TLS.ServerName = "sni.other"
				cfg.TLS.VerifyPeerCertByName = []string{"nomatch.test", "vmess.test"}
				cfg.TLS.RootCAs = certPool(cert)
			}},
		{name: "raw-tls-allow-insecure", server: rawTLS,
			client: func(cfg *transport.Config, cert *vmesstest.Cert) {
				cfg.Security = "tls"
				cfg.TLS.AllowInsecure = true
			}},
		plainCase("ws", `{"network":"ws","wsSettings":{"path":"/ws"}}`, func(cfg *transport.Config) {
			cfg.Network = "ws"
			cfg.WS = transport.WSConfig{Path: "/ws", Host: "cdn.example", Headers: map[string]string{"X-Test": "1"}}
		}).with(checkDeadline),
		plainCase("ws-early-data", `{"network":"ws","wsSettings":{"path":"/ws?ed=2048"}}`, func(cfg *transport.Config) {
			cfg.Network = "websocket"
			cfg.WS = transport.WSConfig{Path: "/ws?ed=2048"}
		}).with(checkUDP | checkDeadline),
		plainCase("ws-early-data-first-write-too-big", `{"network":"ws","wsSettings":{"path":"/ws"}}`, func(cfg *transport.Config) {
			// The VMess request is larger than 16 bytes: the upgrade
			// goes out without early data and the request follows.
			cfg.Network = "ws"
			cfg.WS = transport.WSConfig{Path: "/ws?ed=16"}
		}),
		tlsCase("ws-tls", "", "ws", `"wsSettings":{"path":"/ws"}`, func(cfg *transport.Config) {
			cfg.WS = transport.WSConfig{Path: "ws"}
		}).with(checkHalfClose | checkDeadline),
		tlsCase("ws-tls-early-data-unsafe", "unsafe", "ws", `"wsSettings":{"path":"/ws"}`, func(cfg *transport.Config) {
			cfg.WS = transport.WSConfig{Path: "/ws?ed=4096"}
		}),
		plainCase("httpupgrade", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/up","host":"cdn.example"}}`, func(cfg *transport.Config) {
			cfg.Network = "httpupgrade"
			cfg.HTTPUpgrade = transport.HTTPUpgradeConfig{Path: "/up", Host: "cdn.example", Headers: map[string]string{"X-Test": "1"}}
		}).with(checkUDP | checkHalfClose | checkDeadline),
		plainCase("httpupgrade-ed-path", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/up?ed=2048"}}`, func(cfg *transport.Config) {
			cfg.Network = "httpupgrade"
			cfg.HTTPUpgrade = transport.HTTPUpgradeConfig{Path: "/up?ed=2048"}
		}),
		tlsCase("httpupgrade-tls", "firefox", "httpupgrade", `"httpupgradeSettings":{"path":"/up"}`, func(cfg *transport.Config) {
			cfg.HTTPUpgrade = transport.HTTPUpgradeConfig{Path: "/up"}
		}),
		plainCase("grpc", `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`, func(cfg *transport.Config) {
			cfg.Network = "grpc"
			cfg.GRPC = transport.GRPCConfig{ServiceName: "gun"}
		}).with(checkUDP | checkHalfClose | checkDeadline),
		plainCase("grpc-multi", `{"network":"grpc","grpcSettings":{"serviceName":"gun","multiMode":true}}`, func(cfg *transport.Config) {
			cfg.Network = "grpc"
			cfg.GRPC = transport.GRPCConfig{ServiceName: "gun", MultiMode: true, Authority: "cdn.example", UserAgent: "golang"}
		}).with(checkHalfClose),
		plainCase("grpc-custom-path", `{"network":"grpc","grpcSettings":{"serviceName":"/my/sample/path1|path2"}}`, func(cfg *transport.Config) {
			cfg.Network = "grpc"
			cfg.GRPC = transport.GRPCConfig{ServiceName: "/my/sample/path1"}
		}),
		plainCase("grpc-custom-path-multi", `{"network":"grpc","grpcSettings":{"serviceName":"/my/sample/path1|path2"}}`, func(cfg *transport.Config) {
			cfg.Network = "grpc"
			cfg.GRPC = transport.GRPCConfig{ServiceName: "/my/sample/path2", MultiMode: true}
		}),
		tlsCase("grpc-tls", "", "grpc", `"grpcSettings":{"serviceName":"gun"}`, func(cfg *transport.Config) {
			cfg.GRPC = transport.GRPCConfig{ServiceName: "gun"}
		}),
		tlsCase("grpc-tls-multi-unsafe", "unsafe", "grpc", `"grpcSettings":{"serviceName":"gun","multiMode":true}`, func(cfg *transport.Config) {
			cfg.GRPC = transport.GRPCConfig{ServiceName: "gun", MultiMode: true}
		}).with(checkUDP | checkDeadline),
		// XHTTP's packet-up is proven in TestXHTTPOverXray (Xray's
		// packet-up server races under -race); the streaming modes here.
		plainCase("xhttp-stream-one", `{"network":"xhttp","xhttpSettings":{"path":"/x"}}`, func(cfg *transport.Config) {
			cfg.Network = "xhttp"
			cfg.XHTTP = transport.XHTTPConfig{Path: "/x", Mode: "stream-one"}
		}).with(checkUDP | checkHalfClose | checkDeadline),
		plainCase("xhttp-h2c-stream-up", `{"network":"splithttp","splithttpSettings":{"path":"/x"}}`, func(cfg *transport.Config) {
			cfg.Network = "splithttp"
			cfg.XHTTP = transport.XHTTPConfig{Path: "/x", Mode: "stream-up", H2C: true}
		}).with(checkUDP | checkHalfClose | checkDeadline),
		tlsCase("xhttp-tls-stream-one", "", "xhttp", `"xhttpSettings":{"path":"/x"}`, func(cfg *transport.Config) {
			cfg.XHTTP = transport.XHTTPConfig{Path: "x", Mode: "stream-one"}
		}).with(checkUDP | checkHalfClose | checkDeadline),
		plainCase("kcp", `{"network":"kcp","finalmask":{"udp":[{"type":"mkcp-original"}]}}`, func(cfg *transport.Config) {
			cfg.Network = "kcp"
			cfg.KCP = transport.KCPConfig{HeaderType: "none"}
		}).with(checkUDP | checkDeadline),
		tlsCase("kcp-tls-seed", "", "kcp", `"finalmask":{"udp":[{"type":"header-wechat"},{"type":"mkcp-aes128gcm","settings":{"password":"s"}}]}`, func(cfg *transport.Config) {
			cfg.KCP = transport.KCPConfig{HeaderType: "wechat-video", Seed: "s"}
		}).with(checkUDP | checkDeadline),
	}
}

// racesInXray reports, under -race, a test whose Xray server races in
// its own code (see race_on_test.go): an mKCP server (kcp). It logs why
// the test is left out.
func racesInXray(t *testing.T, kcp bool) bool {
	t.Helper()
	if vmesstest.XrayRaceFree || !kcp {
		return false
	}
	t.Log("not run under -race: Xray-core's mKCP server reads its receiving worker's leftOver outside its lock, so the race detector would fail this test on Xray's code; the default run covers it")
	return true
}

func certPool(cert *vmesstest.Cert) *x509CertPool {
	return newPool(cert.DER)
}

// clientConfig is the transport.Config for srv with tc's settings.
func clientConfig(t testing.TB, srv *vmesstest.Server, tc transportCase, cert *vmesstest.Cert) *transport.Config {
	t.Helper()
	cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port)}
	tc.client(cfg, cert)
	return cfg
}

func echoDest(t testing.TB, echo *vmesstest.EchoServer) vmess.Destination {
	t.Helper()
	host, port, err := net.SplitHostPort(echo.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return vmess.Destination{Network: vmess.NetworkTCP, Host: host, Port: uint16(p)}
}

// TestVMessOverTransports dials each transport to an Xray VMess inbound
// with the same stream settings and moves data both ways through an echo
// destination, with two body securities.
func TestVMessOverTransports(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	for _, tc := range transportCases() {
		t.Run(tc.name, func(t *testing.T) {
			if racesInXray(t, tc.kcp) {
				return
			}
			srv := startServer(t, tc.server(cert))
			id, err := vmess.ParseID(srv.ID)
			if err != nil {
				t.Fatal(err)
			}
			secs := shortened([]vmess.Security{vmess.SecurityAES128GCM, vmess.SecurityChaCha20Poly1305}, func(s vmess.Security) bool { return s == vmess.SecurityAES128GCM })
			for _, sec := range secs {
				t.Run(sec.String(), func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					phases := map[transport.Phase]bool{}
					var mu sync.Mutex
					trace := &transport.Trace{PhaseDone: func(p transport.Phase, start, end time.Time) {
						mu.Lock()
						defer mu.Unlock()
						if end.Before(start) {
							t.Errorf("phase %s ends before it starts", p)
						}
						phases[p] = true
					}}
					cfg := clientConfig(t, srv, tc, cert)
					conn, err := transport.Dial(ctx, cfg, trace)
					if err != nil {
						t.Fatalf("Dial: %v", err)
					}
					defer conn.Close()
					conn.SetDeadline(time.Now().Add(10 * time.Second))
					vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: sec}, echoDest(t, echo), nil)
					if err != nil {
						t.Fatal(err)
					}
					roundTrip(t, vc, 200<<10)
					mu.Lock()
					defer mu.Unlock()
					if !phases[transport.PhaseConnect] {
						t.Error("connect phase not reported")
					}
					if cfg.Security == "tls" && !phases[transport.PhaseTLS] {
						t.Error("tls phase not reported")
					}
					// mKCP has no handshake, so no upgrade phase.
					if n := cfg.Network; n != "" && n != "tcp" && n != "raw" && n != "kcp" && !phases[transport.PhaseUpgrade] {
						t.Error("upgrade phase not reported")
					}
				})
			}
		})
	}
}

// roundTrip writes n random bytes in uneven pieces while reading the echo
// back and checks every byte. (It does not wait for the end of stream:
// Xray holds a half-closed session for its 1 s uplinkOnly policy.)
func roundTrip(t *testing.T, c *vmess.Conn, n int) {
	t.Helper()
	want := make([]byte, n)
	rand.Read(want)
	errc := make(chan error, 1)
	go func() {
		b := want
		for i := 1; len(b) > 0; i++ {
			k := min(len(b), i*997%40000+1)
			if _, err := c.Write(b[:k]); err != nil {
				errc <- fmt.Errorf("write: %w", err)
				return
			}
			b = b[k:]
		}
		errc <- nil
	}()
	got := make([]byte, n)
	if k, err := io.ReadFull(c, got); err != nil {
		got = got[:k]
		t.Fatalf("read after %d bytes: %v", len(got), err)
	}
	if werr := <-errc; werr != nil {
		t.Fatal(werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo differs: got %d bytes, want %d", len(got), len(want))
	}
}

// startServer starts an Xray VMess server with the stream settings and
// waits until it accepts TCP: Xray's gRPC inbound starts listening
// asynchronously after Start returns.
func startServer(t testing.TB, streamSettings string) *vmesstest.Server {
	t.Helper()
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{StreamSettings: streamSettings})
	if !strings.Contains(streamSettings, "grpc") {
		// Other inbounds listen before Start returns; a probing
		// connection would only make them log a failed handshake.
		return srv
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", srv.Addr, time.Second)
		if err == nil {
			c.Close()
			return srv
		}
		if time.Now().After(deadline) {
			t.Fatalf("xray server at %s never accepted: %v", srv.Addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestUDPOverTransports sends VMess UDP datagrams through each transport
// to a UDP echo behind the Xray server: datagram boundaries must survive
// the WebSocket messages, gRPC hunks and TLS records underneath.
func TestUDPOverTransports(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartUDPEcho(t)
	host, port, _ := net.SplitHostPort(echo.Addr)
	p, _ := strconv.Atoi(port)
	dest := vmess.Destination{Network: vmess.NetworkUDP, Host: host, Port: uint16(p)}
	for _, tc := range transportCases() {
		if tc.checks&checkUDP == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			if racesInXray(t, tc.kcp) {
				return
			}
			srv := startServer(t, tc.server(cert))
			id, _ := vmess.ParseID(srv.ID)
			conn := dialTransport(t, clientConfig(t, srv, tc, cert))
			pc, err := vmess.ClientPacket(conn, vmess.Account{ID: id, Security: vmess.SecurityChaCha20Poly1305}, dest, nil)
			if err != nil {
				t.Fatal(err)
			}
			pc.SetDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 2048)
			for _, size := range []int{1, 100, 1400, 7, 1200} {
				msg := make([]byte, size)
				rand.Read(msg)
				if _, err := pc.WriteTo(msg, nil); err != nil {
					t.Fatalf("write %d: %v", size, err)
				}
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					t.Fatalf("read %d: %v", size, err)
				}
				if !bytes.Equal(buf[:n], msg) {
					t.Fatalf("datagram of %d bytes came back as %d bytes", size, n)
				}
			}
		})
	}
}

// TestHalfCloseReachesEOF sends data, half-closes, and reads the echo to
// a clean io.EOF: the end of stream must travel through each transport
// (TLS close_notify, WebSocket close, gRPC END_STREAM and trailers).
func TestHalfCloseReachesEOF(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	for _, tc := range transportCases() {
		if tc.checks&checkHalfClose == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			// Servers start before the subtests go parallel: core.New
			// writes Xray's process-wide system dialer
			// (internet.InitSystemDialer), which -race reports when two
			// instances start, or one starts while another dials.
			srv := startServer(t, tc.server(cert))
			t.Parallel() // Xray holds each half-closed session for 1 s
			id, _ := vmess.ParseID(srv.ID)
			conn := dialTransport(t, clientConfig(t, srv, tc, cert))
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, echoDest(t, echo), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.Repeat([]byte("half-close "), 3000)
			if _, err := vc.Write(want); err != nil {
				t.Fatal(err)
			}
			if err := vc.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(vc)
			if err != nil {
				t.Fatalf("read after %d bytes: %v", len(got), err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}
