package convert

import (
	"reflect"
	"strings"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/schema/conf"
)

// tlsPart is TLS: SNI (with the Host fallback, sniFallback), ALPN, the
// uTLS Fingerprint, Insecure, the certificate pins PCS, the names VCN and
// the ECH config list.
var tlsPart = &securityPart{
	readXray: func(n *fullNode, ss *conf.StreamSettings) {
		n.Security = "tls"
		if t := ss.TLSSettings; t != nil {
			n.SNI, n.ALPN, n.Fingerprint = t.ServerName, t.ALPN, t.Fingerprint
			n.Insecure = t.AllowInsecure
			n.PCS, n.VCN, n.ECH = t.PinnedPeerCertSha256, t.VerifyPeerCertByName, t.ECHConfigList
		}
		if n.SNI == "" && n.sniFallback() != "" {
			// Xray itself falls back to the address, not to the Host
			// header other dialects use; keep Xray's meaning explicit.
			n.SNI = n.Server
		}
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		ss.Security = "tls"
		t := &conf.TLSSettings{ServerName: n.sniFallback(), ALPN: conf.StringList(n.ALPN),
			PinnedPeerCertSha256: n.PCS, VerifyPeerCertByName: n.VCN, ECHConfigList: n.ECH}
		if n.network() == "quic" {
			t.ALPN = conf.StringList{"h3"} // written as XHTTP over H3
		}
		if n.Fingerprint != "" {
			if schema.IsFingerprint(n.Fingerprint) {
				t.Fingerprint = strings.ToLower(n.Fingerprint)
			} else {
				warn("fp", "unknown uTLS fingerprint %q not carried; Xray uses chrome", clip(n.Fingerprint))
			}
		}
		if n.PCS != "" {
			if err := schema.CheckPinnedPeerCertSHA256(n.PCS); err != nil {
				return refuse("pcs", "pinned certificate hash %v", err)
			}
		}
		if n.Insecure {
			warn("insecure", "allowInsecure is a load error in Xray v26.3.27 (since 2026-06-01); not written — the certificate must verify, or add a pinnedPeerCertSha256")
		}
		if n.PublicKey != "" || n.ShortID != "" {
			warn("pbk/sid", "REALITY keys given with security tls; not carried")
		}
		if !reflect.DeepEqual(*t, conf.TLSSettings{}) {
			ss.TLSSettings = t
		}
		return nil
	},
	writeClash: func(n *fullNode, p *clashProxy, warn warnFunc) error {
		p.TLS = true
		p.ServerName = n.sniFallback()
		p.ALPN = n.ALPN
		p.SkipCertVerify = n.Insecure
		if pins := splitList(n.PCS); len(pins) > 0 {
			p.Fingerprint = pins[0]
			if len(pins) > 1 {
				warn("pcs", "mihomo takes one certificate fingerprint; only the first is carried")
			}
		}
		if n.VCN != "" {
			warn("vcn", "mihomo has no verifyPeerCertByName; not carried")
		}
		if n.ECH != "" {
			warn("ech", "not carried")
		}
		return nil
	},
	writeSingBox: func(n *fullNode, o *sbOutbound, warn warnFunc) {
		t := &sbTLS{Enabled: true, ServerName: n.sniFallback(), Insecure: n.Insecure, ALPN: n.ALPN}
		if n.ECH != "" {
			t.ECH = &sbECH{Enabled: true, Config: echToPEM(n.ECH)}
		}
		if n.PCS != "" {
			warn("pcs", "sing-box pins public keys, not certificates; not carried")
		}
		if n.VCN != "" {
			warn("vcn", "sing-box has no verifyPeerCertByName; not carried")
		}
		o.TLS = t
	},
	writeV2RayN: func(n *fullNode, l *v2raynLink, _ warnFunc) {
		l.TLS = "tls"
		l.SNI = n.sniFallback() // explicit, so that no reader has to guess a fallback
	},
	writeURI: func(n *fullNode, add func(k, v string), warn warnFunc) {
		add("sni", n.sniFallback()) // explicit: #716 readers default to the address
		add("fp", n.Fingerprint)
		add("alpn", strings.Join(n.ALPN, ","))
		add("pcs", n.PCS)
		add("vcn", n.VCN)
		add("ech", n.ECH)
		if n.Insecure {
			add("insecure", "1")
			warn("insecure", "not part of the standard and refused by Xray v26.3.27; written as insecure=1 for older clients")
		}
	},
}

// linkTLSKeys names, for one link dialect, the keys its TLS fields are
// read from; for each field the first key with a value wins. A TLS key
// a link dialect adds is one word here.
type linkTLSKeys struct {
	sni, alpn, fp, pcs, vcn, ech, insecure []string
}

var (
	// uriTLSKeys is the standard link (#716), with the insecure flags
	// clients have written (the standard has none).
	uriTLSKeys = linkTLSKeys{sni: []string{"sni"}, alpn: []string{"alpn"}, fp: []string{"fp"},
		pcs: []string{"pcs"}, vcn: []string{"vcn"}, ech: []string{"ech"},
		insecure: []string{"allowInsecure", "insecure", "allow_insecure"}}
	// v2raynTLSKeys is v2rayN's JSON (VmessQRCode.cs), which has no ech;
	// the other insecure spellings seen there are read with a warning by
	// nodeFromV2RayNJSON.
	v2raynTLSKeys = linkTLSKeys{sni: []string{"sni"}, alpn: []string{"alpn"}, fp: []string{"fp"},
		pcs: []string{"pcs"}, vcn: []string{"vcn"}, insecure: []string{"insecure"}}
	// rocketTLSKeys is the query of Shadowrocket and Kitsunebi links,
	// where peer is the server name.
	rocketTLSKeys = linkTLSKeys{sni: []string{"peer", "sni", "tlsServer"}, alpn: []string{"alpn"},
		fp: []string{"fp"}, pcs: []string{"pcs"}, insecure: []string{"allowInsecure"}}
)

// readLinkTLS reads a link's TLS fields through get, which returns the
// first non-empty value among keys ("" when none has one). They are read
// whatever the link's security says: a writer warns about TLS options on
// a node without TLS.
func (n *fullNode) readLinkTLS(keys linkTLSKeys, get func(keys ...string) string) {
	n.SNI = get(keys.sni...)
	n.ALPN = splitList(get(keys.alpn...))
	n.Fingerprint = get(keys.fp...)
	n.PCS = get(keys.pcs...)
	n.VCN = get(keys.vcn...)
	n.ECH = get(keys.ech...)
	n.Insecure = truthy(get(keys.insecure...))
}

// sniFallback is the server name v2rayN and mihomo use when a link has
// none: the first Host (or the gRPC authority). Xray itself would use the
// address, so emitters write it explicitly (docs/formats.md#sni-fallback).
func (n *fullNode) sniFallback() string {
	if n.SNI != "" {
		return n.SNI
	}
	switch n.network() {
	case "grpc":
		return n.Authority
	case "ws", "httpupgrade", "xhttp", "h2":
		return firstOf(n.Host)
	case "raw":
		// Readers set SNI from the host with a warning
		// (hostAsServerName); this covers nodes built by hand.
		return firstOf(n.Host)
	}
	return ""
}
