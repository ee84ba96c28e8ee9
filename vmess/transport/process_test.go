package transport_test

import (
	"testing"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestAgainstXrayProcess runs VMess sessions over the transports whose
// in-process Xray servers race in their own code (mKCP, XHTTP
// packet-up; see race_on_test.go) against Xray's xray command in a
// child process, so that `go test -race` checks xvm's client on them
// too: the detector sees only this process. Without -race it is one
// more real-peer check, against the released command.
func TestAgainstXrayProcess(t *testing.T) {
	t.Parallel()
	echo := vmesstest.StartEcho(t)
	cases := []struct {
		name   string
		server string
		client func(*transport.Config)
	}{
		{"kcp", `{"network":"kcp","finalmask":{"udp":[{"type":"mkcp-original"}]}}`,
			func(c *transport.Config) { c.Network, c.KCP.HeaderType = "kcp", "none" }},
		{"kcp-srtp-seed", `{"network":"kcp","finalmask":{"udp":[{"type":"header-srtp"},{"type":"mkcp-aes128gcm","settings":{"password":"s"}}]}}`,
			func(c *transport.Config) {
				c.Network, c.KCP = "kcp", transport.KCPConfig{HeaderType: "srtp", Seed: "s"}
			}},
		{"xhttp-packet-up", `{"network":"xhttp","xhttpSettings":{"path":"/x"}}`,
			func(c *transport.Config) {
				c.Network, c.XHTTP = "xhttp", transport.XHTTPConfig{Path: "/x", Mode: "packet-up"}
			}},
		{"xhttp-packet-up-h2c", `{"network":"xhttp","xhttpSettings":{"path":"/x"}}`,
			func(c *transport.Config) {
				c.Network, c.XHTTP = "xhttp", transport.XHTTPConfig{Path: "/x", Mode: "packet-up", H2C: true}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := vmesstest.StartServerProcess(t, vmesstest.ServerOptions{StreamSettings: tc.server})
			cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port)}
			tc.client(cfg)
			conn := dialTransport(t, cfg)
			sessionTest(t, conn, srv.ID, vmess.SecurityAES128GCM, echo, shortSize(1<<20, 128<<10))
		})
	}
}
