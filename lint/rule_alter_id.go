package lint

import (
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// ruleAlterID reports alterId > 0: legacy (MD5) authentication, which no
// current Xray speaks. Current Xray ignores the key and always uses
// VMessAEAD, so a server that still needs alterId > 0 will refuse it.
type ruleAlterID struct{}

func (ruleAlterID) meta() RuleMeta {
	return RuleMeta{
		ID:       "alter-id",
		Severity: Warning,
		Summary:  "alterId > 0 asks for legacy VMess (MD5) authentication.",
		Help:     "Set alterId to 0 (or remove it) and make sure the server accepts VMessAEAD. Xray removed legacy authentication in v1.8.0 (2023); current Xray ignores alterId and always uses AEAD, so the setting silently does nothing.",
		Versions: "xray: ignored since v1.8.0; seed: meaningful but deprecated (AEAD recommended)",
	}
}

// alterIDValue reads alterId as a number or, as v2rayN and many
// subscriptions write it, a string of digits.
func alterIDValue(n *schema.Node) (int64, bool) {
	if s, isStr := str(n); isStr {
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return v, err == nil
	}
	return n.Int()
}

func (ruleAlterID) check(c *checkContext) {
	for _, u := range c.users {
		m := present(u.node, "alterId")
		if m == nil {
			continue
		}
		v, ok := alterIDValue(m.Value)
		if !ok || v < 0 {
			continue
		}
		at := c.atValue(u.ptr, m)
		if v == 0 {
			// The seed manual's own example writes alterId 0 to ask for
			// AEAD; current Xray has no such key any more.
			if c.target != RuntimeSeed {
				at.severity(Info).hint("remove it").report("alterId 0 is the default, and current Xray ignores the key (it always uses VMessAEAD)")
			}
			continue
		}
		if c.target == RuntimeSeed {
			at.hint("set alterId to 0 to use VMessAEAD").
				reportf("alterId %d selects legacy MD5 authentication; the seed manual recommends 0 (VMessAEAD)", v)
			continue
		}
		at.hint("remove alterId (or set it to 0) and make sure the server speaks VMessAEAD").
			reportf("alterId %d asks for legacy MD5 authentication, which current Xray no longer speaks; Xray ignores it and uses AEAD", v)
	}
}
