package convert

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/vmess"
)

// Weakly typed readers: real-world dialects write numbers as strings,
// booleans as "1"/"true"/"tls", and so on.

// str reads a value as a string; numbers and booleans are formatted.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// intOf reads an integer from a number or a numeric string. Empty gives
// (0, true); anything else that is not an integer gives false.
func intOf(v any) (int, bool) {
	switch x := v.(type) {
	case nil:
		return 0, true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<31 {
			return 0, false
		}
		return int(x), true
	case int:
		return x, true
	case int64:
		if x > 1<<31 || x < -(1<<31) {
			return 0, false
		}
		return int(x), true
	case uint64:
		if x > 1<<31 {
			return 0, false
		}
		return int(x), true
	}
	s := str(v)
	if s == "" {
		return 0, true
	}
	i, err := strconv.Atoi(s)
	if err != nil || i > 1<<31 || i < -(1<<31) {
		return 0, false
	}
	return i, true
}

// truthy reads a boolean from true/false, 1/0, yes/no, on/off, tls.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case nil:
		return false
	}
	switch strings.ToLower(str(v)) {
	case "1", "true", "yes", "on", "tls":
		return true
	}
	return false
}

// port reads and range-checks a port.
func port(field string, v any) (int, error) {
	p, ok := intOf(v)
	if !ok {
		return 0, errField(field, "%q is not a number; want a port 1-65535", clip(str(v)))
	}
	if p < 1 || p > 65535 {
		if str(v) == "" {
			return 0, errField(field, "missing; want a port 1-65535")
		}
		return 0, errField(field, "%d is out of range; want a port 1-65535", p)
	}
	return p, nil
}

// clip shortens untrusted text for messages.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// splitList splits a comma list, trimming and dropping empty parts.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// firstOf returns the first element of a comma list.
func firstOf(s string) string {
	if l := splitList(s); len(l) > 0 {
		return l[0]
	}
	return ""
}

// normaliseCipher maps the cipher names of every dialect to VMess names.
// ok is false for a name no dialect defines.
func normaliseCipher(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return "auto", true
	case "aes-128-gcm", "aes128gcm":
		return "aes-128-gcm", true
	case "chacha20-poly1305", "chacha20-ietf-poly1305", "chacha20poly1305":
		return "chacha20-poly1305", true
	case "none":
		return "none", true
	case "zero":
		return "zero", true
	}
	return "auto", false
}

// normaliseNetwork maps a dialect's transport name onto the one
// vocabulary every package uses (vmess.StreamNetwork: raw, ws, grpc,
// httpupgrade, xhttp, kcp, and the removed h2 and quic), plus two link
// spellings: "none" (v2rayN's placeholder) is raw, "gun" is grpc. ok is
// false for a name no dialect defines (and for hysteria, which VMess
// links do not carry); the node then reads as raw.
func normaliseNetwork(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return "raw", true
	case "gun":
		return "grpc", true
	}
	n, ok := vmess.StreamNetwork(s)
	if !ok || n == "hysteria" {
		return "raw", false
	}
	return n, true
}

// applyObfs reads the "obfs" value of Quantumult X, Surge/Loon-style lines
// and Shadowrocket links (ws, websocket, wss, over-tls, http, grpc; empty or
// none for plain tcp) into the node. It reports false for a value no
// dialect defines, leaving the node as plain tcp.
func (n *fullNode) applyObfs(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "none":
	case "ws", "websocket":
		n.Network = "ws"
	case "wss":
		n.Network, n.Security = "ws", "tls"
	case "over-tls":
		n.Security = "tls"
	case "http":
		n.HeaderType = "http"
	case "grpc":
		n.Network = "grpc"
	default:
		return false
	}
	return true
}

// normaliseServer trims and strips IPv6 brackets.
func normaliseServer(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	return s
}

// checkID validates a user id exactly as Xray does (vmess.ParseID: a hex
// UUID of 32-36 bytes with dashes only between groups, or a name of 1-30
// bytes mapped to UUIDv5). The error never repeats the id.
func checkID(field, id string) error {
	if id == "" {
		return errField(field, "missing; want the user id (a UUID)")
	}
	if _, err := vmess.ParseID(id); err != nil {
		return errField(field, "is not a UUID Xray reads (%s); want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx or a name of 1-30 bytes", schema.IDProblem(err))
	}
	return nil
}

// checkAddress refuses a server address that is not a bare host name or
// IP — a URL, host:port, a path, spaces — by the rule xvm lint's
// address-format applies (schema.AddressProblem), so that whatever
// convert writes lints clean and reads back. Xray would load such an
// address and fail only when traffic flows. The address is quoted unless
// it holds the user id.
func checkAddress(field, addr, id string) error {
	why, _ := schema.AddressProblem(addr)
	switch {
	case why == "":
		return nil
	case strings.TrimSpace(addr) == "":
		return errField(field, "is empty; want the server's host name or IP address")
	case id != "" && strings.Contains(addr, id):
		return errField(field, "%s; want only the server's host name or IP address", why)
	}
	return errField(field, "%q %s; want only the server's host name or IP address", clip(addr), why)
}

