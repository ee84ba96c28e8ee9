package convert

import (
	"encoding/json"
	"strings"
)

// query is a parsed query string that keeps order, detects duplicates and
// never turns '+' into a space or chokes on ';' (the net/url pitfalls,
// docs/formats.md#reading-the-query-in-go).
type query struct {
	keys []string
	vals map[string]string // lower-cased key -> value (first wins)
	dups []string
}

func parseQuery(raw string) *query {
	q := &query{vals: map[string]string{}}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = strings.ToLower(unescapeLenient(k))
		v = unescapeLenient(v)
		if _, dup := q.vals[k]; dup {
			q.dups = append(q.dups, k)
			continue
		}
		q.keys = append(q.keys, k)
		q.vals[k] = v
	}
	return q
}

func (q *query) get(keys ...string) string {
	for _, k := range keys {
		if v, ok := q.vals[strings.ToLower(k)]; ok && v != "" {
			return v
		}
	}
	return ""
}

func (q *query) has(k string) bool { _, ok := q.vals[strings.ToLower(k)]; return ok }

// splitURL cuts "userinfo@host:port/path?query#fragment" into its parts
// without net/url, which rejects stray '%' and mangles '+'.
type urlParts struct {
	user, host, path, query, fragment string
	port                              int
}

func splitURL(rest string) (urlParts, error) {
	var p urlParts
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		p.fragment = unescapeLenient(rest[i+1:])
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		p.query = rest[i+1:]
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return p, errField("link", "has no '@'; want vmess://uuid@host:port")
	}
	p.user = rest[:at]
	hp := rest[at+1:]
	if i := strings.IndexByte(hp, '/'); i >= 0 {
		p.path = unescapeLenient(hp[i:])
		hp = hp[:i]
	}
	var portStr string
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return p, errField("host", "IPv6 address without ']'; want [addr]:port")
		}
		p.host = hp[1:end]
		portStr = strings.TrimPrefix(hp[end+1:], ":")
	} else {
		i := strings.LastIndexByte(hp, ':')
		if i < 0 {
			return p, errField("port", "missing; want host:port")
		}
		p.host, portStr = hp[:i], hp[i+1:]
	}
	if p.host == "" {
		return p, errField("host", "missing; want host:port")
	}
	pt, err := port("port", portStr)
	if err != nil {
		return p, err
	}
	p.port = pt
	p.host = unescapeLenient(p.host)
	return p, nil
}

// isDraft1User tells whether userinfo has the v2fly Draft 1 shape
// "net[+tls]:uuid-aid".
func isDraft1User(user string) bool {
	netw, _, ok := strings.Cut(user, ":")
	if !ok {
		return false
	}
	netw = strings.TrimSuffix(strings.ToLower(netw), "+tls")
	switch netw {
	case "tcp", "http", "h2", "ws", "kcp", "mkcp", "quic", "grpc":
		return true
	}
	return false
}

// uriKnown are the #716 parameters this reader understands.
var uriKnown = map[string]bool{
	"type": true, "encryption": true, "security": true, "headertype": true, "host": true,
	"path": true, "seed": true, "mtu": true, "tti": true, "quicsecurity": true, "key": true,
	"servicename": true, "mode": true, "authority": true, "extra": true, "sni": true,
	"alpn": true, "fp": true, "pbk": true, "sid": true, "spx": true, "spiderx": true, "pqv": true,
	"ech": true, "pcs": true, "vcn": true, "fm": true, "allowinsecure": true, "insecure": true,
	"allow_insecure": true, "ed": true, "eh": true, "flow": true, "packetencoding": true,
	"aid": true, "alterid": true,
}

