package convert

import (
	"strings"

	"github.com/xvmtools/xvm/vmess"
)

// splitCSV splits on commas outside double quotes and trims each part.
func splitCSV(s string) []string {
	var parts []string
	inQ := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQ = !inQ
		case ',':
			if !inQ {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// kv splits "key=value" parts into a lower-cased map, first wins.
func kv(parts []string) (map[string]string, []string) {
	m := map[string]string{}
	var order []string
	for _, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := m[k]; dup {
			continue
		}
		m[k] = unquote(v)
		order = append(order, k)
	}
	return m, order
}

// isClientLine tells whether a line is a Quantumult X, Surge or Loon
// vmess line.
func isClientLine(s string) bool {
	return isNamedLine(s) || hasPrefixFold(s, "vmess=") || hasPrefixFold(s, "vmess =")
}

// isNamedLine tells a Surge or Loon line, "Name = vmess, host, port, …",
// whose first field after the '=' is the type. The name may itself be
// vmess, so this, not the line's first word, tells it from Quantumult X's
// "vmess=host:port, …", whose first field is the server.
func isNamedLine(s string) bool {
	_, rest, ok := strings.Cut(s, "=")
	if !ok {
		return false
	}
	typ, _, ok := strings.Cut(rest, ",")
	return ok && strings.EqualFold(strings.TrimSpace(typ), "vmess")
}

// hasPrefixFold is strings.HasPrefix ignoring case, without lower-casing
// a copy of the whole line.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseQuantumultX reads "vmess=host:port, method=…, password=uuid, …".
func parseQuantumultX(line string) (*fullNode, []Diagnostic, error) {
	_, rest, _ := strings.Cut(line, "=")
	parts := splitCSV(rest)
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectQuantumultX}}}
	p, err := splitURL("x@" + strings.TrimSpace(parts[0]))
	if err != nil {
		return nil, nil, err
	}
	n.Server, n.Port = p.host, p.port
	m, order := kv(parts[1:])
	var warns []Diagnostic
	warn := warnTo(&warns)
	n.UUID = m["password"]
	if err := checkID("password", n.UUID); err != nil {
		return nil, nil, err
	}
	c, ok := normaliseCipher(m["method"])
	if !ok {
		warn("method", "unknown cipher %q; using auto", clip(m["method"]))
	}
	n.Cipher = c
	n.Name = m["tag"]
	if o := m["obfs"]; !n.applyObfs(o) {
		warn("obfs", "unknown value %q; read as plain tcp", clip(o))
	}
	n.Host = m["obfs-host"]
	n.Path = m["obfs-uri"]
	n.SNI = m["tls-host"]
	if strings.EqualFold(m["obfs"], "over-tls") {
		// TLS straight on TCP: there is no HTTP request for obfs-host to
		// be the Host header of; it names the TLS server.
		if n.SNI == "" {
			n.SNI = n.Host
		}
		n.Host = ""
	}
	if v, ok := m["tls-verification"]; ok {
		n.Insecure = !truthy(v)
	}
	n.TFO = truthy(m["fast-open"])
	n.UDP = udpRelay(m["udp-relay"])
	if v, ok := m["aead"]; ok && !truthy(v) {
		n.AlterID = 1
		warn("aead", "false means legacy (alterId) authentication; read as alterId 1")
	}
	for _, k := range order {
		switch k {
		case "method", "password", "tag", "obfs", "obfs-host", "obfs-uri", "tls-host",
			"tls-verification", "fast-open", "udp-relay", "aead", "tls13",
			"server_check_url": // the client's own latency check, nothing to carry
		default:
			warn(k, "unknown key ignored")
		}
	}
	return n, warns, nil
}

