package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// phaseOf returns the phase of a *transport.Error in err's chain.
func phaseOf(t *testing.T, err error) *transport.Error {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *transport.Error", err, err)
	}
	return te
}

// vmessHandshake runs a VMess handshake over conn to an echo destination
// and returns its error.
func vmessHandshake(t *testing.T, conn net.Conn, srv *vmesstest.Server, echo *vmesstest.EchoServer, timeout time.Duration) error {
	t.Helper()
	id, err := vmess.ParseID(srv.ID)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, echoDest(t, echo), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := vc.Write([]byte("ping")); err != nil {
		return err
	}
	return vc.HandshakeContext(ctx)
}

// TestFailuresNamePhase checks that misconfigurations against real Xray
// servers end, within the deadline, in an error naming the failing phase.
func TestFailuresNamePhase(t *testing.T) {
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	other := vmesstest.NewCert(t, "vmess.test")
	echo := vmesstest.StartEcho(t)
	const deadline = 3 * time.Second
	tests := []struct {
		name   string
		server string
		client func(*transport.Config)
		// phase is the expected failing phase; inDial tells whether Dial
		// itself fails or the error shows up in the VMess handshake that
		// follows (early data, or gRPC, whose server answers the stream
		// only with data).
		phase  transport.Phase
		inDial bool
		text   string
	}{
		{"ws-wrong-path", `{"network":"ws","wsSettings":{"path":"/ws"}}`,
			func(c *transport.Config) { c.Network = "ws"; c.WS.Path = "/wrong" },
			transport.PhaseUpgrade, true, "404"},
		{"ws-wrong-path-early-data", `{"network":"ws","wsSettings":{"path":"/ws"}}`,
			func(c *transport.Config) { c.Network = "ws"; c.WS.Path = "/wrong?ed=2048" },
			transport.PhaseUpgrade, false, "404"},
		{"httpupgrade-wrong-path", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/up"}}`,
			func(c *transport.Config) { c.Network = "httpupgrade"; c.HTTPUpgrade.Path = "/wrong" },
			transport.PhaseUpgrade, true, "path"},
		{"grpc-wrong-service", `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`,
			func(c *transport.Config) { c.Network = "grpc"; c.GRPC.ServiceName = "nope" },
			transport.PhaseUpgrade, false, "serviceName"},
		{"grpc-multi-wrong-service", `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`,
			func(c *transport.Config) { c.Network = "grpc"; c.GRPC.ServiceName = "nope"; c.GRPC.MultiMode = true },
			transport.PhaseUpgrade, false, "serviceName"},
		{"pin-mismatch", tlsServer(cert, "raw", ""),
			func(c *transport.Config) {
				c.Security = "tls"
				c.TLS.ServerName = "vmess.test"
				c.TLS.PinnedPeerCertSHA256 = []string{other.SHA256}
			},
			transport.PhaseTLS, true, "pinnedPeerCertSha256"},
		{"pin-mismatch-unsafe", tlsServer(cert, "ws", `"wsSettings":{"path":"/ws"}`),
			func(c *transport.Config) {
				c.Network, c.WS.Path = "ws", "/ws"
				c.Security = "tls"
				c.TLS.Fingerprint = "unsafe"
				c.TLS.PinnedPeerCertSHA256 = []string{other.SHA256}
			},
			transport.PhaseTLS, true, "pinnedPeerCertSha256"},
		{"alpn-mismatch-unsafe", tlsServer(cert, "raw", "", "h2"),
			func(c *transport.Config) {
				// Go's crypto/tls sends the configured ALPN list as is.
				c.Security = "tls"
				c.TLS = transport.TLSConfig{ServerName: "vmess.test", Fingerprint: "unsafe", ALPN: []string{"xvm/1"},
					PinnedPeerCertSHA256: []string{cert.SHA256}}
			},
			transport.PhaseTLS, true, "application protocol"},
		{"untrusted-cert-no-pin", tlsServer(cert, "raw", ""),
			func(c *transport.Config) { c.Security = "tls"; c.TLS.ServerName = "vmess.test" },
			transport.PhaseTLS, true, "certificate"},
		{"tls-client-plain-ws-server", `{"network":"ws","wsSettings":{"path":"/ws"}}`,
			func(c *transport.Config) { c.Network, c.WS.Path, c.Security = "ws", "/ws", "tls" },
			transport.PhaseTLS, true, ""},
		{"tls-client-plain-grpc-server", `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`,
			func(c *transport.Config) { c.Network, c.GRPC.ServiceName, c.Security = "grpc", "gun", "tls" },
			transport.PhaseTLS, true, ""},
		{"tls-client-plain-raw-server", ``,
			func(c *transport.Config) { c.Security = "tls" },
			transport.PhaseTLS, true, ""},
		{"plain-client-tls-ws-server", tlsServer(cert, "ws", `"wsSettings":{"path":"/ws"}`),
			func(c *transport.Config) { c.Network, c.WS.Path = "ws", "/ws" },
			transport.PhaseUpgrade, true, ""},
		{"plain-client-tls-httpupgrade-server", tlsServer(cert, "httpupgrade", `"httpupgradeSettings":{"path":"/up"}`),
			func(c *transport.Config) { c.Network, c.HTTPUpgrade.Path = "httpupgrade", "/up" },
			transport.PhaseUpgrade, true, ""},
		{"plain-client-tls-grpc-server", tlsServer(cert, "grpc", `"grpcSettings":{"serviceName":"gun"}`),
			func(c *transport.Config) { c.Network, c.GRPC.ServiceName = "grpc", "gun" },
			transport.PhaseUpgrade, true, ""},
		{"ws-client-grpc-server", `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`,
			func(c *transport.Config) { c.Network, c.WS.Path = "ws", "/gun" },
			transport.PhaseUpgrade, true, ""},
		{"grpc-client-ws-server", `{"network":"ws","wsSettings":{"path":"/ws"}}`,
			func(c *transport.Config) { c.Network, c.GRPC.ServiceName = "grpc", "ws" },
			transport.PhaseUpgrade, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.server)
			cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port)}
			tt.client(cfg)
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			conn, err := transport.Dial(ctx, cfg, nil)
			if tt.inDial {
				if err == nil {
					conn.Close()
					t.Fatal("Dial succeeded, want an error")
				}
			} else {
				if err != nil {
					t.Fatalf("Dial: %v (the failure should show in the VMess handshake)", err)
				}
				defer conn.Close()
				err = vmessHandshake(t, conn, srv, echo, deadline)
				if err == nil {
					t.Fatal("VMess handshake succeeded, want an error")
				}
			}
			if el := time.Since(start); el > deadline+time.Second {
				t.Errorf("failed after %v, deadline was %v", el, deadline)
			}
			te := phaseOf(t, err)
			if te.Phase != tt.phase {
				t.Errorf("phase %q, want %q (error: %v)", te.Phase, tt.phase, err)
			}
			if !strings.Contains(err.Error(), string(tt.phase)) {
				t.Errorf("error %q does not name phase %q", err, tt.phase)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
			t.Logf("%v", err)
		})
	}
}

