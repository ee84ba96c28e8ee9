package lint

import "github.com/xvmtools/xvm/schema"

// ruleNullValue notes a key whose value is null where another type is
// expected. Xray's decoder (Go's encoding/json) leaves such a field at its
// default, so the key works as if it were absent: not an error, but other
// tools (sing-box, schema-aware editors) refuse null there.
type ruleNullValue struct{}

func (ruleNullValue) meta() RuleMeta {
	return RuleMeta{
		ID:       "null-value",
		Severity: Info,
		Summary:  "A key set to null, which Xray reads as if it were absent.",
		Help:     "Remove the key, or give it a value. Xray leaves a field set to null at its default (and judges a required one as missing); other tools may refuse null.",
		Versions: "all",
	}
}

func (ruleNullValue) check(c *checkContext) {
	for _, f := range c.findings {
		if f.Kind != schema.NullValue {
			continue
		}
		c.atFindingKey(f).hint("remove it, or give it a value").
			reportf("`%s` is null, which Xray reads as if it were absent", f.Key)
	}
}
