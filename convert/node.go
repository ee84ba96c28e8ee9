// Package convert reads VMess servers from every common dialect — share
// links (v2rayN base64 JSON, Xray's standard URL, v2fly Draft 1,
// Shadowrocket, Kitsunebi, Quantumult), client config lines (Quantumult X,
// Surge, Loon), subscriptions, Clash/mihomo YAML, sing-box JSON and Xray
// JSON/YAML/TOML — into one normalised Node, and writes Nodes back out in
// any of those dialects. N dialects need N parsers and N emitters, never
// N×N converters.
//
// The entry points are Parse (anything in, nodes and positioned
// diagnostics out), ParseLink (one share link), ToXray (one node to an Xray
// outbound, schema/conf types) and Emit (nodes to a target dialect).
// Whatever a target cannot express is reported as a warning Diagnostic that
// names the server and the field; nothing is dropped silently.
package convert

import (
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// Node is one VMess server in normalised form. Field names follow the
// table in docs/formats.md#one-model-many-dialects. Empty means "not set / default".
//
// The fields most servers set are Node's own; the ones few servers set
// (mKCP tuning, QUIC, REALITY, XHTTP, pinned certificates, extra headers…)
// are in Extra, which is nil when all of them are empty. A list is held
// whole between reading and writing, so each 16 bytes kept out of Node is
// 1.6 MB less on 100,000 nodes (docs/convert.md).
type Node struct {
	Name    string
	Server  string
	Port    int
	UUID    string
	AlterID int
	// Cipher is the VMess body security: auto, aes-128-gcm,
	// chacha20-poly1305, none or zero. Empty means auto.
	Cipher string

	// Network is the transport: tcp, kcp, ws, h2, quic, grpc, httpupgrade
	// or xhttp. Empty means tcp.
	Network string
	// HeaderType is the tcp header (none/http) or the kcp/quic packet
	// header (none, srtp, utp, wechat-video, dtls, wireguard, dns).
	HeaderType string
	// Host is the Host header (ws, httpupgrade, xhttp), a comma list of
	// hosts (tcp+http, h2), or the DNS header domain (kcp).
	Host string
	// Path is the path (ws, httpupgrade, xhttp, h2; may carry ?ed=N) or a
	// comma list of paths (tcp+http).
	Path        string
	ServiceName string // gRPC

	// Security is the transport security: "" (none), tls or reality.
	Security    string
	SNI         string
	ALPN        []string
	Fingerprint string // uTLS name
	Insecure    bool

	TFO bool
	Mux bool
	// UDP is the UDP relay switch of the dialects that have one.
	UDP UDPRelay

	// Extra holds the fields few servers set; nil means all are empty.
	Extra *NodeExtra

	// Origin says where the node came from, for diagnostics.
	Origin Origin
}

// NodeExtra is the part of a Node that few servers set: transport tuning
// and the rarer transports' and securities' fields.
type NodeExtra struct {
	// Experiments is Xray's user experiments string (AuthenticatedLength…).
	Experiments string
	// Headers are extra transport request headers other than Host.
	Headers map[string]string

	Seed     string // mKCP seed
	MTU, TTI int    // mKCP
	// UplinkCapacity, DownlinkCapacity (MB/s) and WriteBufferSize (MB)
	// are mKCP's; nil means not given, which Xray tells from 0 (the
	// smallest window, not the default).
	UplinkCapacity, DownlinkCapacity, WriteBufferSize *int
	Congestion                                        bool   // mKCP
	Method                                            string // HTTP/2 request method; empty means PUT
	QUICSecurity                                      string // removed QUIC transport
	QUICKey                                           string
	GRPCMode                                          string // gun (default) or multi
	Authority                                         string // gRPC authority
	XHTTPMode                                         string // auto, packet-up, stream-up, stream-one
	XHTTPExtra                                        json.RawMessage
	// EarlyData and EarlyDataHeader are ws early data given outside the
	// path (Clash max-early-data, sing-box max_early_data).
	EarlyData       int
	EarlyDataHeader string

	PCS       string // pinnedPeerCertSha256, comma list
	VCN       string // verifyPeerCertByName, comma list
	ECH       string // echConfigList
	PublicKey string // REALITY
	ShortID   string
	SpiderX   string
	PQV       string // REALITY mldsa65Verify

	FinalMask json.RawMessage
}

// Extras returns the node's rarely set fields, all empty when Extra is
// nil.
func (n *Node) Extras() NodeExtra {
	if n.Extra == nil {
		return NodeExtra{}
	}
	return *n.Extra
}

// fullNode is a Node with its extra fields in place: what the readers
// fill and the writers read, one node at a time. Only the compact Node is
// kept in lists.
type fullNode struct {
	Node
	NodeExtra
}

// full returns a copy of n with its extra fields in place.
func (n *Node) full() *fullNode {
	f := &fullNode{Node: *n}
	if n.Extra != nil {
		f.NodeExtra = *n.Extra
		f.Node.Extra = nil
	}
	return f
}

// compact returns the Node to keep: Extra is set only when some extra
// field is.
func (f *fullNode) compact() *Node {
	n := f.Node
	n.Extra = nil
	if !reflect.ValueOf(f.NodeExtra).IsZero() {
		e := f.NodeExtra
		n.Extra = &e
	}
	return &n
}

// UDPRelay is the UDP relay switch of the dialects that have one: mihomo's
// udp, and udp-relay in Quantumult X, Surge and Loon lines. All of them
// default to off when the key is absent.
type UDPRelay uint8

// UDP relay states.
const (
	// UDPUnstated: the source dialect has no such switch (share links,
	// sing-box, Xray, whose VMess carries UDP anyway).
	UDPUnstated UDPRelay = iota
	// UDPOn: the source turned UDP relay on.
	UDPOn
	// UDPOff: the source turned it off, or left it at its default (off).
	UDPOff
)

// udpRelay reads a dialect's udp switch: absent is off, the default of
// every dialect that has one.
func udpRelay(v any) UDPRelay {
	if truthy(v) {
		return UDPOn
	}
	return UDPOff
}

// Origin locates a node in its input.
type Origin struct {
	Input   string // file name, "-" or "argument 2"
	Line    int    // 1-based line in a subscription or document; 0 if unknown
	Dialect string // v2rayn, uri, draft1, shadowrocket, … ; see Dialect* constants
}

// Dialect names recorded in Origin.Dialect.
const (
	DialectV2RayN       = "v2rayn"
	DialectURI          = "uri"
	DialectDraft1       = "v2fly-draft1"
	DialectShadowrocket = "shadowrocket"
	DialectKitsunebi    = "kitsunebi"
	DialectQuantumult   = "quantumult"
	DialectQuantumultX  = "quantumult-x"
	DialectSurge        = "surge"
	DialectLoon         = "loon"
	DialectClash        = "clash"
	DialectSingBox      = "sing-box"
	DialectXray         = "xray"
)

// network returns the transport with the default applied.
func (n *Node) network() string {
	if n.Network == "" {
		return "raw"
	}
	return n.Network
}

// cipher returns the VMess body security with the default applied.
func (n *Node) cipher() string {
	if n.Cipher == "" {
		return "auto"
	}
	return n.Cipher
}

// label names the node in diagnostics: its name, else host:port. It never
// contains the user id.
func (n *Node) label() string {
	if n.Name != "" {
		return n.Name
	}
	if n.Server != "" {
		return joinHostPort(n.Server, n.Port)
	}
	return "(unnamed)"
}

// joinHostPort writes host:port, with an IPv6 address in brackets.
func joinHostPort(h string, p int) string {
	return net.JoinHostPort(h, strconv.Itoa(p))
}

// Severity grades a Diagnostic. It is the severity every package uses
// (schema.Severity, ordered Info < Warning < Error), so that convert's
// messages and lint's findings speak one vocabulary.
type Severity = schema.Severity

// Severities, from the worst.
const (
	// Error: the entry could not become a node.
	Error = schema.Error
	// Warning: the node was converted but something was changed or lost.
	Warning = schema.Warning
	// Info: information, such as a skipped non-VMess line.
	Info = schema.Info
	// Note is the earlier name of Info.
	//
	// Deprecated: use Info.
	Note = Info
)

// Diagnostic is a positioned message about one input entry or one node.
// It never contains a user id.
type Diagnostic struct {
	Severity Severity
	Input    string // input name
	Line     int    // 1-based line, 0 if not applicable
	Server   string // node name or host:port, if known
	Field    string // the field concerned, in the dialect's own spelling
	Message  string // what is wrong and what was expected / done
	// Carrier is a target that carries what this warning says was lost,
	// when there is one ("" otherwise): data for the caller's advice,
	// which Message leaves out.
	Carrier OutputFormat
}

// String formats the diagnostic as "INPUT:LINE: severity: SERVER: FIELD: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Input != "" {
		b.WriteString(d.Input)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d", d.Line)
		}
		b.WriteString(": ")
	}
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	if d.Server != "" {
		fmt.Fprintf(&b, "%s: ", d.Server)
	}
	if d.Field != "" {
		fmt.Fprintf(&b, "%s: ", d.Field)
	}
	b.WriteString(d.Message)
	return b.String()
}

// diag is a small builder for node-scoped diagnostics.
func (n *Node) diag(sev Severity, field, format string, args ...any) Diagnostic {
	return Diagnostic{Severity: sev, Input: n.Origin.Input, Line: n.Origin.Line,
		Server: n.label(), Field: field, Message: fmt.Sprintf(format, args...)}
}

// warnTo returns an emitter's warn function, which adds a Warning about
// the node to *warns.
func (n *Node) warnTo(warns *[]Diagnostic) func(field, format string, args ...any) {
	return func(field, format string, args ...any) {
		*warns = append(*warns, n.diag(Warning, field, format, args...))
	}
}

// fieldError is an error about one field of one entry, turned into an
// Error Diagnostic by Parse.
type fieldError struct {
	Field   string
	Message string
}

func (e *fieldError) Error() string {
	if e.Field == "" {
		return "convert: " + e.Message
	}
	return "convert: " + e.Field + ": " + e.Message
}

func errField(field, format string, args ...any) error {
	return &fieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
