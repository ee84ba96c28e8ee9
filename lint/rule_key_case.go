package lint

import "github.com/xvmtools/xvm/schema"

// ruleKeyCase notes keys that match only case-insensitively. Xray's
// decoder (Go encoding/json) accepts `Port` for `port`, so the config works
// and this is a note, not a warning; but other tools that read the same
// file (sing-box, v2rayN, editors with the schema) do not.
type ruleKeyCase struct{}

func (ruleKeyCase) meta() RuleMeta {
	return RuleMeta{
		ID:       "key-case",
		Severity: Info,
		Summary:  "A key in the wrong case: Xray accepts it, other tools do not.",
		Help:     "Spell the key exactly as documented. Xray matches keys case-insensitively, so it works there, but converters, other cores and schema-aware editors treat it as unknown.",
		Versions: "all",
	}
}

func (ruleKeyCase) check(c *checkContext) {
	for _, f := range c.findings {
		if f.Kind != schema.KeyCase {
			continue
		}
		c.atFindingKey(f).hint("rename it to `"+f.Canonical+"`").
			reportf("key `%s` should be spelt `%s`; Xray matches keys case-insensitively but other tools do not", f.Key, f.Canonical)
	}
}
