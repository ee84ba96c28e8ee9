package lint

import (
	"net"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

func isIPLiteral(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return net.ParseIP(s) != nil
}

// ruleDuplicateTag reports two outbounds with the same tag. Xray fails at
// start-up ("existing tag found").
type ruleDuplicateTag struct{}

func (ruleDuplicateTag) meta() RuleMeta {
	return RuleMeta{
		ID:       "duplicate-tag",
		Severity: Error,
		Summary:  "Two outbounds share a tag; Xray fails at start-up.",
		Help:     "Give every outbound its own tag. When configs are merged (-confdir), a later file's outbound with the same tag replaces the earlier one instead.",
		Versions: "all",
	}
}

func (ruleDuplicateTag) check(c *checkContext) {
	// Pointers are built only for a duplicate: most tags are unique.
	tagPtr := func(ob *outboundView) string { return schema.Child(ob.ptr, present(ob.node, "tag").Key) }
	seen := make(map[string]*outboundView)
	for _, ob := range c.outbounds {
		if ob.tag == "" {
			continue
		}
		if first, dup := seen[ob.tag]; dup {
			c.atValue(ob.ptr, present(ob.node, "tag")).hint("rename one of them").
				reportf("outbound tag %q is already used at %s; Xray fails at start-up", ob.tag, tagPtr(first))
			continue
		}
		seen[ob.tag] = ob
	}
}

// ruleUnknownOutboundTag reports routing rules and balancers that name an
// outbound tag no outbound has. The API's tag counts as one: Xray's
// commander registers an outbound under it (app/commander: AddHandler),
// and routing the API inbound to it is how the stats API is set up.
type ruleUnknownOutboundTag struct{}

func (ruleUnknownOutboundTag) meta() RuleMeta {
	return RuleMeta{
		ID:       "unknown-outbound-tag",
		Severity: Error,
		Summary:  "A routing rule points at an outbound tag that does not exist.",
		Help:     "Use the tag of an existing outbound (or add the outbound). Traffic matched by the rule otherwise fails.",
		Versions: "all",
	}
}

func (ruleUnknownOutboundTag) check(c *checkContext) {
	if c.kind != schema.ConfigKind {
		return
	}
	tags := make(map[string]bool)
	var list []string
	for _, ob := range c.outbounds {
		tags[ob.tag] = true
		if ob.tag != "" {
			list = append(list, ob.tag)
		}
	}
	root := place{node: c.doc.Root}
	if t, ok := str(get(root.member("api").node, "tag")); ok && t != "" && !tags[t] {
		tags[t] = true
		list = append(list, t)
	}
	routing := root.member("routing")
	if !routing.object() {
		return
	}
	hint := func(t string) string { return hintTag(t, list) }
	if len(list) > maxCompared {
		g := newSuggester(list) // once, for every bad reference
		hint = func(t string) string {
			if s := g.suggest(t); s != "" {
				return "did you mean `" + s + "`?"
			}
			return hintTag(t, nil)
		}
	}
	bs := routing.member("balancers")
	if bs.node != nil && bs.node.Kind == schema.Array {
		for i, b := range bs.node.Items {
			if m, t, ok := strMember(b, "fallbackTag"); ok && t != "" && !tags[t] {
				c.atValue(schema.Index(bs.ptr, i), m).hint(hint(t)).reportf("balancer fallbackTag %q names no outbound", t)
			}
		}
	}
	rules := routing.member("rules")
	if rules.node == nil || rules.node.Kind != schema.Array {
		return
	}
	for i, r := range rules.node.Items {
		m, t, ok := strMember(r, "outboundTag")
		if !ok || t == "" || tags[t] {
			continue
		}
		c.atValue(schema.Index(rules.ptr, i), m).hint(hint(t)).
			reportf("routing rule sends traffic to outbound tag %q, which no outbound has", t)
	}
}

func hintTag(t string, tags []string) string {
	if s := didYouMean(t, tags); s != "" {
		return "did you mean `" + s + "`?"
	}
	if len(tags) > 0 && len(tags) <= 8 {
		return "outbound tags: " + strings.Join(tags, ", ")
	}
	return "add an outbound with this tag or fix the name"
}
