package lint

import (
	"github.com/xvmtools/xvm/schema"
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

// badAddress explains what is wrong with a, and suggests the host part;
// convert refuses the same addresses (schema.AddressProblem).
func badAddress(a string) (why, fix string) {
	return schema.AddressProblem(a)
}
