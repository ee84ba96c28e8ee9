package schema

import "strings"

// The words every package uses for the same things: transport names and
// the severity of a finding. lint, convert and probe all see Xray configs,
// share links and probe targets; one spelling keeps their messages, JSON
// and tests in agreement.

// Network is the name of a transport in Xray's current config vocabulary:
// raw, ws, grpc, httpupgrade, xhttp, kcp and hysteria, and, for the
// transports Xray v1.260327.0 has removed, h2 and quic. Aliases map onto
// them as Xray's infra/conf TransportProtocol.Build maps them: "" and tcp
// are raw, websocket is ws, splithttp is xhttp, mkcp is kcp; http and h3
// (both refused by Xray now) are h2. Case is ignored. ok is false for a
// name Xray does not know; the lower-cased name comes back then.
func Network(name string) (canonical string, ok bool) {
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

// Severity grades a finding or a diagnostic, from Info to Error, so that
// "at least Warning" is a comparison. The zero value is no severity
// ("off").
type Severity int

// The severities.
const (
	// Info is information, such as an entry of another protocol skipped.
	Info Severity = iota + 1
	// Warning is something changed, lost or likely wrong.
	Warning
	// Error is something Xray refuses, or an entry that could not be read.
	Error
)

// String is the lower-case name every output uses.
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "off"
}
