package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/xvmtools/xvm/vmess"
)

// serverKey is what makes two nodes the same server: every setting the
// server checks, or that decides which server (or which certificate) the
// client accepts. Two entries equal in all of them reach one server the
// same way as far as the server can tell; the settings left out are the
// client's own (see clientSettings), which the server accepts whichever
// way they are set.
//
// Node fields, one by one:
//
//   - Server, Port: where. Host names compare without case or trailing dot.
//   - UUID: who, as the 16 bytes Xray derives from it (case and dashes do
//     not matter; a name-derived id compares by its derived bytes too).
//   - AlterID: 0 is the AEAD header, more is the legacy one with that many
//     alter ids; a server that takes one may refuse the other.
//   - Network; HeaderType (tcp's http disguise, mKCP's packet header; ""
//     is "none"); Path (gRPC: ServiceName); Host; Seed (mKCP's key);
//     Authority (gRPC's :authority, which a front routes by); XHTTPMode
//     ("" is auto) and XHTTPExtra (it may send the download elsewhere);
//     EarlyDataHeader (ws: where the server looks for early data);
//     QUICSecurity, QUICKey; FinalMask (masks both sides must apply).
//   - Security, SNI (the address when unset, as in Xray's TLS client),
//     Insecure, PCS, VCN (which certificate is accepted), ECH, and
//     REALITY's PublicKey, ShortID and PQV.
//
// Not in the key: Name; Cipher and Experiments (the request header says
// which the client chose); Headers other than Host; mKCP's MTU, TTI,
// capacities, write buffer and congestion (each side's own); GRPCMode
// (Xray's gRPC server answers both); EarlyData's size; ALPN, Fingerprint,
// SpiderX; TFO, Mux and the UDP switch.
type serverKey struct {
	server, rawID       string // rawID when the id does not parse (never after Parse's checks)
	port, alterID       int
	id                  vmess.ID
	network, headerType string
	path, host, seed    string
	authority           string
	xhttpMode, xhttp    string
	earlyDataHeader     string
	quic, finalMask     string
	security, sni       string
	insecure            bool
	pcs, vcn, ech       string
	reality             string
	method              string
}

func (n *fullNode) serverKey() serverKey {
	k := serverKey{
		server:    strings.ToLower(strings.TrimSuffix(n.Server, ".")),
		port:      n.Port,
		alterID:   n.AlterID,
		network:   strings.ToLower(n.network()),
		path:      n.Path,
		host:      strings.ToLower(n.Host),
		finalMask: canonicalJSON(n.FinalMask),
		security:  strings.ToLower(n.Security),
	}
	if k.network == "raw" {
		k.network = "tcp"
	}
	if id, err := vmess.ParseID(n.UUID); err == nil {
		k.id = id
	} else {
		k.rawID = strings.ToLower(n.UUID)
	}
	switch k.network {
	case "tcp", "kcp", "quic":
		k.headerType = strings.ToLower(n.HeaderType)
		if k.headerType == "" {
			k.headerType = "none"
		}
	}
	switch k.network {
	case "kcp":
		k.seed = n.Seed
	case "quic":
		k.quic = strings.ToLower(n.QUICSecurity) + "\x00" + n.QUICKey
	case "h2":
		k.method = strings.ToUpper(n.Method) // a server may accept one method only
	case "grpc":
		k.path = n.ServiceName // gRPC's path is its service name
		k.authority = strings.ToLower(n.Authority)
	case "ws":
		k.earlyDataHeader = strings.ToLower(n.EarlyDataHeader)
	case "xhttp":
		k.xhttpMode = strings.ToLower(n.XHTTPMode)
		if k.xhttpMode == "" {
			k.xhttpMode = "auto"
		}
		k.xhttp = canonicalJSON(n.XHTTPExtra)
	}
	if k.security == "none" {
		k.security = ""
	}
	if k.security != "" {
		// An empty server name means the address, as in Xray's TLS
		// client; "sni=address" and no sni are the same server.
		k.sni = strings.ToLower(n.SNI)
		if k.sni == "" {
			k.sni = k.server
		}
	}
	switch k.security {
	case "tls":
		k.insecure = n.Insecure
		k.pcs = commaSet(strings.ReplaceAll(n.PCS, ":", ""))
		k.vcn = commaSet(n.VCN)
		k.ech = n.ECH
	case "reality":
		k.reality = n.PublicKey + "\x00" + strings.ToLower(n.ShortID) + "\x00" + n.PQV
	}
	return k
}

