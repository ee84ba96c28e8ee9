package probe

import (
	"fmt"
	"testing"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestConfigTransportSettingsReachServer: transport settings an Xray
// config outbound (or a sing-box entry) carries beyond host, path and
// mode reach the probe's dial, shown against servers that require them:
// an Xray XHTTP inbound whose xPaddingBytes range refuses the default
// padding (Xray's server answers 400), a sing-box HTTP/2 server that
// takes POST only (404 for the default PUT), and an Xray mKCP inbound
// behind a seed with zero capacities. Each failed before convert carried
// xhttpSettings' other members and httpSettings.method.
func TestConfigTransportSettingsReachServer(t *testing.T) {
	web := startURL(t)
	xhttp := startServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"xhttp","xhttpSettings":{"path":"/x","mode":"stream-up","xPaddingBytes":"2000-3000"}}`})
	// Xray's mKCP server races in its own code (a receiving worker's
	// buffer freed while a session reads it); in a child process it stays
	// out of -race's view, which then sees only the probe.
	kcp := vmesstest.StartServerProcess(t, vmesstest.ServerOptions{StreamSettings: `{"network":"kcp","kcpSettings":{"uplinkCapacity":0,"downlinkCapacity":0},` +
		`"finalmask":{"udp":[{"type":"mkcp-aes128gcm","settings":{"password":"a seed"}}]}}`})
	// h2c for the Xray outbound; over TLS for sing-box, whose http
	// transport is HTTP/2 only with TLS.
	h2 := vmesstest.StartSingServer(t, vmesstest.SingServerOptions{HTTP: &vmesstest.SingHTTPTransport{Host: []string{"a.test"}, Path: "/h", Method: "POST"}})
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	h2TLS := vmesstest.StartSingServer(t, vmesstest.SingServerOptions{HTTP: &vmesstest.SingHTTPTransport{Host: []string{"a.test"}, Path: "/h", Method: "POST", Cert: cert}})
	tests := []struct {
		name   string
		target func(t *testing.T) Target
	}{
		{"xray xhttp xPaddingBytes", func(t *testing.T) Target {
			return spec{name: "x", host: xhttp.Host, port: xhttp.Port, id: xhttp.ID,
				stream: `{"network":"xhttp","xhttpSettings":{"path":"/x","mode":"stream-up","xPaddingBytes":"2000-3000"}}`}.target(t)
		}},
		{"xray kcp seed and zero capacities", func(t *testing.T) Target {
			return spec{name: "k", host: kcp.Host, port: kcp.Port, id: kcp.ID,
				stream: `{"network":"kcp","kcpSettings":{"uplinkCapacity":0,"downlinkCapacity":0,"congestion":true},` +
					`"finalmask":{"udp":[{"type":"mkcp-aes128gcm","settings":{"password":"a seed"}}]}}`}.target(t)
		}},
		{"xray h2 method", func(t *testing.T) Target {
			return spec{name: "h", host: h2.Host, port: h2.Port, id: h2.ID,
				stream: `{"network":"http","httpSettings":{"host":["a.test"],"path":"/h","method":"POST"}}`}.target(t)
		}},
		{"sing-box h2 method", func(t *testing.T) Target {
			return targetFromXray(t, fmt.Sprintf(`{"outbounds":[{"type":"vmess","tag":"s","server":%q,"server_port":%d,"uuid":%q,`+
				`"tls":{"enabled":true,"server_name":"vmess.test","insecure":true},"transport":{"type":"http","host":["a.test"],"path":"/h","method":"POST"}}]}`,
				h2TLS.Host, h2TLS.Port, h2TLS.ID))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantOK(t, runOne(t, tt.target(t), testOptions(web.URL)))
		})
	}
}
