package convert

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// decodeBase64Lenient decodes the base64 seen in the wild: standard or
// URL-safe alphabet, padded or not, with line breaks and stray whitespace.
func decodeBase64Lenient(s string) ([]byte, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r', '\n', '\t', ' ':
		case '-':
			b.WriteByte('+')
		case '_':
			b.WriteByte('/')
		default:
			b.WriteByte(c)
		}
	}
	t := strings.TrimRight(b.String(), "=")
	if len(t)%4 == 1 {
		return nil, errField("base64", "has a length that no base64 text has; want the whole link, not a truncated copy")
	}
	out, err := base64.RawStdEncoding.DecodeString(t)
	if err != nil {
		return nil, errField("base64", "is not base64 (%v); want base64 of the link's JSON", err)
	}
	return out, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decodeV2RayNPayload turns the text after "vmess://" into the JSON
// object and an optional #fragment, following docs/formats.md#the-envelope.
func decodeV2RayNPayload(body string) (map[string]any, string, error) {
	body = strings.TrimSpace(body)
	var frag string
	var raw []byte
	if strings.HasPrefix(body, "{") {
		raw = []byte(body)
	} else {
		if i := strings.IndexByte(body, '#'); i >= 0 {
			frag = unescapeLenient(body[i+1:])
			body = body[:i]
		}
		if strings.Contains(body, "%") {
			if u, err := url.PathUnescape(body); err == nil {
				body = u
			}
		}
		body = strings.TrimSpace(body)
		var err error
		raw, err = decodeBase64Lenient(body)
		if err != nil && strings.ContainsAny(body, " \t") {
			// A trailing comment after a space: try the part before it.
			if r2, err2 := decodeBase64Lenient(strings.Fields(body)[0]); err2 == nil {
				raw, err = r2, nil
			}
		}
		if err != nil {
			return nil, "", err
		}
		raw = bytes.TrimPrefix(raw, utf8BOM)
		raw = bytes.TrimSpace(raw)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, "", errField("json", "the decoded link is not a JSON object (%v); want v2rayN's {\"v\":\"2\",\"add\":…} form", err)
	}
	if m == nil {
		return nil, "", errField("json", "the decoded link is null; want a JSON object")
	}
	return lowerKeys(m), frag, nil
}

// lowerKeys returns m with its keys lower-cased (v2rayN's keys are read
// case-insensitively).
func lowerKeys(m map[string]any) map[string]any {
	lower := make(map[string]any, len(m))
	for k, v := range m {
		lower[strings.ToLower(k)] = v
	}
	return lower
}

// v2raynKnown are the keys v2rayN and v2rayNG define, plus accepted aliases.
var v2raynKnown = map[string]bool{
	"v": true, "ps": true, "add": true, "port": true, "id": true, "aid": true, "scy": true,
	"net": true, "type": true, "host": true, "path": true, "tls": true, "sni": true,
	"alpn": true, "fp": true, "insecure": true, "vcn": true, "pcs": true,
}

// v2raynAliases are keys seen in v2rayN links that its DTO does not have,
// which nodeFromV2RayNJSON reads (with a warning where it chooses).
var v2raynAliases = map[string]bool{
	"security": true, "headertype": true, "remark": true, "remarks": true, "allowinsecure": true,
	"skip-cert-verify": true, "verify_cert": true, "pbk": true, "sid": true, "spx": true, "class": true,
}

// parseV2RayN reads the v2rayN base64-JSON link body.
func parseV2RayN(body string) (*fullNode, []Diagnostic, error) {
	m, frag, err := decodeV2RayNPayload(body)
	if err != nil {
		return nil, nil, err
	}
	return nodeFromV2RayNJSON(m, frag)
}

func nodeFromV2RayNJSON(m map[string]any, frag string) (*fullNode, []Diagnostic, error) {
	var warns []Diagnostic
	warn := warnTo(&warns)
	alias := func(key, alias string) any {
		if v, ok := m[key]; ok && str(v) != "" {
			return v
		}
		if v, ok := m[alias]; ok && str(v) != "" {
			warn(alias, "non-standard key; read as %q", key)
			return v
		}
		return m[key]
	}
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectV2RayN}}}
	n.Name = firstNonEmpty(str(m["ps"]), str(m["remarks"]), str(m["remark"]), strings.TrimSpace(frag))
	if err := n.readServer(m, "add", "port", "id"); err != nil {
		return nil, warns, err
	}
	aid, ok := intOf(m["aid"])
	if !ok || aid < 0 || aid > 65535 {
		return nil, warns, errField("aid", "%q is not a number; want the alterId, usually 0", clip(str(m["aid"])))
	}
	n.AlterID = aid
	cipher := str(alias("scy", "security"))
	c, ok := normaliseCipher(cipher)
	if !ok {
		warn("scy", "unknown cipher %q; using auto", clip(cipher))
	}
	n.Cipher = c

	netw := str(m["net"])
	nw, ok := normaliseNetwork(netw)
	if !ok {
		warn("net", "unknown transport %q; read as tcp, as v2rayN does", clip(netw))
	}
	n.Network = nw
	typ := strings.ToLower(str(alias("type", "headertype")))
	host := str(m["host"])
	path := str(m["path"])
	// Version 1 packed "host;path" into host (docs/formats.md#version-1-packing).
	if path == "" && strings.Count(host, ";") == 1 {
		h, p, _ := strings.Cut(host, ";")
		host, path = h, p
		warn("host", "old version-1 \"host;path\" packing; split into host and path")
	}
	transportParts[nw].readV2RayN(n, typ, host, path, warn)

	n.Security = v2raynSecurity(strings.ToLower(str(m["tls"])), warn)
	n.readLinkTLS(v2raynTLSKeys, func(keys ...string) string {
		for _, k := range keys {
			if v := str(m[k]); v != "" {
				return v
			}
		}
		return ""
	})
	for _, k := range []string{"allowinsecure", "skip-cert-verify"} {
		if v, ok := m[k]; ok {
			warn(k, "non-standard key; read as \"insecure\"")
			n.Insecure = n.Insecure || truthy(v)
		}
	}
	if v, ok := m["verify_cert"]; ok {
		warn("verify_cert", "non-standard key; read as the inverse of \"insecure\"")
		n.Insecure = n.Insecure || !truthy(v)
	}
	for k, field := range map[string]*string{"pbk": &n.PublicKey, "sid": &n.ShortID, "spx": &n.SpiderX} {
		if v := str(m[k]); v != "" {
			warn(k, "unofficial REALITY key (v2rayN's format has none); read it")
			*field = v
		}
	}
	for k := range m {
		if !v2raynKnown[k] && !v2raynAliases[k] {
			warn(k, "unknown key ignored")
		}
	}
	sortDiags(warns)
	return n, warns, nil
}

// v2raynSecurity reads v2rayN's tls key (lower-cased): the transport
// security it names, "" for none.
func v2raynSecurity(t string, warn warnFunc) string {
	switch t {
	case "tls", "xtls", "utls":
		return "tls"
	case "reality":
		return "reality"
	case "true", "1":
		// v2rayN turns TLS on only for "tls" (VmessFmt.cs copies the
		// value, V2rayOutboundService.cs compares it with "tls"), mihomo
		// only for values ending in "tls" (ConvertsV2Ray): for both this
		// server has no TLS.
		warn("tls", "%q is not a value v2rayN or mihomo reads as TLS (they want \"tls\"); read as no TLS, as they do", t)
	case "", "none", "0", "false":
	default:
		warn("tls", "unknown value %q; want tls, reality or empty; using no TLS", clip(t))
	}
	return ""
}
