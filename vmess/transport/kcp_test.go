package transport_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// kcpMaskCases are the finalmask.udp lists the server runs with and how
// the client says the same: as finalmask, or in the legacy header.type
// and seed form that links carry.
type kcpMaskCase struct {
	name   string
	server string // finalmask JSON, "" for none
	client func(*transport.Config)
	short  bool // kept under -short
}

var kcpMaskCases = []kcpMaskCase{
	{"none", "", func(*transport.Config) {}, false},
	{"original", `{"udp":[{"type":"mkcp-original"}]}`, func(c *transport.Config) { c.FinalMask = []byte(`{"udp":[{"type":"mkcp-original"}]}`) }, true},
	{"legacy-none", `{"udp":[{"type":"mkcp-original"}]}`, func(c *transport.Config) { c.KCP.HeaderType = "none" }, false},
	{"legacy-srtp", `{"udp":[{"type":"header-srtp"},{"type":"mkcp-original"}]}`, func(c *transport.Config) { c.KCP.HeaderType = "srtp" }, true},
	{"legacy-utp", `{"udp":[{"type":"header-utp"},{"type":"mkcp-original"}]}`, func(c *transport.Config) { c.KCP.HeaderType = "utp" }, false},
	{"legacy-wechat-video", `{"udp":[{"type":"header-wechat"},{"type":"mkcp-original"}]}`, func(c *transport.Config) { c.KCP.HeaderType = "wechat-video" }, false},
	{"legacy-dtls", `{"udp":[{"type":"header-dtls"},{"type":"mkcp-original"}]}`, func(c *transport.Config) { c.KCP.HeaderType = "dtls" }, false},
	{"legacy-wireguard", `{"udp":[{"type":"header-wireguard"},{"type":"mkcp-original"}]}`, func(c *transport.Config) { c.KCP.HeaderType = "wireguard" }, false},
	{"legacy-dns", `{"udp":[{"type":"header-dns","settings":{"domain":"q.example"}},{"type":"mkcp-original"}]}`, func(c *transport.Config) {
		c.KCP.HeaderType, c.KCP.HeaderDomain = "dns", "q.example"
	}, false},
	{"legacy-seed", `{"udp":[{"type":"mkcp-aes128gcm","settings":{"password":"a seed"}}]}`, func(c *transport.Config) { c.KCP.Seed = "a seed" }, true},
	{"finalmask-dns-default-domain", `{"udp":[{"type":"header-dns"},{"type":"mkcp-aes128gcm","settings":{"password":"p"}}]}`, func(c *transport.Config) {
		c.FinalMask = []byte(`{"udp":[{"type":"header-dns"},{"type":"mkcp-aes128gcm","settings":{"password":"p"}}]}`)
	}, false},
}

// kcpServer is an Xray mKCP inbound with the masks and, when cert is
// set, TLS.
func kcpServer(t *testing.T, mask string, cert *vmesstest.Cert) *vmesstest.Server {
	t.Helper()
	extra := ""
	if mask != "" {
		extra = `"finalmask":` + mask
	}
	if cert != nil {
		return startServer(t, tlsServer(cert, "kcp", extra))
	}
	if extra != "" {
		extra = "," + extra
	}
	return startServer(t, `{"network":"kcp"`+extra+`}`)
}

// TestKCPOverXray runs VMess sessions over mKCP with every mask (as
// finalmask and in the legacy forms) without and with TLS, with every
// body security, against Xray mKCP inbounds.
func TestKCPOverXray(t *testing.T) {
	t.Parallel()
	if racesInXray(t, true) {
		return
	}
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	masks := shortened(kcpMaskCases, func(mc kcpMaskCase) bool { return mc.short })
	for _, mc := range masks {
		for _, withTLS := range []bool{false, true} {
			name := mc.name
			var srvCert *vmesstest.Cert
			if withTLS {
				name += "/tls"
				srvCert = cert
			}
			srv := kcpServer(t, mc.server, srvCert)
			for _, sec := range testSecurities() {
				t.Run(name+"/"+sec.String(), func(t *testing.T) {
					t.Parallel()
					cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port), Network: "mkcp"}
					if withTLS {
						pinned("")(cfg, cert)
					}
					mc.client(cfg)
					conn := dialTransport(t, cfg)
					sessionTest(t, conn, srv.ID, sec, echo, 64<<10)
				})
			}
		}
	}
}

// TestKCPLossyPath moves 8 MiB each way through mKCP over a relay that
// drops 5 % of the datagrams in each direction and delivers another 5 %
// out of order.
func TestKCPLossyPath(t *testing.T) {
	t.Parallel()
	if racesInXray(t, true) {
		return
	}
	echo := vmesstest.StartEcho(t)
	srv := kcpServer(t, `{"udp":[{"type":"header-srtp"},{"type":"mkcp-original"}]}`, nil)
	relay := vmesstest.StartLossyUDPRelay(t, srv.Addr, vmesstest.LossyOptions{Drop: 0.05, Reorder: 0.05, Seed: 15})
	cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(vmesstest.Port(t, relay.Addr)), Network: "kcp",
		KCP: transport.KCPConfig{HeaderType: "srtp"}}
	conn := dialTransport(t, cfg)
	id, _ := vmess.ParseID(srv.ID)
	// Generous: only a hang should fail this.
	conn.SetDeadline(time.Now().Add(90 * time.Second))
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, echoDest(t, echo), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n := shortSize(8<<20, 1<<20)
	roundTrip(t, vc, n)
	dropped, reordered, passed := relay.Dropped.Load(), relay.Reordered.Load(), relay.Passed.Load()
	t.Logf("%d KiB each way in %v; datagrams passed %d, dropped %d, reordered %d", n>>10, time.Since(start).Round(time.Millisecond), passed, dropped, reordered)
	if total := dropped + passed + reordered; dropped*100 < 3*total || reordered*100 < 3*total {
		t.Errorf("the relay dropped %d and reordered %d of %d datagrams; the test wants about 5 %% each", dropped, reordered, total)
	}
}

