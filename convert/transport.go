package convert

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xvmtools/xvm/schema/conf"
)

// Dialects are built from parts. Each transport is one transportPart,
// kept in a file of its own (transport_raw.go, transport_ws.go, …), that
// says how every dialect reads and writes that transport's fields; the
// dialects' readers and writers (FromXray, ToXray, nodeFromV2RayNJSON,
// ToV2RayN, parseStdURI, ToURI, nodeFromClash, toClash, nodeFromSingBox,
// toSingBox) handle what is common and hand the transport to its part. A
// new transport field therefore touches one file. TLS and REALITY are
// parts in the same way (security_tls.go, security_reality.go).

// warnFunc records a warning about a field.
type warnFunc = func(field, format string, args ...any)

// transportPart is one transport in every dialect. A nil writer means the
// dialect has no such transport; the node is then not convertible.
type transportPart struct {
	// readV2RayN reads v2rayN's JSON, which packs every transport into
	// type, host and path (the meaning depends on net).
	readV2RayN  func(n *fullNode, typ, host, path string, warn warnFunc)
	writeV2RayN func(n *fullNode, l *v2raynLink, warn warnFunc)
	// readURI and writeURI read and write the query of Xray's standard
	// link (#716); add skips empty values.
	readURI  func(n *fullNode, q *query, warn warnFunc) error
	writeURI func(n *fullNode, add func(k, v string), warn warnFunc)
	// readXray and writeXray read and write Xray's streamSettings;
	// readXray refuses what Xray's loader refuses.
	readXray  func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error
	writeXray func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error
	// readClash reads a mihomo proxy whose network is clashNet.
	readClash    func(n *fullNode, clashNet string, m map[string]any, warn warnFunc)
	writeClash   func(n *fullNode, p *clashProxy, warn warnFunc) error
	readSingBox  func(n *fullNode, tr map[string]any, warn warnFunc)
	writeSingBox func(n *fullNode, o *sbOutbound, warn warnFunc) error
}

// transportParts holds every transport a node can have, by its name in
// the shared vocabulary (vmess.StreamNetwork).
var transportParts = map[string]*transportPart{
	"raw":         rawPart,
	"ws":          wsPart,
	"httpupgrade": httpUpgradePart,
	"grpc":        grpcPart,
	"xhttp":       xhttpPart,
	"kcp":         kcpPart,
	"h2":          h2Part,
	"quic":        quicPart,
}

// transportOf returns the node's transport part, or nil for a network
// name no reader produces.
func (n *fullNode) transportOf() *transportPart {
	return transportParts[n.network()]
}

// cannotWrite is a part's refusal to write a node in a dialect; the
// dialect's writer turns it into a *NotConvertibleError naming the server
// and the target.
type cannotWrite struct {
	field, reason string
}

func (e *cannotWrite) Error() string { return e.field + ": " + e.reason }

func refuse(field, format string, args ...any) error {
	return &cannotWrite{field: field, reason: fmt.Sprintf(format, args...)}
}

// notConvertible turns a part's refusal into the error a writer returns.
func (n *fullNode) notConvertible(target string, err error) error {
	var cw *cannotWrite
	if errors.As(err, &cw) {
		return &NotConvertibleError{Server: n.label(), Target: target, Field: cw.field, Reason: cw.reason}
	}
	return err
}

// noTransport is the refusal for a dialect without the node's transport.
func (n *fullNode) noTransport(dialect string) error {
	return refuse("network", "%s has no %s transport", dialect, n.network())
}

// readXrayHeaders reads the headers of an HTTP-based transport in Xray's
// streamSettings (field names it, such as
// "streamSettings.wsSettings.headers"). A Host among them is what Xray's
// loader makes of it (infra/conf/transport_internet.go): ws takes it as
// the host when "host" is empty and drops it otherwise
// (WebSocketConfig.Build); httpupgrade and xhttp refuse the config
// (HttpUpgradeConfig.Build, SplitHTTPConfig.Build), so the node is refused
// too.
func (n *fullNode) readXrayHeaders(headers map[string]string, field string, hostAllowed bool, warn warnFunc) error {
	for k, v := range headers {
		if !strings.EqualFold(k, "host") {
			n.setHeader(k, v)
			continue
		}
		if !hostAllowed {
			return errField(field+"."+k, "a Host header here is refused by Xray; want the transport's \"host\"")
		}
		if n.Host == "" {
			n.Host = v
			warn(field+"."+k, "deprecated in Xray, which reads it as \"host\"; read as the host")
		} else {
			warn(field+"."+k, "Xray drops it, as \"host\" is set; not carried")
		}
	}
	return nil
}

// pathLike reads host and path for the transports that have exactly
// these two fields in link dialects (ws, httpupgrade, h2).
func pathLike(n *fullNode, _ string, host, path string, _ warnFunc) {
	n.Host, n.Path = host, path
}

// noneAsDefault reads v2rayN's "none", which it writes in type for "the
// transport's default", as empty.
func noneAsDefault(s string) string {
	if s == "none" {
		return ""
	}
	return s
}