// parseNamedLine reads Surge ("Name = vmess, host, port, username=uuid,
// …"), Loon and old Quantumult ("Name = vmess, host, port, cipher,
// \"uuid\", …") lines. quantumult is set for the base64-wrapped form.
func parseNamedLine(line string, quantumult bool) (*fullNode, []Diagnostic, error) {
	name, rest, _ := strings.Cut(line, "=")
	parts := splitCSV(rest)
	if len(parts) < 3 || !strings.EqualFold(parts[0], "vmess") {
		return nil, nil, errField("line", "want \"Name = vmess, host, port, …\"")
	}
	n := &fullNode{Node: Node{Name: strings.TrimSpace(name), Server: normaliseServer(parts[1])}}
	var err error
	if n.Port, err = port("port", parts[2]); err != nil {
		return nil, nil, err
	}
	var warns []Diagnostic
	warn := warnTo(&warns)
	rest4 := parts[3:]
	surge := len(rest4) == 0 || strings.Contains(rest4[0], "=")
	if surge {
		n.Origin.Dialect = DialectSurge
	} else {
		n.Origin.Dialect = DialectLoon
		if quantumult {
			n.Origin.Dialect = DialectQuantumult
		}
		if looksLikeID(rest4[0]) {
			// The cipher is left out: this is the id. (Taking it for a
			// cipher printed the id in a warning and took the next
			// key=value for the id.)
			warn("cipher", "none given; using auto")
			n.Cipher = "auto"
		} else {
			c, ok := normaliseCipher(rest4[0])
			if !ok {
				warn("cipher", "unknown cipher %q; using auto", clip(rest4[0]))
			}
			n.Cipher = c
			rest4 = rest4[1:]
		}
		if len(rest4) == 0 || strings.Contains(rest4[0], "=") && !strings.HasPrefix(rest4[0], `"`) {
			return nil, nil, errField("uuid", "missing; want the quoted uuid after the cipher")
		}
		n.UUID = unquote(rest4[0])
		rest4 = rest4[1:]
	}
	m, order := kv(rest4)
	if surge {
		n.UUID = m["username"]
		if !truthy(m["vmess-aead"]) {
			n.AlterID = 1
			warn("vmess-aead", "not true: Surge uses legacy (alterId) authentication; read as alterId 1")
		}
	}
	if err := checkID("uuid", n.UUID); err != nil {
		return nil, nil, err
	}
	if truthy(m["ws"]) {
		n.Network = "ws"
	}
	switch t := strings.ToLower(m["transport"]); t {
	case "", "tcp":
	case "ws":
		n.Network = "ws"
	case "http":
		n.HeaderType = "http"
	default:
		warn("transport", "unknown transport %q; read as tcp", clip(t))
	}
	if o := m["obfs"]; !n.applyObfs(o) {
		warn("obfs", "unknown value %q; read as plain tcp", clip(o))
	}
	n.Path = firstNonEmpty(m["ws-path"], m["path"], m["obfs-path"])
	n.Host = m["host"]
	for _, h := range strings.Split(m["ws-headers"], "|") {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			continue
		}
		n.setHeader(strings.TrimSpace(k), unquote(v))
	}
	if oh := m["obfs-header"]; oh != "" {
		oh = strings.NewReplacer("[Rr][Nn]", "\n", "[rr][nn]", "\n").Replace(oh)
		for _, h := range strings.Split(oh, "\n") {
			if k, v, ok := strings.Cut(h, ":"); ok {
				n.setHeader(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
	}
	if truthy(m["tls"]) || truthy(m["over-tls"]) {
		n.Security = "tls"
	}
	n.SNI = firstNonEmpty(m["sni"], m["tls-name"], m["tls-host"])
	n.Insecure = truthy(m["skip-cert-verify"])
	if v, ok := m["certificate"]; ok && !truthy(v) {
		n.Insecure = true
	}
	if a := m["alterid"]; a != "" {
		if v, ok := intOf(a); ok && v >= 0 && v <= 65535 {
			n.AlterID = v
		}
	}
	n.TFO = truthy(m["tfo"])
	n.UDP = udpRelay(m["udp-relay"])
	for _, k := range order {
		switch k {
		case "username", "vmess-aead", "ws", "transport", "obfs", "ws-path", "path", "obfs-path",
			"host", "ws-headers", "obfs-header", "tls", "over-tls", "sni", "tls-name", "tls-host",
			"skip-cert-verify", "certificate", "alterid", "tfo", "udp-relay", "tls13", "group":
		default:
			warn(k, "unknown key ignored")
		}
	}
	return n, warns, nil
}

// looksLikeID tells the id from a cipher in the positional fields of a
// Loon or Quantumult line: the id is quoted, or has a UUID's length and
// shape; no cipher name is either.
func looksLikeID(field string) bool {
	if strings.HasPrefix(field, `"`) {
		return true
	}
	if len(field) < 32 || len(field) > 36 {
		return false
	}
	_, err := vmess.ParseID(field)
	return err == nil
}

func (n *fullNode) setHeader(k, v string) {
	if k == "" {
		return
	}
	if strings.EqualFold(k, "host") {
		n.Host = v
		return
	}
	if n.Headers == nil {
		n.Headers = map[string]string{}
	}
	n.Headers[k] = v
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