// parseStdURI reads Xray's standard share link (XTLS/Xray-core
// discussion #716): vmess://uuid@host:port?type=…&security=…#name.
func parseStdURI(rest string) (*fullNode, []Diagnostic, error) {
	p, err := splitURL(rest)
	if err != nil {
		return nil, nil, err
	}
	var warns []Diagnostic
	warn := warnTo(&warns)
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectURI}, Name: p.fragment, Server: p.host, Port: p.port}}
	n.UUID = unescapeLenient(p.user)
	if err := checkID("uuid", n.UUID); err != nil {
		return nil, nil, err
	}
	q := parseQuery(p.query)
	for _, d := range q.dups {
		warn(d, "appears more than once; the first value is used")
	}
	if q.has("encryption") && q.get("encryption") == "" {
		warn("encryption", "is empty; the standard says omit it or write auto; using auto")
	}
	enc := q.get("encryption")
	c, ok := normaliseCipher(enc)
	if !ok {
		warn("encryption", "unknown cipher %q; using auto", clip(enc))
	}
	n.Cipher = c
	typ := q.get("type")
	nw, ok := normaliseNetwork(typ)
	if !ok {
		warn("type", "unknown transport %q; read as tcp", clip(typ))
	}
	n.Network = nw
	if err := transportParts[nw].readURI(n, q, warn); err != nil {
		return nil, warns, err
	}
	if ed := q.get("ed"); ed != "" {
		if v, ok := intOf(ed); ok && v > 0 {
			n.EarlyData = v
			n.EarlyDataHeader = q.get("eh")
		} else {
			warn("ed", "not a positive number; ignored")
		}
	}
	switch s := q.get("security"); s {
	case "", "none":
	case "tls", "reality":
		n.Security = s
	case "xtls":
		n.Security = "tls"
		warn("security", "legacy xtls is removed from Xray; read as tls")
	default:
		warn("security", "unknown value %q; want none, tls or reality; using none", clip(s))
	}
	n.readLinkTLS(uriTLSKeys, q.get)
	n.PublicKey = q.get("pbk")
	n.ShortID = q.get("sid")
	n.SpiderX = q.get("spx", "spiderX")
	n.PQV = q.get("pqv")
	if fm := q.get("fm"); fm != "" {
		if !json.Valid([]byte(fm)) {
			warn("fm", "is not JSON; ignored")
		} else {
			n.FinalMask = compactJSON(fm)
		}
	}
	if v := q.get("aid", "alterId"); v != "" {
		if a, ok := intOf(v); ok && a >= 0 && a <= 65535 {
			n.AlterID = a
		}
	}
	if q.get("flow") != "" {
		warn("flow", "is a VLESS parameter; ignored for VMess")
	}
	if v := q.get("packetEncoding"); v != "" {
		warn("packetEncoding", "mihomo-only parameter %q; not carried", clip(v))
	}
	for _, k := range q.keys {
		if !uriKnown[k] {
			warn(k, "unknown parameter ignored")
		}
	}
	sortDiags(warns)
	return n, warns, nil
}

// parseDraft1 reads v2fly's "VMess share link Draft 1":
// vmess://net[+tls]:uuid-aid@host:port/?params#tag.
func parseDraft1(rest string) (*fullNode, []Diagnostic, error) {
	p, err := splitURL(rest)
	if err != nil {
		return nil, nil, err
	}
	var warns []Diagnostic
	netw, cred, _ := strings.Cut(p.user, ":")
	netw = strings.ToLower(netw)
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectDraft1}, Name: p.fragment, Server: p.host, Port: p.port, Cipher: "auto"}}
	if strings.HasSuffix(netw, "+tls") {
		n.Security = "tls"
		netw = strings.TrimSuffix(netw, "+tls")
	}
	n.Network, _ = normaliseNetwork(netw)
	cred = unescapeLenient(cred)
	id := cred
	if i := strings.LastIndexByte(cred, '-'); i >= 0 && len(cred)-i <= 6 {
		if a, ok := intOf(cred[i+1:]); ok && a >= 0 {
			id, n.AlterID = cred[:i], a
		}
	}
	n.UUID = id
	if err := checkID("uuid", n.UUID); err != nil {
		return nil, nil, err
	}
	q := parseQuery(p.query)
	switch n.Network {
	case "raw":
		n.HeaderType = q.get("type")
	case "h2":
		n.Host = strings.ReplaceAll(q.get("host"), "|", ",")
		n.Path = q.get("path")
	case "ws":
		n.Host, n.Path = q.get("host"), q.get("path")
	case "kcp":
		n.HeaderType = q.get("type")
		n.Seed = q.get("seed")
	case "quic":
		n.HeaderType = q.get("type")
		n.QUICSecurity = q.get("security")
		n.QUICKey = q.get("key")
	case "grpc":
		n.ServiceName = q.get("serviceName")
	}
	n.SNI = q.get("tlsServerName")
	n.Insecure = truthy(q.get("allowInsecure"))
	return n, warns, nil
}

// parseVmess1 reads Kitsunebi's vmess1://uuid@host:port/path?network=…#remark.
func parseVmess1(rest string) (*fullNode, []Diagnostic, error) {
	p, err := splitURL(rest)
	if err != nil {
		return nil, nil, err
	}
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectKitsunebi}, Name: p.fragment, Server: p.host, Port: p.port}}
	n.UUID = unescapeLenient(p.user)
	if err := checkID("uuid", n.UUID); err != nil {
		return nil, nil, err
	}
	q := parseQuery(p.query)
	var warns []Diagnostic
	nw, ok := normaliseNetwork(q.get("network"))
	if !ok {
		warns = append(warns, Diagnostic{Severity: Warning, Field: "network", Message: "unknown transport; read as tcp"})
	}
	n.Network = nw
	if p.path != "" && p.path != "/" {
		n.Path = p.path
	}
	n.Host = q.get("ws.host", "host")
	if truthy(q.get("tls")) {
		n.Security = "tls"
	}
	n.Cipher, _ = normaliseCipher(q.get("security", "encryption"))
	return n, warns, nil
}

