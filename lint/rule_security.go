package lint

import "strings"

// ruleSecurityUnknown reports a VMess `security` Xray does not know: it
// silently becomes `auto`.
type ruleSecurityUnknown struct{}

func (ruleSecurityUnknown) meta() RuleMeta {
	return RuleMeta{
		ID:         "security-unknown",
		Severity:   Warning,
		Summary:    "A VMess `security` value Xray does not know; it silently becomes `auto`.",
		Help:       "Use one of auto, aes-128-gcm, chacha20-poly1305, none or zero (case-insensitive).",
		Versions:   "all (`zero` since Xray v1.4.0)",
		Supersedes: []string{"schema"},
	}
}

func vmessSecurities() []string {
	return []string{"auto", "aes-128-gcm", "chacha20-poly1305", "none", "zero"}
}

func (ruleSecurityUnknown) check(c *checkContext) {
	for _, u := range c.users {
		m, s, ok := strMember(u.node, "security")
		if !ok {
			continue
		}
		known := false
		for _, k := range vmessSecurities() {
			if strings.EqualFold(s, k) {
				known = true
			}
		}
		if known || s == "" {
			continue
		}
		hint := "use auto, aes-128-gcm, chacha20-poly1305, none or zero"
		msg := "security %q is not one Xray knows; it silently becomes `auto`"
		if sug := didYouMean(s, vmessSecurities()); sug != "" {
			hint = "did you mean `" + sug + "`?"
		}
		c.atValue(u.ptr, m).hint(hint).reportf(msg, s)
	}
}

// ruleSecurityPlaintext reports `none`/`zero` without TLS or REALITY
// underneath: the traffic is then readable on the wire.
type ruleSecurityPlaintext struct{}

func (ruleSecurityPlaintext) meta() RuleMeta {
	return RuleMeta{
		ID:       "security-plaintext",
		Severity: Warning,
		Summary:  "VMess security `none` or `zero` without TLS/REALITY sends plaintext.",
		Help:     "Use `auto` (or aes-128-gcm / chacha20-poly1305), or put the outbound on streamSettings.security `tls` or `reality`.",
		Versions: "all",
	}
}

func (ruleSecurityPlaintext) check(c *checkContext) {
	for _, u := range c.users {
		m, s, ok := strMember(u.node, "security")
		if !ok {
			continue
		}
		s = strings.ToLower(s)
		if s != "none" && s != "zero" {
			continue
		}
		if sec := u.server.ob.streamSecurity(); sec == "tls" || sec == "reality" {
			continue
		}
		c.atValue(u.ptr, m).hint("use `auto`, or enable streamSettings.security `tls`").
			reportf("security %q without TLS or REALITY sends the proxied traffic as plaintext", s)
	}
}