// TestPlainRawClientToTLSServer documents that raw TCP without TLS has
// nothing to check at the transport layer: Dial succeeds and the VMess
// client is the one that notices the server is not speaking VMess.
func TestPlainRawClientToTLSServer(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test")
	echo := vmesstest.StartEcho(t)
	srv := startServer(t, tlsServer(cert, "raw", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, &transport.Config{Address: srv.Host, Port: uint16(srv.Port)}, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer conn.Close()
	err = vmessHandshake(t, conn, srv, echo, 3*time.Second)
	if !errors.Is(err, vmess.ErrNoResponse) && !errors.Is(err, vmess.ErrProtocol) && !errors.Is(err, vmess.ErrResponseMismatch) {
		t.Fatalf("handshake error %v, want a VMess protocol error", err)
	}
}

// silentServer accepts TCP connections and never sends a byte.
func silentServer(t *testing.T) *net.TCPAddr {
	t.Helper()
	return loopbackAddr(t, vmesstest.StartBlackhole(t))
}

// TestDeadlines checks that every phase gives up at the context deadline
// against a peer that never answers, with an error that says timeout.
func TestDeadlines(t *testing.T) {
	addr := silentServer(t)
	// A DNS server that reads queries and never answers.
	dns, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() }) // after the parallel subtests
	silentResolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns.LocalAddr().String())
	}}
	tests := []struct {
		name  string
		cfg   transport.Config
		phase transport.Phase
	}{
		{"dns", transport.Config{Address: "server.invalid", Resolver: silentResolver}, transport.PhaseDNS},
		{"connect", transport.Config{NetDialer: blockingDialer{}}, transport.PhaseConnect},
		{"tls-utls", transport.Config{Security: "tls"}, transport.PhaseTLS},
		{"tls-go", transport.Config{Security: "tls", TLS: transport.TLSConfig{Fingerprint: "unsafe"}}, transport.PhaseTLS},
		{"ws", transport.Config{Network: "ws"}, transport.PhaseUpgrade},
		{"httpupgrade", transport.Config{Network: "httpupgrade"}, transport.PhaseUpgrade},
		{"grpc", transport.Config{Network: "grpc"}, transport.PhaseUpgrade},
		{"xhttp", transport.Config{Network: "xhttp"}, transport.PhaseUpgrade},
		{"xhttp-stream-one", transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{Mode: "stream-one"}}, transport.PhaseUpgrade},
		{"xhttp-h2c", transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{H2C: true}}, transport.PhaseUpgrade},
		{"kcp-tls", transport.Config{Network: "kcp", Security: "tls"}, transport.PhaseTLS},
		{"h2c", transport.Config{Network: "h2"}, transport.PhaseUpgrade},
	}
	udpPort := silentUDP(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each waits out its own deadline
			cfg := tt.cfg
			if cfg.Address == "" {
				cfg.Address = "127.0.0.1"
			}
			cfg.Port = uint16(addr.Port)
			if cfg.Network == "kcp" {
				cfg.Port = uint16(udpPort)
			}
			// The upper bound is loose: test machines are shared and busy.
			const d = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			start := time.Now()
			conn, err := transport.Dial(ctx, &cfg, nil)
			el := time.Since(start)
			if err == nil {
				conn.Close()
				t.Fatal("Dial succeeded against a silent server")
			}
			te := phaseOf(t, err)
			if te.Phase != tt.phase {
				t.Errorf("phase %q, want %q (%v)", te.Phase, tt.phase, err)
			}
			if !te.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v is not a timeout", err)
			}
			if el < d-10*time.Millisecond || el > d+1500*time.Millisecond {
				t.Errorf("gave up after %v, deadline %v", el, d)
			}
		})
	}
}

