package lint

import "github.com/xvmtools/xvm/schema"

// ruleDuplicateKey reports a key given twice in one object (including
// case variants). Xray keeps the last one, silently.
type ruleDuplicateKey struct{}

func (ruleDuplicateKey) meta() RuleMeta {
	return RuleMeta{
		ID:       "duplicate-key",
		Severity: Warning,
		Summary:  "The same key twice in one object; Xray silently keeps the last.",
		Help:     "Remove one of them. Keys that differ only in case count as the same key for Xray.",
		Versions: "all",
	}
}

func (ruleDuplicateKey) check(c *checkContext) {
	for _, f := range c.findings {
		if f.Kind != schema.DuplicateKey {
			continue
		}
		c.atFindingKey(f).hint("remove one of the two").
			reportf("key `%s` repeats `%s` earlier in this object; Xray uses this value and ignores the earlier one", f.Key, f.Canonical)
	}
}