// readServer reads the server address, port and user id of a decoded
// entry (v2rayN JSON, Clash, sing-box) under the dialect's own keys. A
// key that is absent is "missing"; one that is present but empty "is
// empty".
func (n *fullNode) readServer(m map[string]any, serverKey, portKey, idKey string) error {
	v, ok := m[serverKey]
	if !ok || v == nil {
		return errField(serverKey, "missing; want the server address")
	}
	n.Server = normaliseServer(str(v))
	if err := checkAddress(serverKey, n.Server, str(m[idKey])); err != nil {
		return err
	}
	var err error
	if n.Port, err = port(portKey, m[portKey]); err != nil {
		return err
	}
	v, ok = m[idKey]
	n.UUID = str(v)
	if ok && v != nil && n.UUID == "" {
		return errField(idKey, "is empty; want the user id (a UUID)")
	}
	return checkID(idKey, n.UUID)
}

// validate checks what every node needs, whatever its dialect.
func (n *fullNode) validate() error {
	if n.Server == "" {
		return errField(n.sourceField("server"), "missing; want a host name or IP address")
	}
	if err := checkAddress(n.sourceField("server"), n.Server, n.UUID); err != nil {
		return err
	}
	if n.Port < 1 || n.Port > 65535 {
		return errField("port", "%d is out of range; want 1-65535", n.Port)
	}
	if err := checkID("id", n.UUID); err != nil {
		return err
	}
	return n.checkValues()
}

// checkValues refuses values no client can use and Xray refuses to load:
// a bad REALITY key, shortId or ML-DSA key, fromMitm among other ALPN
// protocols, a pinned hash that is not SHA-256 hex, a
// finalmask with an unknown mask type. Dropping any of them would change
// which server the node reaches or weaken its checks, so the node is
// refused rather than written without them. (An unknown fingerprint only
// changes the ClientHello, so emitters drop it with a warning instead.)
func (n *fullNode) checkValues() error {
	bad := func(key, format string, err error) error {
		return errField(n.sourceField(key), format, err)
	}
	if strings.EqualFold(n.Security, "reality") {
		if n.PublicKey != "" {
			if err := schema.CheckRealityPublicKey(n.PublicKey); err != nil {
				return bad("pbk", "REALITY public key %v", err)
			}
		}
		if err := schema.CheckShortID(n.ShortID); err != nil {
			return bad("sid", "REALITY shortId %v", err)
		}
		if err := schema.CheckMldsa65Verify(n.PQV); err != nil {
			return bad("pqv", "REALITY ML-DSA-65 key %v", err)
		}
	}
	if err := schema.CheckALPN(n.ALPN); err != nil {
		return bad("alpn", "%v", err)
	}
	if n.PCS != "" {
		if err := schema.CheckPinnedPeerCertSHA256(n.PCS); err != nil {
			return bad("pcs", "pinned certificate hash %v", err)
		}
	}
	if len(n.FinalMask) > 0 {
		if err := schema.CheckFinalMask(n.FinalMask); err != nil {
			return bad("fm", "finalmask %v", err)
		}
	}
	return nil
}

// sourceField names a value (by its share-link parameter) the way the
// node's own dialect spells it, so an error points at the text to fix.
func (n *fullNode) sourceField(key string) string {
	var names map[string]string
	switch n.Origin.Dialect {
	case DialectV2RayN:
		names = map[string]string{"server": "add"}
	case DialectQuantumultX:
		names = map[string]string{"server": "vmess"}
	case DialectClash:
		names = map[string]string{"pbk": "reality-opts.public-key", "sid": "reality-opts.short-id", "pcs": "fingerprint"}
	case DialectSingBox:
		names = map[string]string{"pbk": "tls.reality.public_key", "sid": "tls.reality.short_id", "alpn": "tls.alpn"}
	case DialectXray:
		names = map[string]string{
			"server": "settings.address",
			"pbk":    "streamSettings.realitySettings.publicKey", "sid": "streamSettings.realitySettings.shortId",
			"pqv": "streamSettings.realitySettings.mldsa65Verify", "alpn": "streamSettings.tlsSettings.alpn",
			"pcs": "streamSettings.tlsSettings.pinnedPeerCertSha256", "fm": "streamSettings.finalmask",
		}
	}
	if f, ok := names[key]; ok {
		return f
	}
	return key
}

// fixDefaults fills implied values so that every dialect yields the same
// node for the same server.
func (n *fullNode) fixDefaults() {
	n.Server = normaliseServer(n.Server)
	if n.Cipher == "" {
		n.Cipher = "auto"
	}
	if n.Network == "" {
		n.Network = "raw"
	}
	if n.HeaderType == "none" {
		n.HeaderType = ""
	}
	if n.Security == "none" {
		n.Security = ""
	}
	if n.GRPCMode == "gun" {
		n.GRPCMode = ""
	}
	if n.XHTTPMode == "auto" {
		n.XHTTPMode = ""
	}
	if n.Name == "" {
		n.Name = joinHostPort(n.Server, n.Port)
	}
	if len(n.ALPN) == 0 {
		n.ALPN = nil
	}
	if len(n.Headers) == 0 {
		n.Headers = nil
	}
}

// warnTo returns a reader's warn function, which adds a field Warning to
// *warns.
func warnTo(warns *[]Diagnostic) func(field, format string, args ...any) {
	return func(field, format string, args ...any) {
		*warns = append(*warns, Diagnostic{Severity: Warning, Field: field, Message: fmt.Sprintf(format, args...)})
	}
}

// unescapeLenient percent-decodes s, keeping invalid escapes literally
// (a remark like "100%off" must survive).
func unescapeLenient(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// sortDiags orders field diagnostics by field for stable output.
func sortDiags(d []Diagnostic) {
	sort.SliceStable(d, func(i, j int) bool { return d[i].Field < d[j].Field })
}
