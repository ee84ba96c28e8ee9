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
			c.atMissing(sv.ob.place, "settings").hint("add `settings` with a `vnext` server").
				report("VMess outbound has no `settings`; Xray refuses it (\"vnext\" should have one and only one member)")
			continue
		}
		if get(sv.node, "address") != nil {
			if m := present(sv.node, "vnext"); m != nil {
				c.atKey(sv.ptr, m).severity(Warning).hint("remove `vnext`, or remove the flat `address`/`port`/`id`").
					report("`vnext` is ignored: `address` is set, so Xray reads the flat form and never looks at `vnext`")
			}
			continue // flat form
		}
		vnext := sv.member("vnext")
		if vnext.node == nil {
			c.atMissing(sv.place, "vnext").hint("add a `vnext` list with one server, or use the flat form (address, port, id)").
				report("VMess settings have no `vnext` and no `address`; Xray refuses them")
			continue
		}
		if vnext.node.Kind != schema.Array {
			continue // schema reports the type
		}
		c.count(vnext, "vnext", "server", "use one outbound per server and a routing balancer")
	}
	for _, s := range c.servers {
		if s.flat {
			continue
		}
		users := s.member("users")
		if users.node == nil {
			c.atMissing(s.place, "users").hint("add `users` with one user").
				report("server has no `users`; Xray refuses it (\"users\" should have one and only one member)")
			continue
		}
		if users.node.Kind != schema.Array {
			continue
		}
		c.count(users, "users", "user", "use one outbound per user and a routing balancer")
	}
}

// count reports a vnext or users list that is empty or, for current Xray,
// longer than one.
func (c *checkContext) count(list place, key, what, split string) {
	switch n := len(list.node.Items); {
	case n == 0:
		c.atPlace(list).hint("add one "+what).reportf("`%s` is empty; Xray refuses it (needs exactly one %s)", key, what)
	case n > 1 && c.target != RuntimeSeed:
		c.atPlace(list).hint(split).reportf("`%s` has %d entries; current Xray refuses more than one %s", key, n, what)
	}
}