// blockingDialer waits for the context like a SYN that is never answered.
type blockingDialer struct{}

func (blockingDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = transport.Dial(context.Background(), &transport.Config{Address: "127.0.0.1", Port: uint16(port)}, nil)
	te := phaseOf(t, err)
	if te.Phase != transport.PhaseConnect || !te.Refused() || te.Timeout() {
		t.Fatalf("got %v (phase %s, refused %v), want a refused connect", err, te.Phase, te.Refused())
	}
}

// TestUnsupported checks that every stream setting xvm cannot dial is
// named in a typed error before any I/O.
func TestUnsupported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		network, security, want string
	}{
		{"hysteria", "", `network "hysteria"`},
		{"quic", "", `network "quic"`},
		{"h3", "tls", `network "h3"`},
		{"domainsocket", "", `network "domainsocket"`},
		{"raw", "reality", `security "reality"`},
		{"grpc", "REALITY", `security "REALITY"`},
		{"ws", "xtls", `security "xtls"`},
	}
	for _, tt := range tests {
		t.Run(tt.network+"+"+tt.security, func(t *testing.T) {
			// Port 9 on loopback: a dial would be refused, so an error
			// without a connect phase proves no I/O happened.
			_, err := transport.Dial(context.Background(), &transport.Config{
				Address: "127.0.0.1", Port: 9, Network: tt.network, Security: tt.security}, nil)
			var ue *transport.UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not an *UnsupportedError", err)
			}
			if te := phaseOf(t, err); te.Phase != transport.PhaseConfig {
				t.Errorf("phase %q, want config", te.Phase)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "not supported") {
				t.Errorf("error %q does not name %s as unsupported", err, tt.want)
			}
		})
	}
}

