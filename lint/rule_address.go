package lint

import (
	"net"
	"strings"
)

// ruleAddressFormat reports a server address that is missing or empty, or
// that carries a scheme, a port or a path. Xray takes anything that is
// not an IP as a domain name, so "https://example.com:443/ws" is looked
// up as a host name and fails only when traffic flows.
type ruleAddressFormat struct{}

func (ruleAddressFormat) meta() RuleMeta {
	return RuleMeta{
		ID:       "address-format",
		Severity: Error,
		Summary:  "The server address is empty or is a URL rather than a host.",
		Help:     "Write only the host: an IP address (IPv6 may be in brackets) or a domain name. The port goes in `port`, a path in the transport settings (e.g. wsSettings.path).",
		Versions: "all",
	}
}

func (ruleAddressFormat) check(c *checkContext) {
	for _, s := range c.servers {
		m := present(s.node, "address")
		if m == nil {
			c.atMissing(s.place, "address").hint("add the server's `address`").
				report("server has no `address`; Xray refuses it (\"address\" is not set)")
			continue
		}
		a, ok := str(m.Value)
		if !ok {
			continue // schema reports the type
		}
		if why, fix := badAddress(a); why != "" {
			hint := "write only the host name or IP"
			if fix != "" {
				hint = "write `" + fix + "`"
			}
			c.atValue(s.ptr, m).hint(hint).reportf("address %q %s", a, why)
		}
	}
}

// badAddress explains what is wrong with a, and suggests the host part.
func badAddress(a string) (why, fix string) {
	t := strings.TrimSpace(a)
	if t == "" {
		return "is empty", ""
	}
	if strings.HasPrefix(t, "env:") {
		return "", ""
	}
	host := t
	if i := strings.Index(host, "://"); i >= 0 {
		why = "has a scheme (" + host[:i+3] + ")"
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		if why == "" {
			why = "has a path"
		}
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		if why == "" {
			why = "has user info"
		}
		host = host[i+1:]
	}
	if h, p, err := net.SplitHostPort(host); err == nil && p != "" {
		if why == "" {
			why = "has a port (" + p + "); the port goes in `port`"
		}
		host = h
	}
	if why == "" {
		if strings.ContainsAny(t, " \t") {
			return "contains spaces", strings.ReplaceAll(t, " ", "")
		}
		return "", ""
	}
	return why, host
}