// commaSet is a comma list in a form that compares as a set: items
// trimmed, lower case, sorted.
func commaSet(s string) string {
	var items []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.ToLower(strings.TrimSpace(it)); it != "" {
			items = append(items, it)
		}
	}
	slices.Sort(items)
	return strings.Join(items, ",")
}

// canonicalJSON is JSON without insignificant space, for comparing; text
// that is not JSON compares as written.
func canonicalJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// clientSettings names the settings that are only the client's (not in
// serverKey) and their values, for saying what a merged entry had of its
// own.
func (n *fullNode) clientSettings() [][2]string {
	return [][2]string{
		{"cipher", n.cipher()},
		{"experiments", n.Experiments},
		{"headers", fmt.Sprint(n.Headers)},
		{"mKCP MTU", fmt.Sprint(n.MTU)},
		{"mKCP TTI", fmt.Sprint(n.TTI)},
		{"mKCP uplink capacity", optInt(n.UplinkCapacity)},
		{"mKCP downlink capacity", optInt(n.DownlinkCapacity)},
		{"mKCP write buffer", optInt(n.WriteBufferSize)},
		{"mKCP congestion", fmt.Sprint(n.Congestion)},
		{"gRPC mode", strings.ToLower(n.GRPCMode)},
		{"early data", fmt.Sprint(n.EarlyData)},
		{"alpn", strings.Join(n.ALPN, ",")},
		{"fingerprint", strings.ToLower(n.Fingerprint)},
		{"spiderX", n.SpiderX},
		{"tcp fast open", fmt.Sprint(n.TFO)},
		{"mux", fmt.Sprint(n.Mux)},
		{"udp", fmt.Sprint(n.UDP)},
	}
}

// optInt is a setting that may be unset ("" then; 0 is a value).
func optInt(p *int) string {
	if p == nil {
		return ""
	}
	return fmt.Sprint(*p)
}

// clientDiff lists the client-side settings in which n differs from kept.
func clientDiff(n, kept *fullNode) []string {
	var names []string
	theirs := kept.clientSettings()
	for i, s := range n.clientSettings() {
		if s[1] != theirs[i][1] {
			names = append(names, s[0])
		}
	}
	return names
}

// Dedupe returns nodes without repeats of a server already listed, in
// input order: the first of each server stays, since a subscription lists
// its real entry before the copies panels add ("traffic left",
// "expires"). Each node left out gets an Info naming it and the node it
// repeats, and the client-side settings of its own that go with it. Two
// nodes are the same server when everything the server checks is equal
// (see serverKey): address and port, user id and alterId, transport and
// its server-side settings, and TLS or REALITY with what decides the
// certificate or key accepted.
func Dedupe(nodes []*Node) ([]*Node, []Diagnostic) {
	first := make(map[serverKey]*Node, len(nodes))
	kept := make([]*Node, 0, len(nodes))
	var notes []Diagnostic
	for _, node := range nodes {
		n := node.full()
		k := n.serverKey()
		if f0, ok := first[k]; ok {
			f := f0.full()
			msg := fmt.Sprintf("same server as %q (%s%s); left out, the first listed is kept", f.label(), joinHostPort(f.Server, f.Port), f.where())
			if diff := clientDiff(n, f); len(diff) > 0 {
				msg += fmt.Sprintf(" (this entry's own %s %s dropped with it)", joinAnd(diff), isAre(len(diff)))
			}
			notes = append(notes, n.diag(Info, "", "%s", msg))
			continue
		}
		first[k] = node
		kept = append(kept, node)
	}
	return kept, notes
}

// joinAnd joins words as "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// where is ", INPUT:LINE" for a node from another input or line, for
// messages that point at it.
func (n *fullNode) where() string {
	if n.Origin.Input == "" {
		return ""
	}
	if n.Origin.Line > 0 {
		return fmt.Sprintf(", %s:%d", n.Origin.Input, n.Origin.Line)
	}
	return ", " + n.Origin.Input
}
