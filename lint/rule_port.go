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
		ID:         "port-range",
		Severity:   Error,
		Summary:    "The server port is missing, 0, out of range or not a JSON number.",
		Help:       "Write the port as a JSON number from 1 to 65535 (no quotes).",
		Versions:   "all",
		Supersedes: []string{"schema"},
	}
}

func (rulePortRange) check(c *checkContext) {
	for _, s := range c.servers {
		m := present(s.node, "port")
		if m == nil {
			c.atMissing(s.place, "port").hint("add `\"port\": 443` (the server's port)").report("server has no `port`; Xray would dial port 0")
			continue
		}
		at := c.atValue(s.ptr, m)
		v := m.Value
		switch v.Kind {
		case schema.String:
			if n, err := strconv.Atoi(v.Text); err == nil {
				at.hint("remove the quotes: "+strconv.Itoa(n)).reportf("port is the string %q; Xray refuses a string here", v.Text)
			} else {
				at.hint("write the port as a number from 1 to 65535").reportf("port is the string %q; Xray wants a number", v.Text)
			}
		case schema.Number:
			n, ok := v.Int()
			switch {
			case !ok:
				at.hint("write a whole number from 1 to 65535").reportf("port %s is not a whole number; Xray refuses it", v.Text)
			case n < 0 || n > 65535:
				at.hint("use a port from 1 to 65535").reportf("port %d is out of range (1-65535); Xray refuses it", n)
			case n == 0:
				at.hint("set the server's real port").report("port 0 cannot be connected to (Xray accepts it silently)")
			}
		default:
			at.hint("write the port as a number from 1 to 65535").reportf("port is a %s; Xray wants a number from 1 to 65535", v.Kind)
		}
	}
}
