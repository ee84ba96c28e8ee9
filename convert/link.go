package convert

import (
	"fmt"
	"strings"
)

// ParseLink reads one share link or client config line of any supported
// dialect and returns the node and warnings about fields that were
// non-standard, unknown or ignored. An error names the field and what was
// expected; it never contains the user id.
func ParseLink(s string) (*Node, []Diagnostic, error) {
	n, warns, err := parseLink(s)
	if err != nil {
		return nil, warns, err
	}
	if err := n.validate(); err != nil {
		return nil, warns, err
	}
	n.fixDefaults()
	return n.compact(), warns, nil
}

func parseLink(s string) (*fullNode, []Diagnostic, error) {
	var glued []Diagnostic
	s = strings.TrimSpace(s)
	if parts := splitGlued(s); len(parts) > 1 {
		// Parse reads every part; one link is asked for here.
		s = parts[0]
		glued = append(glued, Diagnostic{Severity: Warning, Field: "link", Message: fmt.Sprintf(
			"%d links run together on one line; only the first is read", len(parts))})
	}
	if body := strings.TrimRight(s, gluedSeparators); body != s && isV2RayNBody(body) {
		glued = append(glued, Diagnostic{Severity: Warning, Field: "link", Message: fmt.Sprintf(
			"%q after the link ignored", clip(s[len(body):]))})
		s = body
	}
	n, warns, err := parseLinkDialect(s)
	warns = append(glued, warns...)
	if err != nil {
		return n, warns, err
	}
	if w := n.hostAsServerName(); w != nil {
		warns = append(warns, *w)
	}
	return n, warns, nil
}

// hostAsServerName applies v2rayN's server-name rule to a link with TLS on
// raw TCP, no sni and a host: v2rayN sends the first host
// (V2rayOutboundService.cs, FillBoundStreamSettings: sni, else the first
// of host, else nothing and the core uses the address), while Xray and
// mihomo would send the address. v2rayN defines the format, so the host
// wins; the node records it as its SNI and a warning says so. (On ws,
// httpupgrade, xhttp and gRPC every peer already takes the Host header or
// authority, so nothing is chosen there.)
func (n *fullNode) hostAsServerName() *Diagnostic {
	if n.Security != "tls" || n.SNI != "" || n.network() != "raw" {
		return nil
	}
	h := firstOf(n.Host)
	if h == "" {
		return nil
	}
	n.SNI = h
	return &Diagnostic{Severity: Warning, Field: "sni", Message: fmt.Sprintf(
		"none given; the TLS server name is the host %q, as v2rayN sends it (Xray and mihomo would send the address)", clip(h))}
}

func parseLinkDialect(s string) (*fullNode, []Diagnostic, error) {
	s = strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	lower := strings.ToLower(s[:min(len(s), 10)])
	switch {
	case strings.HasPrefix(lower, "vmess1://"):
		return parseVmess1(s[len("vmess1://"):])
	case strings.HasPrefix(lower, "vmess://"):
		return parseVmessScheme(s[len("vmess://"):])
	case isNamedLine(s):
		return parseNamedLine(s, false)
	case isClientLine(s):
		return parseQuantumultX(s)
	}
	scheme, _, ok := strings.Cut(s, "://")
	if ok && len(scheme) < 20 {
		return nil, nil, errField("scheme", "%s:// is not VMess; want a vmess:// link", clip(scheme))
	}
	return nil, nil, errField("link", "not a share link; want vmess://…, or a Quantumult X, Surge or Loon vmess line")
}

// parseVmessScheme tells the vmess:// families apart (docs/formats.md#telling-the-dialects-apart).
func parseVmessScheme(body string) (*fullNode, []Diagnostic, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return nil, nil, errField("link", "empty after vmess://; want a base64 payload or uuid@host:port")
	}
	if body[0] == '{' {
		return parseV2RayN(body)
	}
	head := body
	if i := strings.IndexAny(head, "?#"); i >= 0 {
		head = head[:i]
	}
	if at := strings.LastIndexByte(head, '@'); at > 0 {
		user := head[:at]
		if isDraft1User(unescapeLenient(user)) {
			return parseDraft1(body)
		}
		return parseStdURI(body)
	}
	// base64 followed by a plain query: Shadowrocket / Kitsunebi.
	if i := strings.IndexByte(body, '?'); i >= 0 {
		b64 := body[:i]
		q := body[i+1:]
		frag := ""
		if j := strings.IndexByte(q, '#'); j >= 0 {
			frag = unescapeLenient(q[j+1:])
			q = q[:j]
		}
		return parseRocket(b64, q, frag)
	}
	payload := body
	frag := ""
	if i := strings.IndexByte(payload, '#'); i >= 0 {
		payload, frag = payload[:i], unescapeLenient(payload[i+1:])
	}
	first, _, _ := strings.Cut(strings.TrimSpace(payload), " ")
	dec, err := decodeBase64Lenient(unescapeLenient(first))
	if err == nil {
		t := strings.TrimSpace(strings.TrimPrefix(string(dec), "\ufeff"))
		switch {
		case strings.HasPrefix(t, "{"):
			// v2rayN JSON: handled below with the full procedure.
		case isNamedLine(t):
			return parseNamedLine(t, true)
		case strings.Contains(t, "@") && !strings.Contains(t, "{"):
			// Bare Shadowrocket without a query.
			return parseRocket(payload, "", frag)
		}
	}
	return parseV2RayN(body)
}
