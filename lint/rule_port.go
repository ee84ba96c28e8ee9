package lint

import (
	"strconv"

	"github.com/xvmtools/xvm/schema"
)

// rulePortRange reports a server port that is missing, 0, out of range,
// fractional or a string. Xray refuses strings and out-of-range numbers
// and silently accepts 0 (which cannot be connected to).
type rulePortRange struct{}

func (rulePortRange) meta() RuleMeta {
	return RuleMeta{
		ID:       "port-range",
		Severity: Error,
		Summary:  "The server port is missing, 0, out of range or not a JSON number.",
		Help:     "Write the port as a JSON number from 1 to 65535 (no quotes).",
		Versions: "all",
	}
}

func (rulePortRange) check(c *checkContext) {
	for _, s := range c.servers {
		m := s.node.Member("port")
		if m == nil {
			c.reportf(s.ptr+"/port", false, "add `\"port\": 443` (the server's port)", "server has no `port`; Xray would dial port 0")
			continue
		}
		ptr := s.ptr + "/" + m.Key
		v := m.Value
		switch v.Kind {
		case schema.String:
			if n, err := strconv.Atoi(v.Text); err == nil {
				c.reportf(ptr, false, "remove the quotes: "+strconv.Itoa(n), "port is the string %q; Xray refuses a string here", v.Text)
			} else {
				c.reportf(ptr, false, "write the port as a number from 1 to 65535", "port is the string %q; Xray wants a number", v.Text)
			}
		case schema.Number:
			n, ok := v.Int()
			switch {
			case !ok:
				c.reportf(ptr, false, "write a whole number from 1 to 65535", "port %s is not a whole number; Xray refuses it", v.Text)
			case n < 0 || n > 65535:
				c.reportf(ptr, false, "use a port from 1 to 65535", "port %d is out of range (1-65535); Xray refuses it", n)
			case n == 0:
				c.reportf(ptr, false, "set the server's real port", "port 0 cannot be connected to (Xray accepts it silently)")
			}
		default:
			c.reportf(ptr, false, "write the port as a number from 1 to 65535", "port is a %s; Xray wants a number from 1 to 65535", v.Kind)
		}
	}
}
