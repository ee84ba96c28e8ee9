package probe

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xvmtools/xvm/vmess/transport"
)

// routeKey names the route a target's requests take to a VMess server: its
// host:port and every transport setting a front (a CDN, nginx, a
// load balancer) may route by — network, TLS and SNI, the WebSocket or
// HTTPUpgrade path, Host and headers, the gRPC service name and authority,
// the RAW HTTP disguise. Two targets with the same key reach the same
// server, so a verdict about its clock or an id carries over; two that
// differ may reach different servers on one host:port. The key errs on
// the side of difference: a setting that only looks different costs a
// search, never a wrong verdict.
func routeKey(t *Target) string {
	c := &t.Stream
	r := struct {
		Server      string
		Network     string
		Security    string
		SNI         string                       `json:",omitempty"`
		Raw         *transport.RawConfig         `json:",omitempty"`
		WS          *transport.WSConfig          `json:",omitempty"`
		HTTPUpgrade *transport.HTTPUpgradeConfig `json:",omitempty"`
		GRPC        *transport.GRPCConfig        `json:",omitempty"`
	}{
		Server:   hostPort(strings.ToLower(c.Address), int(c.Port)),
		Network:  t.network(),
		Security: strings.ToLower(c.Security),
	}
	if r.Security == "" {
		r.Security = "none"
	}
	if r.Security != "none" {
		r.SNI = c.TLS.ServerName
	}
	switch r.Network {
	case "ws":
		r.WS = &c.WS
	case "httpupgrade":
		r.HTTPUpgrade = &c.HTTPUpgrade
	case "grpc":
		r.GRPC = &c.GRPC
	default:
		r.Raw = &c.Raw
	}
	b, err := json.Marshal(r) // maps come out sorted: the key is canonical
	if err != nil {
		// Unreachable (only strings, bools, slices and maps of them); a
		// key of its own shares nothing, which is always sound.
		return fmt.Sprintf("\x00%p", t)
	}
	return string(b)
}
