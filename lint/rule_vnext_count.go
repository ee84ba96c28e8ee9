package lint

import "github.com/xvmtools/xvm/schema"

// ruleVnextCount reports a VMess settings object without a server, and
// vnext or users lists that are empty or, for current Xray, longer than
// one: current Xray refuses them ("should have one and only one member").
type ruleVnextCount struct{}

func (ruleVnextCount) meta() RuleMeta {
	return RuleMeta{
		ID:       "vnext-count",
		Severity: Error,
		Summary:  "`vnext` or `users` is missing, empty, or (current Xray) has more than one entry.",
		Help:     "Current Xray wants exactly one server in `vnext` and one user in `users`: split the others into separate outbounds and group them with a routing balancer. The seed manual allowed several.",
		Versions: "xray: exactly one since v1.8.x (v26.3.27 refuses more); seed: one or more",
	}
}

func (ruleVnextCount) check(c *checkContext) {
	for _, sv := range c.settings {
		if sv.node == nil {
			c.reportf(sv.ptr, false, "add `settings` with a `vnext` server", "VMess outbound has no `settings`; Xray refuses it (\"vnext\" should have one and only one member)")
			continue
		}
		if sv.node.Get("address") != nil {
			if m := sv.node.Member("vnext"); m != nil {
				c.reportSev(Warning, sv.ptr+"/"+m.Key, true, "remove `vnext`, or remove the flat `address`/`port`/`id`",
					"`vnext` is ignored: `address` is set, so Xray reads the flat form and never looks at `vnext`")
			}
			continue // flat form
		}
		m := sv.node.Member("vnext")
		if m == nil {
			c.reportf(sv.ptr+"/vnext", false, "add a `vnext` list with one server, or use the flat form (address, port, id)", "VMess settings have no `vnext` and no `address`; Xray refuses them")
			continue
		}
		if m.Value.Kind != schema.Array {
			continue // schema reports the type
		}
		c.count(sv.ptr+"/"+m.Key, len(m.Value.Items), "vnext", "server", "use one outbound per server and a routing balancer")
	}
	for _, s := range c.servers {
		if s.flat {
			continue
		}
		m := s.node.Member("users")
		if m == nil {
			c.reportf(s.ptr+"/users", false, "add `users` with one user", "server has no `users`; Xray refuses it (\"users\" should have one and only one member)")
			continue
		}
		if m.Value.Kind != schema.Array {
			continue
		}
		c.count(s.ptr+"/"+m.Key, len(m.Value.Items), "users", "user", "use one outbound per user and a routing balancer")
	}
}

func (c *checkContext) count(ptr string, n int, key, what, split string) {
	switch {
	case n == 0:
		c.reportf(ptr, false, "add one "+what, "`%s` is empty; Xray refuses it (needs exactly one %s)", key, what)
	case n > 1 && c.target != TargetSeed:
		c.reportf(ptr, false, split, "`%s` has %d entries; current Xray refuses more than one %s", key, n, what)
	}
}