// parseRocket reads Shadowrocket and Kitsunebi links: base64 of
// "cipher:uuid@host:port" followed by a plain query string.
func parseRocket(b64, rawQuery, frag string) (*fullNode, []Diagnostic, error) {
	dec, err := decodeBase64Lenient(unescapeLenient(b64))
	if err != nil {
		return nil, nil, err
	}
	s := strings.TrimSpace(strings.TrimPrefix(string(dec), "\ufeff"))
	if strings.HasPrefix(s, "{") {
		// A v2rayN payload with a query glued on by some generator.
		n, warns, err := parseV2RayN(b64)
		if err == nil {
			warns = append(warns, Diagnostic{Severity: Warning, Field: "query", Message: "text after a v2rayN payload ignored"})
		}
		return n, warns, err
	}
	cred, hp, ok := cutLast(s, "@")
	if !ok {
		return nil, nil, errField("base64", "decodes to text without '@'; want cipher:uuid@host:port")
	}
	cipher, id, ok := strings.Cut(cred, ":")
	if !ok {
		return nil, nil, errField("base64", "decodes to text without 'cipher:'; want cipher:uuid@host:port")
	}
	p, err := splitURL("x@" + hp)
	if err != nil {
		return nil, nil, err
	}
	q := parseQuery(rawQuery)
	kitsunebi := q.has("network") || q.has("wsPath") || q.has("wsHost") || q.has("remark")
	n := &fullNode{Node: Node{Server: p.host, Port: p.port, UUID: id}}
	n.Origin.Dialect = DialectShadowrocket
	if kitsunebi {
		n.Origin.Dialect = DialectKitsunebi
	}
	if err := checkID("uuid", id); err != nil {
		return nil, nil, err
	}
	var warns []Diagnostic
	warn := warnTo(&warns)
	c, ok := normaliseCipher(cipher)
	if !ok {
		warn("cipher", "unknown cipher %q; using auto", clip(cipher))
	}
	n.Cipher = c
	n.Name = q.get("remarks", "remark")
	if n.Name == "" {
		n.Name = frag
	}
	if a := q.get("alterId", "aid"); a != "" {
		v, ok := intOf(a)
		if !ok || v < 0 || v > 65535 {
			return nil, nil, errField("alterId", "%q is not a number; want 0-65535", clip(a))
		}
		n.AlterID = v
	}
	if obfs := q.get("obfs"); !n.applyObfs(obfs) {
		warn("obfs", "unknown value %q; read as plain tcp", clip(obfs))
	}
	if nw := q.get("network"); nw != "" {
		v, ok := normaliseNetwork(nw)
		if !ok {
			warn("network", "unknown transport %q; read as tcp", clip(nw))
		}
		n.Network = v
	}
	if err := transportParts[n.network()].readURI(n, rocketTransport(n, q, warn), warn); err != nil {
		return nil, nil, err
	}
	if truthy(q.get("tls")) {
		n.Security = "tls"
	}
	n.readLinkTLS(rocketTLSKeys, q.get)
	n.TFO = truthy(q.get("tfo"))
	n.Mux = truthy(q.get("mux"))
	for _, k := range q.keys {
		if carried, known := rocketKnown[k]; !known {
			warn(k, "unknown parameter ignored")
		} else if !carried {
			warn(k, "not carried")
		}
	}
	sortDiags(warns)
	return n, warns, nil
}

// rocketKnown are the Shadowrocket and Kitsunebi parameters (lower-cased):
// true for those read, false for those known and not carried.
var rocketKnown = map[string]bool{
	"remarks": true, "remark": true, "alterid": true, "aid": true, "obfs": true, "obfsparam": true,
	"path": true, "wspath": true, "h2path": true, "wshost": true, "h2host": true, "network": true,
	"kcpheader": true, "seed": true, "tls": true, "peer": true, "sni": true, "tlsserver": true,
	"allowinsecure": true, "alpn": true, "fp": true, "pcs": true, "tfo": true, "mux": true, "servicename": true,
	"muxconcurrency": false, "uplinkcapacity": false, "downlinkcapacity": false,
}

// rocketTransport renames the transport keys of a Shadowrocket or
// Kitsunebi query to the standard link's (#716), so that the transport's
// part reads them: the host is wsHost or h2Host, else obfsParam (a host,
// or URL-escaped JSON of headers, which go on the node: the standard link
// has no key for them); path is the gRPC service name on grpc (as in
// v2rayN's link); kcpHeader is the mKCP header; the HTTP disguise that
// obfs=http set stays.
func rocketTransport(n *fullNode, q *query, warn warnFunc) *query {
	if op := q.get("obfsParam"); strings.HasPrefix(strings.TrimSpace(op), "{") {
		var hm map[string]any
		if err := json.Unmarshal([]byte(op), &hm); err != nil {
			warn("obfsParam", "looks like JSON but is not (%v); ignored", err)
		}
		for k, v := range hm {
			n.setHeader(k, str(v))
		}
	} else if op != "" {
		n.Host = op
	}
	std := &query{vals: map[string]string{}}
	set := func(k, v string) {
		if v != "" {
			std.keys = append(std.keys, strings.ToLower(k))
			std.vals[strings.ToLower(k)] = v
		}
	}
	set("host", firstNonEmpty(q.get("wsHost", "h2Host"), n.Host))
	set("path", q.get("path", "wsPath", "h2Path"))
	set("serviceName", q.get("path", "serviceName"))
	header := n.HeaderType
	if n.network() == "kcp" {
		header = q.get("kcpHeader")
	}
	set("headerType", header)
	set("seed", q.get("seed"))
	return std
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func compactJSON(s string) json.RawMessage {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}
