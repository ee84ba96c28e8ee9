package lint

import (
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// ruleReality reports REALITY client settings Xray refuses: a missing or
// malformed public key, a bad shortId or spiderX, a fingerprint REALITY
// cannot use, or a transport REALITY does not support.
type ruleReality struct{}

func (ruleReality) meta() RuleMeta {
	return RuleMeta{
		ID:         "reality-settings",
		Severity:   Error,
		Summary:    "REALITY client settings that Xray refuses.",
		Help:       "A REALITY client needs `publicKey` (alias `password`: base64url, 32 bytes, from `xray x25519` on the server), an optional `shortId` of up to 16 hex digits, a `spiderX` starting with `/`, a uTLS fingerprint other than unsafe/hellogolang, and network raw, xhttp or grpc.",
		Versions:   "xray v1.8.0 and later (REALITY); checks as in v26.3.27",
		Supersedes: []string{"schema"},
	}
}

func (ruleReality) check(c *checkContext) {
	for _, ob := range c.outbounds {
		if ob.streamSecurity() != "reality" {
			continue
		}
		r := ob.stream.member("realitySettings")
		switch ob.network() {
		case "raw", "xhttp", "grpc":
		default:
			if m := present(ob.stream.node, "network"); m != nil {
				c.atValue(ob.stream.ptr, m).hint("use network raw, xhttp or grpc").
					report("REALITY only supports the raw, xhttp and grpc transports")
			}
		}
		if !r.object() {
			at := c.atMissing(ob.stream, "realitySettings")
			if r.node != nil {
				at = c.atPlace(r)
			}
			at.hint("add realitySettings with serverName and publicKey").
				report("security is `reality` but realitySettings are missing; Xray refuses it")
			continue
		}
		var key *schema.Member
		for _, k := range []string{"publicKey", "password"} {
			if m, s, ok := strMember(r.node, k); ok && s != "" {
				key = m
			}
		}
		switch {
		case key == nil:
			at := c.atMissing(r, "publicKey")
			if m := present(r.node, "publicKey"); m != nil {
				at = c.atValue(r.ptr, m) // there, but empty
			}
			at.hint("set `publicKey` to the server's x25519 public key (base64url)").
				report("REALITY needs `publicKey` (or `password`); Xray refuses an empty one")
		default:
			if err := schema.CheckRealityPublicKey(key.Value.Text); err != nil {
				c.atValue(r.ptr, key).hint("copy the public key printed by `xray x25519` on the server").
					reportf("REALITY public key %v; Xray refuses it", err)
			}
		}
		if m, s, ok := strMember(r.node, "shortId"); ok {
			if err := schema.CheckShortID(s); err != nil {
				c.atValue(r.ptr, m).hint("use an even number of hex digits (0-9, a-f), at most 16").
					reportf("shortId %q %v; Xray refuses it", s, err)
			}
		}
		if m, s, ok := strMember(r.node, "mldsa65Verify"); ok {
			if err := schema.CheckMldsa65Verify(s); err != nil {
				c.atValue(r.ptr, m).hint("copy the ML-DSA-65 verify key printed by `xray mldsa65` on the server, or remove it").
					reportf("mldsa65Verify %v; Xray refuses it", err)
			}
		}
		if m, s, ok := strMember(r.node, "spiderX"); ok && s != "" && !strings.HasPrefix(s, "/") {
			c.atValue(r.ptr, m).hint("write `/"+s+"`").reportf("spiderX %q must start with `/`", s)
		}
		if m, s, ok := strMember(r.node, "fingerprint"); ok && !schema.IsRealityFingerprint(s) {
			at := c.atValue(r.ptr, m).hint("use a browser fingerprint such as chrome")
			if schema.IsFingerprint(s) {
				at.reportf("fingerprint %q cannot be used with REALITY", s)
			} else {
				at.reportf("fingerprint %q is unknown to Xray; it refuses the outbound", s)
			}
		}
	}
}
