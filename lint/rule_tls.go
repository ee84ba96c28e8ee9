package lint

import (
	"strings"
	"time"

	"github.com/xvmtools/xvm/schema"
)

// allowInsecureCutoff is when Xray v26.3.27 starts refusing
// allowInsecure: true (infra/conf/transport_internet.go).
func allowInsecureCutoff() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }

// tlsSettingsOf returns every tlsSettings object of an outbound (including
// those of xhttp downloadSettings).
func tlsSettingsOf(ob *outboundView) []place {
	var out []place
	var walk func(st place, depth int)
	walk = func(st place, depth int) {
		if !st.object() || depth > 4 {
			return
		}
		if t := st.member("tlsSettings"); t.object() {
			out = append(out, t)
		}
		for _, key := range []string{"xhttpSettings", "splithttpSettings"} {
			walk(st.member(key).member("downloadSettings"), depth+1)
		}
	}
	walk(ob.stream, 0)
	return out
}

// ruleAllowInsecure reports tlsSettings.allowInsecure: true. Xray
// v26.3.27 refuses it from 2026-06-01 UTC and only warned before.
type ruleAllowInsecure struct{}

func (ruleAllowInsecure) meta() RuleMeta {
	return RuleMeta{
		ID:       "allow-insecure",
		Severity: Error,
		Summary:  "`allowInsecure: true` turns off certificate checks; current Xray refuses it from 2026-06-01.",
		Help:     "Remove allowInsecure and pin the server certificate with `pinnedPeerCertSha256` (hex SHA-256 of the certificate, e.g. from `xray tls certChainHash`), or set `verifyPeerCertByName` / a correct serverName.",
		Versions: "xray v26.3.27: error from 2026-06-01 UTC, warning before; seed: warning",
	}
}

func (ruleAllowInsecure) check(c *checkContext) {
	c.eachTLSMember("allowInsecure", func(tls string, m *schema.Member) {
		if m.Value.Kind != schema.Bool || m.Value.Text != "true" {
			return
		}
		at := c.atKey(tls, m).hint("remove it and set `pinnedPeerCertSha256` to the server certificate's SHA-256")
		switch {
		case c.target == RuntimeSeed:
			at.severity(Warning).report("`allowInsecure: true` disables certificate verification; current Xray refuses it")
		case !c.now.Before(allowInsecureCutoff()):
			at.report("`allowInsecure` was removed: current Xray refuses it since 2026-06-01 (use `pinnedPeerCertSha256`)")
		default:
			at.severity(Warning).report("`allowInsecure` disables certificate verification; current Xray refuses it from 2026-06-01")
		}
	})
}

// ruleTLSIPWithoutSNI reports TLS to an IP address with no serverName:
// no SNI is sent and the certificate must carry the IP, which public
// certificates rarely do, so the handshake usually fails.
type ruleTLSIPWithoutSNI struct{}

func (ruleTLSIPWithoutSNI) meta() RuleMeta {
	return RuleMeta{
		ID:       "tls-ip-without-sni",
		Severity: Warning,
		Summary:  "TLS to an IP address without `serverName`.",
		Help:     "Set tlsSettings.serverName to the name on the server's certificate (or pin the certificate with pinnedPeerCertSha256).",
		Versions: "all",
	}
}

func (ruleTLSIPWithoutSNI) check(c *checkContext) {
	for _, s := range c.servers {
		ob := s.ob
		if ob == nil || ob.streamSecurity() != "tls" {
			continue
		}
		m, addr, ok := strMember(s.node, "address")
		if !ok || !isIPLiteral(addr) {
			continue
		}
		t := ob.stream.member("tlsSettings").node
		sni, _ := str(get(t, "serverName"))
		pinned, _ := str(get(t, "pinnedPeerCertSha256"))
		if sni != "" || pinned != "" {
			continue
		}
		c.atValue(s.ptr, m).hint("set streamSettings.tlsSettings.serverName to the certificate's host name").
			reportf("TLS to the IP address %s without `serverName`: no SNI is sent and the certificate must name the IP", addr)
	}
}

// rulePinnedPeerCert reports a pinnedPeerCertSha256 Xray cannot read:
// every comma-separated entry must be a SHA-256 in hex (colons allowed).
type rulePinnedPeerCert struct{}

func (rulePinnedPeerCert) meta() RuleMeta {
	return RuleMeta{
		ID:       "pinned-peer-cert",
		Severity: Error,
		Summary:  "`pinnedPeerCertSha256` is not a list of hex SHA-256 hashes.",
		Help:     "Give the certificate's SHA-256 as 64 hex digits (colons allowed), several separated by commas; `xray tls certChainHash --cert cert.pem` prints it.",
		Versions: "xray v25.x and later (pinnedPeerCertSha256)",
	}
}

func (rulePinnedPeerCert) check(c *checkContext) {
	c.eachTLSMember("pinnedPeerCertSha256", func(tls string, m *schema.Member) {
		if s, ok := str(m.Value); ok && s != "" {
			if err := schema.CheckPinnedPeerCertSHA256(s); err != nil {
				c.atValue(tls, m).hint("use 64 hex digits per certificate, e.g. from `xray tls certChainHash`").
					reportf("pinnedPeerCertSha256 %v; Xray refuses it", err)
			}
		}
	})
}

// eachTLSMember calls fn with the pointer of the tlsSettings object and
// the member key of every tlsSettings object of every outbound that has
// it (XHTTP downloadSettings included).
func (c *checkContext) eachTLSMember(key string, fn func(tls string, m *schema.Member)) {
	for _, ob := range c.outbounds {
		for _, t := range tlsSettingsOf(ob) {
			if m := present(t.node, key); m != nil {
				fn(t.ptr, m)
			}
		}
	}
}

// ruleALPNFromMitm reports "fromMitm" in an alpn list with other entries:
// Xray refuses it (fromMitm copies the intercepted client's ALPN and must
// stand alone).
type ruleALPNFromMitm struct{}

func (ruleALPNFromMitm) meta() RuleMeta {
	return RuleMeta{
		ID:       "alpn-from-mitm",
		Severity: Error,
		Summary:  "`fromMitm` in `alpn` together with other protocols.",
		Help:     "Use `fromMitm` alone (it copies the ALPN of the intercepted client) or list real protocols such as h2 and http/1.1 without it.",
		Versions: "xray v25.x and later (fromMitm)",
	}
}

func (ruleALPNFromMitm) check(c *checkContext) {
	c.eachTLSMember("alpn", func(tls string, m *schema.Member) {
		v := m.Value
		var protos []string
		switch v.Kind {
		case schema.String:
			s, _ := str(v)
			protos = strings.Split(s, ",")
		case schema.Array:
			for _, e := range v.Items {
				if s, ok := str(e); ok {
					protos = append(protos, s)
				}
			}
		}
		if err := schema.CheckALPN(protos); err != nil {
			c.atValue(tls, m).hint("keep fromMitm alone, or drop it").reportf("alpn %v; Xray refuses it", err)
		}
	})
}