// TestUnsupportedSettings: settings that change what the connection is
// (Encrypted Client Hello, chaining through another outbound) are refused
// by name before any I/O rather than silently ignored.
func TestUnsupportedSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  transport.Config
		want string // in the error; "" means Dial does not refuse
	}{
		{"ech", transport.Config{Security: "tls", TLS: transport.TLSConfig{ECHConfigList: "AEn+DQBFKwAgACABWIHUGj4u+PIggYXcR5JF0gYk3dCRioBW8uJq9H4mKAAIAAEAAQABAANAEnB1YmxpYy50bHMtZWNoLmRldgAA"}}, "echConfigList"},
		{"ech-dns-query", transport.Config{Network: "ws", Security: "TLS", TLS: transport.TLSConfig{ECHConfigList: "udp://1.1.1.1"}}, "echConfigList"},
		{"ech-without-tls", transport.Config{TLS: transport.TLSConfig{ECHConfigList: "udp://1.1.1.1"}}, ""}, // Xray reads tlsSettings only with security tls
		{"dialer-proxy", transport.Config{Sockopt: transport.SockoptConfig{DialerProxy: "chain"}}, `sockopt.dialerProxy "chain"`},
		{"dialer-proxy-grpc-tls", transport.Config{Network: "grpc", Security: "tls", Sockopt: transport.SockoptConfig{DialerProxy: "x"}}, "sockopt.dialerProxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			// Port 9 on loopback: a dial would be refused, so an error
			// without a connect phase proves no I/O happened.
			cfg.Address, cfg.Port = "127.0.0.1", 9
			_, err := transport.Dial(context.Background(), &cfg, nil)
			te := phaseOf(t, err)
			var ue *transport.UnsupportedError
			if tt.want == "" {
				if errors.As(err, &ue) || te.Phase == transport.PhaseConfig {
					t.Fatalf("Dial refused the config: %v", err)
				}
				return
			}
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not an *UnsupportedError", err)
			}
			if te.Phase != transport.PhaseConfig {
				t.Errorf("phase %q, want config", te.Phase)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "not supported") {
				t.Errorf("error %q does not name %s as unsupported", err, tt.want)
			}
			if strings.Contains(err.Error(), "use raw, ws") {
				t.Errorf("error %q suggests other networks for a setting that has nothing to do with them", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  transport.Config
		want string
	}{
		{"bad-fingerprint", transport.Config{Port: 9, Security: "tls", TLS: transport.TLSConfig{Fingerprint: "netscape"}}, "fingerprint"},
		{"bad-pin", transport.Config{Port: 9, Security: "tls", TLS: transport.TLSConfig{PinnedPeerCertSHA256: []string{"abcd"}}}, "pinnedPeerCertSha256"},
		{"bad-header", transport.Config{Port: 9, Raw: transport.RawConfig{HeaderType: "srtp"}}, "header.type"},
		{"no-port", transport.Config{Port: 0}, "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Address = "127.0.0.1"
			_, err := transport.Dial(context.Background(), &cfg, nil)
			if te := phaseOf(t, err); te.Phase != transport.PhaseConfig {
				t.Errorf("phase %q, want config (%v)", te.Phase, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  transport.Config
		want []string
	}{
		{"none", transport.Config{Security: "tls"}, nil},
		{"allow-insecure", transport.Config{Security: "tls", TLS: transport.TLSConfig{AllowInsecure: true}}, []string{"allowInsecure"}},
		{"allow-insecure-without-tls", transport.Config{TLS: transport.TLSConfig{AllowInsecure: true}}, nil},
		{"ws-host-header", transport.Config{Network: "ws", WS: transport.WSConfig{Headers: map[string]string{"host": "a"}}}, []string{"Host"}},
		{"httpupgrade-ed", transport.Config{Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/u?ed=2048"}}, []string{"early data"}},
		{"ws-ed", transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/u?ed=2048"}}, nil},
		{"h2-tls", transport.Config{Network: "http", Security: "tls"}, []string{"removed the HTTP/2 transport"}},
		{"h2c", transport.Config{Network: "h2"}, []string{"removed the HTTP/2 transport", "h2c"}},
		{"xhttp-h2c", transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{H2C: true}}, []string{"h2c"}},
		{"xhttp-h2c-tls", transport.Config{Network: "xhttp", Security: "tls", XHTTP: transport.XHTTPConfig{H2C: true}}, nil},
		{"kcp-legacy", transport.Config{Network: "mkcp", KCP: transport.KCPConfig{Seed: "s"}}, []string{"seed"}},
		{"kcp-finalmask", transport.Config{Network: "kcp", FinalMask: []byte(`{"udp":[{"type":"mkcp-original"}]}`), KCP: transport.KCPConfig{Seed: "s"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.Warnings()
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %d mentioning %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q does not mention %q", got[i], w)
				}
			}
		})
	}
}

// TestConnDeadlines checks that a read deadline on the dialed stream
// interrupts a VMess session whose destination never answers, with
// os.ErrDeadlineExceeded, on every transport.
func TestConnDeadlines(t *testing.T) {
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	silent := silentServer(t)
	dest := vmess.Destination{Network: vmess.NetworkTCP, Host: "127.0.0.1", Port: uint16(silent.Port)}
	for _, tc := range transportCases() {
		if tc.checks&checkDeadline == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			if racesInXray(t, tc.kcp) {
				return
			}
			t.Parallel() // each waits out its own deadline
			srv := startServer(t, tc.server(cert))
			id, _ := vmess.ParseID(srv.ID)
			cfg := clientConfig(t, srv, tc, cert)
			conn := dialTransport(t, cfg)
			vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, dest, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := vc.Write([]byte("hello?")); err != nil {
				t.Fatal(err)
			}
			// The upper bound is loose: test machines are shared and busy.
			const d = 300 * time.Millisecond
			start := time.Now()
			vc.SetReadDeadline(start.Add(d))
			_, err = vc.Read(make([]byte, 10))
			el := time.Since(start)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Read error %v, want os.ErrDeadlineExceeded", err)
			}
			var te *transport.Error
			if errors.As(err, &te) {
				t.Errorf("a timeout after Dial is not a transport phase failure: %v", err)
			}
			if el < d-10*time.Millisecond || el > d+1500*time.Millisecond {
				t.Errorf("Read returned after %v, deadline %v", el, d)
			}
		})
	}
}

// startDNS serves A records for every name from a UDP socket on loopback.
func startDNS(t *testing.T, answer [4]byte) *net.Resolver {
	return startDNSMulti(t, answer)
}

// startDNSMulti answers every A query with all the given addresses.
func startDNSMulti(t *testing.T, answers ...[4]byte) *net.Resolver {
	t.Helper()
	return vmesstest.StartDNS(t, answers...).Resolver()
}

// TestDNSPhase dials a domain through an injected resolver and checks
// that every phase is reported in order, end to end through Xray.
func TestDNSPhase(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test")
	echo := vmesstest.StartEcho(t)
	srv := startServer(t, tlsServer(cert, "ws", `"wsSettings":{"path":"/ws"}`))
	var order []transport.Phase
	var last time.Time
	trace := &transport.Trace{PhaseDone: func(p transport.Phase, start, end time.Time) {
		if start.Before(last) {
			t.Errorf("phase %s starts before the previous one ended", p)
		}
		last = end
		order = append(order, p)
	}}
	cfg := &transport.Config{Address: "vmess.test", Port: uint16(srv.Port), Network: "ws", Security: "tls",
		Resolver: startDNS(t, [4]byte{127, 0, 0, 1}),
		WS:       transport.WSConfig{Path: "/ws"},
		TLS:      transport.TLSConfig{PinnedPeerCertSHA256: []string{strings.ToUpper(cert.SHA256[:2]) + ":" + cert.SHA256[2:]}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, cfg, trace)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := vmessHandshake(t, conn, srv, echo, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	want := []transport.Phase{transport.PhaseDNS, transport.PhaseConnect, transport.PhaseTLS, transport.PhaseUpgrade}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("phases %v, want %v", order, want)
	}
}

// stallFirstDialer never connects to the first address it is given and
// records every address tried.
type stallFirstDialer struct{ tried *[]string }

func (s stallFirstDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	*s.tried = append(*s.tried, addr)
	if len(*s.tried) == 1 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// TestConnectFallsBack checks that a resolved name whose first address
// never answers still connects through the next one within the deadline.
func TestConnectFallsBack(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "")
	var tried []string
	cfg := &transport.Config{Address: "two.test", Port: uint16(srv.Port),
		Resolver: startDNSMulti(t, [4]byte{127, 0, 0, 2}, [4]byte{127, 0, 0, 1}), NetDialer: stallFirstDialer{&tried}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("Dial: %v (tried %v)", err, tried)
	}
	conn.Close()
	if len(tried) != 2 {
		t.Errorf("tried %v, want two addresses", tried)
	}
}
