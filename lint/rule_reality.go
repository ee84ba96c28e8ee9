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
		ID:       "reality-settings",
		Severity: Error,
		Summary:  "REALITY client settings that Xray refuses.",
		Help:     "A REALITY client needs `publicKey` (alias `password`: base64url, 32 bytes, from `xray x25519` on the server), an optional `shortId` of up to 16 hex digits, a `spiderX` starting with `/`, a uTLS fingerprint other than unsafe/hellogolang, and network raw, xhttp or grpc.",
		Versions: "xray v1.8.0 and later (REALITY); checks as in v26.3.27",
	}
}

func (ruleReality) check(c *checkContext) {
	for _, ob := range c.outbounds {
		if ob.streamSecurity() != "reality" {
			continue
		}
		rp, r := childPtr(ob.stream, ob.streamP, "realitySettings")
		switch ob.network() {
		case "raw", "xhttp", "splithttp", "grpc":
		default:
			if m := ob.stream.Member("network"); m != nil {
				c.reportf(ob.streamP+"/"+m.Key, false, "use network raw, xhttp or grpc", "REALITY only supports the raw, xhttp and grpc transports")
			}
		}
		if r == nil || r.Kind != schema.Object {
			c.reportf(rp, false, "add realitySettings with serverName and publicKey", "security is `reality` but realitySettings are missing; Xray refuses it")
			continue
		}
		key, keyPtr := "", ""
		for _, k := range []string{"publicKey", "password"} {
			if m, s, ok := strMember(r, k); ok && s != "" {
				key, keyPtr = s, rp+"/"+m.Key
			}
		}
		if key == "" {
			c.reportf(rp+"/publicKey", false, "set `publicKey` to the server's x25519 public key (base64url)", "REALITY needs `publicKey` (or `password`); Xray refuses an empty one")
		} else if err := schema.CheckRealityPublicKey(key); err != nil {
			c.reportf(keyPtr, false, "copy the public key printed by `xray x25519` on the server", "REALITY public key %v; Xray refuses it", err)
		}
		if m, s, ok := strMember(r, "shortId"); ok {
			if err := schema.CheckShortID(s); err != nil {
				c.reportf(rp+"/"+m.Key, false, "use an even number of hex digits (0-9, a-f), at most 16", "shortId %q %v; Xray refuses it", s, err)
			}
		}
		if m, s, ok := strMember(r, "mldsa65Verify"); ok {
			if err := schema.CheckMldsa65Verify(s); err != nil {
				c.reportf(rp+"/"+m.Key, false, "copy the ML-DSA-65 verify key printed by `xray mldsa65` on the server, or remove it", "mldsa65Verify %v; Xray refuses it", err)
			}
		}
		if m, s, ok := strMember(r, "spiderX"); ok && s != "" && !strings.HasPrefix(s, "/") {
			c.reportf(rp+"/"+m.Key, false, "write `/"+s+"`", "spiderX %q must start with `/`", s)
		}
		if m, s, ok := strMember(r, "fingerprint"); ok && !schema.IsRealityFingerprint(s) {
			if schema.IsFingerprint(s) {
				c.reportf(rp+"/"+m.Key, false, "use a browser fingerprint such as chrome", "fingerprint %q cannot be used with REALITY", s)
			} else {
				c.reportf(rp+"/"+m.Key, false, "use a browser fingerprint such as chrome", "fingerprint %q is unknown to Xray; it refuses the outbound", s)
			}
		}
	}
}
