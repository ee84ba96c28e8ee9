package vmess

import "strings"

// StreamNetwork is the name of a stream transport (streamSettings.network) in Xray's current config
// vocabulary: raw, ws, grpc, httpupgrade, xhttp, kcp and hysteria, and,
// for the transports Xray v1.260327.0 has removed, h2 and quic. Aliases
// map onto them as Xray's infra/conf TransportProtocol.Build maps them:
// "" and tcp are raw, websocket is ws, splithttp is xhttp, mkcp is kcp;
// http and h3 (both refused by Xray now) are h2. Case and surrounding
// blanks are ignored. ok is false for a name Xray does not know; the
// lower-cased name comes back then.
//
// It is the one spelling of a network in xvm: the config side (schema,
// lint, convert) and the dialers (vmess/transport, probe) all read
// names through it, as they read ids through ParseID.
func StreamNetwork(name string) (canonical string, ok bool) {
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case "", "raw", "tcp":
		return "raw", true
	case "ws", "websocket":
		return "ws", true
	case "xhttp", "splithttp":
		return "xhttp", true
	case "kcp", "mkcp":
		return "kcp", true
	case "grpc", "httpupgrade", "hysteria", "quic":
		return n, true
	case "h2", "h3", "http":
		return "h2", true
	default:
		return n, false
	}
}
