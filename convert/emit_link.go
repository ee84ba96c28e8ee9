package convert

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// v2raynLink is v2rayN's DTO in its own key order; port and aid are strings
// the way v2rayN writes them.
type v2raynLink struct {
	V        string `json:"v"`
	PS       string `json:"ps"`
	Add      string `json:"add"`
	Port     string `json:"port"`
	ID       string `json:"id"`
	Aid      string `json:"aid"`
	Scy      string `json:"scy"`
	Net      string `json:"net"`
	Type     string `json:"type"`
	Host     string `json:"host"`
	Path     string `json:"path"`
	TLS      string `json:"tls"`
	SNI      string `json:"sni"`
	ALPN     string `json:"alpn"`
	FP       string `json:"fp"`
	Insecure string `json:"insecure,omitempty"`
	VCN      string `json:"vcn,omitempty"`
	PCS      string `json:"pcs,omitempty"`
	// Unofficial REALITY keys (Sub-Store); v2rayN itself has none.
	PBK string `json:"pbk,omitempty"`
	SID string `json:"sid,omitempty"`
	SPX string `json:"spx,omitempty"`
}

// ToV2RayN writes a node as v2rayN's vmess:// base64-JSON link: compact
// JSON, standard padded base64, v "2". Fields the format has no key for
// are warnings.
func ToV2RayN(n *Node) (string, []Diagnostic, error) {
	return n.full().toV2RayN()
}

func (n *fullNode) toV2RayN() (string, []Diagnostic, error) {
	var warns []Diagnostic
	warn := n.warnTo(&warns)
	l := v2raynLink{V: "2", PS: n.Name, Add: n.Server, Port: strconv.Itoa(n.Port), ID: n.UUID,
		Aid: strconv.Itoa(n.AlterID), Scy: n.cipher(), Net: n.network(), Type: "none"}
	if l.Net == "raw" {
		l.Net = "tcp" // v2rayN's word for raw
	}
	if part := n.transportOf(); part != nil {
		part.writeV2RayN(n, &l, warn)
	} else {
		l.Host, l.Path = n.Host, n.Path
	}
	if sec := n.securityOf(); sec != nil {
		sec.writeV2RayN(n, &l, warn)
	}
	l.ALPN = strings.Join(n.ALPN, ",")
	l.FP = n.Fingerprint
	if n.Insecure {
		l.Insecure = "1"
	}
	l.VCN, l.PCS = n.VCN, n.PCS
	warns = append(warns, n.notCarried("v2rayN's link has no key for it; not carried", map[string]bool{
		"finalmask (fm)": len(n.FinalMask) > 0,
		"ech":            n.ECH != "",
		"pqv":            n.PQV != "",
		"headers":        len(n.Headers) > 0,
		"experiments":    n.Experiments != "",
		"tfo":            n.TFO,
		"mux":            n.Mux,
	})...)
	for i := range warns {
		if uriCarries[warns[i].Field] {
			warns[i].Carrier = ToURILink
		}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", warns, err
	}
	return "vmess://" + base64.StdEncoding.EncodeToString(b), warns, nil
}

// uriCarries are the fields a v2rayN link loses that the standard link
// (ToURI) carries: their warnings name ToURILink as the Carrier.
var uriCarries = map[string]bool{
	"reality": true, "pqv": true, "mtu/tti": true, "extra": true, "ech": true, "finalmask (fm)": true,
}

// notCarried warns, in field order, about each set field a target has no
// place for.
func (n *fullNode) notCarried(msg string, set map[string]bool) []Diagnostic {
	var d []Diagnostic
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] {
			d = append(d, n.diag(Warning, k, "%s", msg))
		}
	}
	return d
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// encodeURIComponent escapes like JavaScript's function of that name, as
// the #716 standard requires.
func encodeURIComponent(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// ToURI writes a node as Xray's standard share link (#716):
// vmess://uuid@host:port?type=…#name.
func ToURI(n *Node) (string, []Diagnostic, error) {
	return n.full().toURI()
}

func (n *fullNode) toURI() (string, []Diagnostic, error) {
	var warns []Diagnostic
	warn := n.warnTo(&warns)
	var q []string
	add := func(k, v string) {
		if v != "" {
			q = append(q, k+"="+encodeURIComponent(v))
		}
	}
	netw := n.network()
	switch netw {
	case "h2":
		add("type", "http")
	case "raw":
		add("type", "tcp") // the standard's word; Xray reads both
	default:
		add("type", netw)
	}
	if c := n.cipher(); c != "auto" {
		add("encryption", c)
	}
	add("security", n.Security)
	if part := n.transportOf(); part != nil {
		part.writeURI(n, add, warn)
	} else {
		writeURIPathLike(n, add, warn)
	}
	if sec := n.securityOf(); sec != nil {
		sec.writeURI(n, add, warn)
	}
	if len(n.FinalMask) > 0 {
		add("fm", string(n.FinalMask))
	}
	warns = append(warns, n.notCarried("the standard link has no parameter for it; not carried", map[string]bool{
		"alterId":     n.AlterID > 0,
		"headers":     len(n.Headers) > 0,
		"experiments": n.Experiments != "",
		"tfo":         n.TFO,
		"mux":         n.Mux,
	})...)
	s := "vmess://" + encodeURIComponent(n.UUID) + "@" + joinHostPort(n.Server, n.Port)
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	if n.Name != "" {
		s += "#" + encodeURIComponent(n.Name)
	}
	return s, warns, nil
}
