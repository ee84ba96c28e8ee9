package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestProbeCLITransports runs xvm probe on a share link of each transport
// that probe dials beyond the first four, against an in-process server
// of that transport: an Xray XHTTP inbound, an Xray mKCP inbound with the
// legacy header and seed as finalmask, and sing-box's HTTP/2 transport
// (Xray no longer has it) over TLS. Each probes ok, reports the network
// the link names, and measures the phases it has.
func TestProbeCLITransports(t *testing.T) {
	url := probeWeb(t)
	cert := vmesstest.NewCert(t, "localhost")
	xhttp := vmesstest.StartServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"xhttp","xhttpSettings":{"path":"/x"}}`})
	kcp := vmesstest.StartServer(t, vmesstest.ServerOptions{StreamSettings: `{"network":"kcp","finalmask":{"udp":[{"type":"header-wechat"},{"type":"mkcp-aes128gcm","settings":{"password":"seed1"}}]}}`})
	h2 := vmesstest.StartSingServer(t, vmesstest.SingServerOptions{HTTP: &vmesstest.SingHTTPTransport{Host: []string{"localhost"}, Path: "/h2", Cert: cert}})
	tests := []struct {
		name    string
		link    string
		network string
		upgrade bool // an upgrade phase is measured
		warning string
	}{
		{"xhttp", v2rayNLink("xhttp", xhttp.Host, xhttp.Port, xhttp.ID, "xhttp", map[string]string{"path": "/x", "type": "stream-one"}), "xhttp", true, ""},
		{"kcp", v2rayNLink("kcp", kcp.Host, kcp.Port, kcp.ID, "kcp", map[string]string{"type": "wechat-video", "path": "seed1"}), "kcp", false, "kcpSettings.header and seed"},
		{"h2", v2rayNLink("h2", h2.Host, h2.Port, h2.ID, "h2", map[string]string{"path": "/h2", "host": "localhost", "tls": "tls", "sni": "localhost", "insecure": "1"}), "h2", true, "removed the HTTP/2 transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVM(t, false, "", "probe", "--url", url, "--count", "1", "--timeout", "10s", "--output", "json", tt.link)
			if code != 0 {
				t.Fatalf("exit %d; stdout %s; stderr %q", code, out, errOut)
			}
			var res []probe.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
				t.Fatalf("result %s (%v)", out, err)
			}
			r := res[0]
			t.Logf("%s", strings.Join(strings.Fields(out), " "))
			if !r.OK || r.Network != tt.network || r.Timings == nil || r.Timings.Connect == nil || (r.Timings.Upgrade != nil) != tt.upgrade {
				t.Errorf("result %s, want ok over %s", out, tt.network)
			}
			if tt.warning != "" && !strings.Contains(errOut, tt.warning) {
				t.Errorf("stderr %q does not warn %q", errOut, tt.warning)
			}
		})
	}
}
