package convert

import (
	"fmt"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// singBox reads a sing-box JSON document: a config with outbounds, a list
// of outbounds, or one outbound.
func (p *parser) singBox(data []byte) error {
	v, err := jsonValue(data)
	if err != nil {
		return p.inputError(0, "not valid JSON: %v", err)
	}
	if m, ok := v.(map[string]any); ok {
		v = foldKeys(m)
	}
	items, prefix, ok := outboundItems(v)
	if !ok {
		return p.inputError(0, "want a sing-box config, an outbound or a list of outbounds")
	}
	p.eachOutbound(data, schema.JSON, items, prefix, func(field string, line int, m map[string]any) {
		m = foldKeys(m)
		if t := str(m["type"]); t != "vmess" {
			p.report(Info, line, errField(field, "type %q is not vmess; skipped", clip(t)))
			return
		}
		n, warns, err := nodeFromSingBox(m)
		p.entry(field, line, n, warns, err)
	})
	return nil
}

// outboundItems splits a decoded config document into its outbound
// entries: the "outbounds" list of a whole config (prefix "outbounds"), a
// list of outbounds, or one outbound (prefix ""). ok is false for a
// document that is none of these.
func outboundItems(v any) (items []any, prefix string, ok bool) {
	switch x := v.(type) {
	case []any:
		return x, "", true
	case map[string]any:
		if o, ok := x["outbounds"]; ok && o != nil {
			return asList(o), "outbounds", true
		}
		return []any{x}, "", true
	}
	return nil, "", false
}

// eachOutbound calls fn for every entry of items that is an object, with
// its field path ("outbounds[2]", or "[2]" for a bare list) and its line
// in data, which was read as format f; any other entry is reported as an
// error.
func (p *parser) eachOutbound(data []byte, f schema.Format, items []any, prefix string, fn func(field string, line int, m map[string]any)) {
	var lines []int
	if len(items) > 1 || prefix != "" {
		lines = entryLines(p.name, f, data)
	}
	for i, it := range items {
		field := fmt.Sprintf("%s[%d]", prefix, i)
		line := lineAt(lines, i)
		m := asMap(it)
		if m == nil {
			p.report(Error, line, errField(field, "is not an object; want an outbound"))
			continue
		}
		fn(field, line, m)
	}
}

// singBoxTransports maps sing-box's transport types onto transports; its
// http transport without TLS is the raw HTTP header disguise.
var singBoxTransports = map[string]string{"ws": "ws", "httpupgrade": "httpupgrade", "grpc": "grpc", "http": "raw", "quic": "quic"}

var singBoxKnown = map[string]bool{
	"type": true, "tag": true, "server": true, "server_port": true, "uuid": true, "security": true,
	"alter_id": true, "global_padding": true, "authenticated_length": true, "network": true,
	"packet_encoding": true, "tls": true, "transport": true, "multiplex": true, "tcp_fast_open": true,
}

func nodeFromSingBox(m map[string]any) (*fullNode, []Diagnostic, error) {
	var warns []Diagnostic
	warn := warnTo(&warns)
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectSingBox}, Name: str(m["tag"])}}
	if err := n.readServer(m, "server", "server_port", "uuid"); err != nil {
		return nil, nil, err
	}
	c, ok := normaliseCipher(str(m["security"]))
	if !ok {
		warn("security", "unknown cipher %q; using auto", clip(str(m["security"])))
	}
	n.Cipher = c
	aid, ok := intOf(m["alter_id"])
	if !ok || aid < 0 || aid > 65535 {
		return nil, nil, errField("alter_id", "not a number; want 0")
	}
	n.AlterID = aid
	if truthy(m["authenticated_length"]) {
		n.Experiments = "AuthenticatedLength"
	}
	if truthy(m["global_padding"]) {
		warn("global_padding", "not expressible in Xray's outbound; not carried")
	}
	n.TFO = truthy(m["tcp_fast_open"])
	if mux := foldKeys(asMap(m["multiplex"])); mux != nil && truthy(mux["enabled"]) {
		warn("multiplex", "sing-mux is not Xray mux; not carried")
	}
	if t := foldKeys(asMap(m["tls"])); t != nil && truthy(t["enabled"]) {
		n.Security = "tls"
		n.SNI = str(t["server_name"])
		n.Insecure = truthy(t["insecure"])
		for _, a := range asList(t["alpn"]) {
			n.ALPN = append(n.ALPN, splitList(str(a))...)
		}
		if u := foldKeys(asMap(t["utls"])); u != nil && truthy(u["enabled"]) {
			n.Fingerprint = str(u["fingerprint"])
			if n.Fingerprint == "" {
				n.Fingerprint = "chrome"
			}
		}
		if r := foldKeys(asMap(t["reality"])); r != nil && truthy(r["enabled"]) {
			n.Security = "reality"
			n.PublicKey = str(r["public_key"])
			n.ShortID = str(r["short_id"])
		}
		if e := foldKeys(asMap(t["ech"])); e != nil && truthy(e["enabled"]) {
			n.ECH = echFromPEM(strings.Join(strList(e["config"]), "\n"))
		}
		for k := range t {
			switch k {
			case "enabled", "server_name", "insecure", "alpn", "utls", "reality", "ech":
			default:
				warn("tls."+k, "not carried")
			}
		}
	}
	if tr := foldKeys(asMap(m["transport"])); tr != nil {
		tt := str(tr["type"])
		nw, ok := singBoxTransports[tt]
		if !ok {
			return nil, nil, errField("transport.type", "%q is not a sing-box transport; want ws, httpupgrade, grpc, http or quic", clip(tt))
		}
		if tt == "http" && n.Security != "" {
			nw = "h2" // with TLS sing-box's http transport is HTTP/2
		}
		n.Network = nw
		transportParts[nw].readSingBox(n, tr, warn)
	}
	if n.Security == "tls" && n.SNI == "" && n.sniFallback() != "" {
		// sing-box defaults server_name to the server, not to a Host
		// header as other dialects do; keep its meaning explicit.
		n.SNI = n.Server
	}
	if nw := m["network"]; nw != nil {
		warn("network", "sing-box's L4 restriction (tcp/udp), not a transport; not carried")
	}
	for k := range m {
		if !singBoxKnown[k] {
			warn(k, "unknown key ignored")
		}
	}
	sortDiags(warns)
	return n, warns, nil
}

