package convert

import (
	"strings"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/schema/conf"
)

// realityPart is REALITY: SNI, the uTLS Fingerprint, the server's
// PublicKey, ShortID, SpiderX and the ML-DSA-65 key PQV.
var realityPart = &securityPart{
	readXray: func(n *fullNode, ss *conf.StreamSettings) {
		n.Security = "reality"
		if r := ss.RealitySettings; r != nil {
			n.SNI, n.Fingerprint = r.ServerName, r.Fingerprint
			n.PublicKey, n.ShortID, n.SpiderX, n.PQV = r.Key(), r.ShortID, r.SpiderX, r.Mldsa65Verify
		}
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		ss.Security = "reality"
		switch network := n.network(); network {
		case "raw", "xhttp", "grpc":
		default:
			return refuse("security", "REALITY works only with raw, xhttp and grpc in Xray, not %s", network)
		}
		if n.PublicKey == "" {
			return refuse("pbk", "REALITY needs the server's public key")
		}
		if err := schema.CheckRealityPublicKey(n.PublicKey); err != nil {
			return refuse("pbk", "REALITY public key %v", err)
		}
		if err := schema.CheckShortID(n.ShortID); err != nil {
			return refuse("sid", "REALITY shortId %v", err)
		}
		if n.SpiderX != "" && n.SpiderX[0] != '/' {
			return refuse("spx", "REALITY spiderX must start with /")
		}
		r := &conf.RealitySettings{ServerName: n.SNI, PublicKey: n.PublicKey, ShortID: n.ShortID, SpiderX: n.SpiderX, Mldsa65Verify: n.PQV}
		if n.Fingerprint != "" {
			fp := strings.ToLower(n.Fingerprint)
			if schema.IsRealityFingerprint(fp) {
				r.Fingerprint = fp
			} else {
				warn("fp", "uTLS fingerprint %q not usable with REALITY; Xray uses chrome", clip(n.Fingerprint))
			}
		}
		if len(n.ALPN) > 0 || n.PCS != "" || n.Insecure {
			warn("alpn/pcs/insecure", "TLS-only options given with REALITY; not carried")
		}
		ss.RealitySettings = r
		return nil
	},
	writeClash: func(n *fullNode, p *clashProxy, warn warnFunc) error {
		if n.network() == "ws" || n.network() == "httpupgrade" {
			return refuse("security", "mihomo's REALITY does not work with ws")
		}
		p.TLS = true
		p.ServerName = n.SNI
		p.RealityOpts = &clashReality{PublicKey: n.PublicKey, ShortID: n.ShortID}
		if n.SpiderX != "" || n.PQV != "" {
			warn("spx/pqv", "mihomo's reality-opts has no spiderX or ML-DSA key; not carried")
		}
		return nil
	},
	writeSingBox: func(n *fullNode, o *sbOutbound, warn warnFunc) {
		o.TLS = &sbTLS{Enabled: true, ServerName: n.SNI,
			Reality: &sbReality{Enabled: true, PublicKey: n.PublicKey, ShortID: n.ShortID},
			UTLS:    &sbUTLS{Enabled: true, Fingerprint: "chrome"}}
		if n.SpiderX != "" || n.PQV != "" {
			warn("spx/pqv", "sing-box's reality has no spiderX or ML-DSA key; not carried")
		}
	},
	writeV2RayN: func(n *fullNode, l *v2raynLink, warn warnFunc) {
		l.TLS = "reality"
		l.PBK, l.SID, l.SPX = n.PublicKey, n.ShortID, n.SpiderX
		warn("reality", "v2rayN's link has no REALITY keys; written as the unofficial pbk/sid/spx that v2rayN ignores")
		l.SNI = n.sniFallback()
	},
	writeURI: func(n *fullNode, add func(k, v string), _ warnFunc) {
		add("sni", n.SNI)
		add("fp", n.Fingerprint)
		add("pbk", n.PublicKey)
		add("sid", n.ShortID)
		add("spx", n.SpiderX)
		add("pqv", n.PQV)
	},
}
