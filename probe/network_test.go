package probe

import (
	"testing"

	"github.com/xvmtools/xvm/vmess"
)

// TestNetworkName: probe names a transport as vmess.StreamNetwork does,
// so every package agrees, except h3, which keeps its name so that
// the dialer refuses it as what it is rather than probing HTTP/2.
func TestNetworkName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", "raw"}, {"tcp", "raw"}, {" RAW ", "raw"},
		{"websocket", "ws"}, {"WS", "ws"},
		{"splithttp", "xhttp"}, {"xhttp", "xhttp"},
		{"mkcp", "kcp"}, {"kcp", "kcp"},
		{"http", "h2"}, {"h2", "h2"},
		{"grpc", "grpc"}, {"httpupgrade", "httpupgrade"}, {"quic", "quic"}, {"hysteria", "hysteria"},
		{"H3", "h3"},
		{"DomainSocket", "domainsocket"},
	} {
		if got := networkName(tc.in); got != tc.want {
			t.Errorf("networkName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if s, _ := vmess.StreamNetwork(tc.in); s != tc.want && tc.want != "h3" {
			t.Errorf("vmess.StreamNetwork(%q) = %q, probe says %q: the two vocabularies differ", tc.in, s, tc.want)
		}
	}
}