// foldKeys lower-cases the keys of a sing-box options object. sing-box
// decodes its options with a copy of encoding/json (sing's
// common/json/internal/contextjson, decode.go), which matches a key to its
// field without regard to case, the exact name first: "alter_Id" is
// alter_id. sing-box's vmess option names are all lower-case, so the
// lower-cased key names the field; a key whose lower-case form is also
// present is left as it is (and so reported as unknown). Header maps are
// not options objects and keep their keys.
func foldKeys(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		l := strings.ToLower(k)
		if _, exact := m[l]; l != k && exact {
			out[k] = v
			continue
		}
		out[l] = v
	}
	return out
}

func strList(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, str(x))
	}
	return out
}

// echFromPEM turns sing-box's PEM "ECH CONFIGS" block into the bare base64
// Xray's echConfigList takes; text that is not PEM is returned as is.
func echFromPEM(s string) string {
	if !strings.Contains(s, "-----BEGIN") {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "-----") {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// echToPEM wraps base64 ECH configs for sing-box.
func echToPEM(s string) []string {
	out := []string{"-----BEGIN ECH CONFIGS-----"}
	for len(s) > 64 {
		out = append(out, s[:64])
		s = s[64:]
	}
	if s != "" {
		out = append(out, s)
	}
	return append(out, "-----END ECH CONFIGS-----")
}
