package lint

import (
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// ruleUnknownKey reports keys Xray does not know. Xray's JSON decoder
// ignores them silently, so a typo such as `secuirty` simply does nothing.
type ruleUnknownKey struct{}

func (ruleUnknownKey) meta() RuleMeta {
	return RuleMeta{
		ID:       "unknown-key",
		Severity: Warning,
		Summary:  "A key Xray does not know; Xray ignores it silently.",
		Help:     "Fix the spelling (a suggestion is given when one is close) or remove the key. Xray never reports unknown keys, so the setting you meant is not applied.",
		Versions: "all (Xray has always ignored unknown keys)",
	}
}

func (ruleUnknownKey) check(c *checkContext) {
	// The findings of one object share its list of known keys: join it and
	// index it for suggestions once per object, not once per unknown key.
	type object struct {
		hint string
		g    *suggester
	}
	objects := make(map[*schema.FindingDetail]object)
	for _, f := range c.findings {
		if f.Kind != schema.UnknownKey || removedKeyReason(f.Pointer, c.target) != "" {
			continue
		}
		if f.Key == "alterId" {
			continue // alter-id explains it
		}
		at := c.atFindingKey(f)
		if why := elsewhere(f.Key); why != "" {
			at.hint("remove it").reportf("unknown key `%s` (%s); Xray ignores it silently", f.Key, why)
			continue
		}
		var o object
		if known := f.Detail.Known; len(known) > 0 {
			var seen bool
			if o, seen = objects[f.Detail]; !seen {
				o = object{hint: "remove it, or check the spelling against `xvm schema`", g: newSuggester(known)}
				if len(known) <= 12 {
					o.hint = "known keys here: " + strings.Join(known, ", ")
				}
				objects[f.Detail] = o
			}
		}
		if o.g != nil {
			if s := o.g.suggest(f.Key); s != "" {
				at.hint("rename it to `"+s+"`").reportf("unknown key `%s` (did you mean `%s`?); Xray ignores it silently", f.Key, s)
				continue
			}
		}
		if o.hint == "" {
			o.hint = "remove it, or check the spelling against `xvm schema`"
		}
		at.hint(o.hint).reportf("unknown key `%s`; Xray ignores it silently", f.Key)
	}
}

// elsewhere explains keys that belong to another protocol or format and
// are often pasted into VMess settings by mistake.
func elsewhere(key string) string {
	switch key {
	case "flow", "encryption":
		return "a VLESS setting; VMess has no such option"
	case "password", "method":
		return "a Trojan/Shadowsocks setting; VMess users have an `id`"
	case "aid", "net", "tls", "sni", "ps", "add", "scy", "fp", "alpn", "v":
		return "a v2rayN share-link field, not an Xray config key"
	}
	return ""
}
