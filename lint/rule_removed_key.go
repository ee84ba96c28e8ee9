package lint

import (
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// ruleRemovedKey reports keys current Xray refuses outright (unlike
// unknown keys, which it ignores).
type ruleRemovedKey struct{}

func (ruleRemovedKey) meta() RuleMeta {
	return RuleMeta{
		ID:       "removed-key",
		Severity: Error,
		Summary:  "A key current Xray has removed and refuses to load.",
		Help:     "Remove the key and use its replacement (named in the message).",
		Versions: "xray v26.3.27: kcpSettings.header/seed (use finalmask), tlsSettings.verifyPeerCertInNames (use verifyPeerCertByName), realitySettings server keys in a client",
	}
}

// removedKeyReason says why Xray refuses the key at ptr, or "".
func removedKeyReason(ptr string, t Runtime) string {
	parent, key := ptr, lastToken(ptr)
	if i := strings.LastIndexByte(ptr, '/'); i >= 0 {
		parent = ptr[:i]
	}
	obj := strings.ToLower(lastToken(parent))
	k := strings.ToLower(key)
	switch {
	case obj == "kcpsettings" && (k == "header" || k == "seed"):
		if t == RuntimeSeed {
			return ""
		}
		return "mKCP `" + key + "` was removed; express it with `finalmask` (udp masks header-* and mkcp-aes128gcm)"
	case obj == "tlssettings" && k == "verifypeercertinnames":
		return "`verifyPeerCertInNames` was removed; use `verifyPeerCertByName` (a comma-separated string)"
	case obj == "realitysettings" && (k == "servernames" || k == "shortids"):
		return "`" + key + "` is a REALITY server key and Xray refuses it in a client; use `serverName` or `shortId` (one value)"
	}
	return ""
}

func (ruleRemovedKey) check(c *checkContext) {
	for _, f := range c.findings {
		if f.Kind != schema.UnknownKey {
			continue
		}
		if why := removedKeyReason(f.Pointer, c.target); why != "" {
			c.atFindingKey(f).hint("remove the key").report(why)
		}
	}
}