// silentUDP is the port of a UDP socket on loopback that reads and
// never answers.
func silentUDP(t *testing.T) int { return vmesstest.StartSilentUDP(t).Port }

// TestKCPFailuresNamePhase: TLS over mKCP to a server without TLS (which
// takes the ClientHello for a VMess request and, as Xray does with a bad
// request, waits), or with other masks (it drops every datagram), or to a
// silent port, fails in the tls phase at the deadline; mKCP itself has no
// handshake to fail.
func TestKCPFailuresNamePhase(t *testing.T) {
	t.Parallel()
	if racesInXray(t, true) {
		return
	}
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	plain := kcpServer(t, "", nil)
	masked := kcpServer(t, `{"udp":[{"type":"mkcp-aes128gcm","settings":{"password":"right"}}]}`, cert)
	closed := silentUDP(t)
	tests := []struct {
		name   string
		port   int
		client func(*transport.Config)
		// timeout: whether the phase must end at the deadline; Xray
		// answers a bad VMess request (the ClientHello) by draining a
		// random amount and then closing, or by waiting, so for
		// tls-client-plain-server either is right.
		timeout *bool
		text    string
	}{
		{"tls-client-plain-server", plain.Port, func(c *transport.Config) {}, nil, "tls"},
		{"wrong-seed", masked.Port, func(c *transport.Config) { c.KCP.Seed = "wrong" }, &timedOut, ""},
		{"no-mask-client", masked.Port, func(c *transport.Config) {}, &timedOut, ""},
		{"silent-port", closed, func(c *transport.Config) {}, &timedOut, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(tt.port), Network: "kcp"}
			pinned("")(cfg, cert)
			tt.client(cfg)
			failure{transport.PhaseTLS, tt.timeout, tt.text}.check(t, dialFailure(t, cfg, 2*time.Second))
		})
	}
}

// TestKCPClosedPort: a plain mKCP session to a UDP port nothing listens
// on ends with an error that says so as soon as the first datagram is
// refused (ICMP port unreachable), not at the deadline.
func TestKCPClosedPort(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	conn := dialTransport(t, &transport.Config{Address: "127.0.0.1", Port: uint16(port), Network: "kcp"})
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	conn.Write([]byte("anyone there?"))
	_, err = conn.Read(make([]byte, 10))
	if err == nil || !strings.Contains(err.Error(), "port is closed") {
		t.Fatalf("Read: %v, want the closed port named", err)
	}
}

// TestKCPConfigErrors: settings Xray refuses are refused before any I/O,
// TCP masks and UDP masks xvm does not speak by name.
func TestKCPConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         transport.Config
		want        string
		unsupported bool
	}{
		{"tti-low", transport.Config{Network: "kcp", KCP: transport.KCPConfig{TTI: 5}}, "tti", false},
		{"mtu-tiny", transport.Config{Network: "kcp", KCP: transport.KCPConfig{MTU: 10}}, "mtu", false},
		{"header-type", transport.Config{Network: "kcp", KCP: transport.KCPConfig{HeaderType: "http"}}, "header.type", false},
		{"unknown-mask", transport.Config{Network: "kcp", FinalMask: []byte(`{"udp":[{"type":"nope"}]}`)}, "nope", false},
		{"noise-mask", transport.Config{Network: "kcp", FinalMask: []byte(`{"udp":[{"type":"noise"}]}`)}, "noise", true},
		{"tcp-mask", transport.Config{Network: "ws", FinalMask: []byte(`{"tcp":[{"type":"fragment"}]}`)}, "fragment", true},
		{"finalmask-not-json", transport.Config{Network: "kcp", FinalMask: []byte(`[`)}, "finalmask", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantConfigError(t, tt.cfg, tt.want, tt.unsupported) })
	}
}

// TestKCPZeroCapacity: uplinkCapacity and downlinkCapacity given as 0
// mean what Xray makes of them, the smallest window (8 segments), not
// the defaults: a session with them on both sides, against an Xray
// inbound configured so, still moves data both ways (slowly).
func TestKCPZeroCapacity(t *testing.T) {
	t.Parallel()
	if racesInXray(t, true) {
		return
	}
	echo := vmesstest.StartEcho(t)
	srv := startServer(t, `{"network":"kcp","kcpSettings":{"uplinkCapacity":0,"downlinkCapacity":0}}`)
	zero := uint32(0)
	cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port), Network: "kcp",
		KCP: transport.KCPConfig{UplinkCapacity: &zero, DownlinkCapacity: &zero}}
	conn := dialTransport(t, cfg)
	sessionTest(t, conn, srv.ID, vmess.SecurityAES128GCM, echo, shortSize(256<<10, 32<<10))
}
