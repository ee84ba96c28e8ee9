package convert

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/schema/conf"
)

// NotConvertibleError says a node cannot be expressed in a target at all.
type NotConvertibleError struct {
	Server string // node label (never the id)
	Target string
	Field  string
	Reason string
}

// Error implements error.
func (e *NotConvertibleError) Error() string {
	return fmt.Sprintf("convert: %s: %s: cannot be written as %s: %s", e.Server, e.Field, e.Target, e.Reason)
}

// sniFallback is the server name v2rayN and mihomo use when a link has
// none: the first Host (or the gRPC authority). Xray itself would use the
// address, so emitters write it explicitly (docs/formats.md#sni-fallback).
func (n *Node) sniFallback() string {
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

// ToXray writes a node as an Xray v1.260327.0 VMess outbound. The warnings
// name every field that was changed or could not be carried; an error
// (a *NotConvertibleError) means current Xray cannot express the node.
func ToXray(n *Node) (conf.Outbound, []Diagnostic, error) {
	var warns []Diagnostic
	warn := n.warnTo(&warns)
	fail := func(field, format string, args ...any) error {
		return &NotConvertibleError{Server: n.label(), Target: "xray", Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	o := conf.Outbound{
		Protocol: "vmess",
		Tag:      n.Name,
		Settings: &conf.VMessSettings{Vnext: []conf.Server{{
			Address: n.Server, Port: n.Port,
			Users: []conf.User{{ID: n.UUID, Security: n.cipher(), Experiments: n.Experiments}},
		}}},
	}
	if n.AlterID > 0 {
		warn("alterId", "%d not carried: Xray v26 speaks only AEAD (alterId 0); the server must accept AEAD", n.AlterID)
	}
	ss := &conf.StreamSettings{}
	network := n.network()
	part := n.transportOf()
	if part == nil {
		return o, warns, fail("network", "unknown transport %q", clip(network))
	}
	if err := part.writeXray(n, ss, warn); err != nil {
		return o, warns, n.notConvertible("xray", err)
	}
	if d, ok := n.kcpNote(); ok {
		warns = append(warns, d)
	}
	if len(n.FinalMask) > 0 {
		if err := schema.CheckFinalMask(n.FinalMask); err != nil {
			return o, warns, fail("fm", "finalmask %v", err)
		}
		ss.FinalMask = n.FinalMask
	}
	if n.EarlyData > 0 && network != "ws" && network != "httpupgrade" {
		warn("ed", "early data applies to ws and httpupgrade only; not carried")
	}
	switch n.Security {
	case "", "none":
		if n.SNI != "" || len(n.ALPN) > 0 || n.Fingerprint != "" || n.PCS != "" || n.Insecure {
			warn("tls", "TLS options given without TLS; not carried")
		}
	case "tls":
		ss.Security = "tls"
		t := &conf.TLSSettings{ServerName: n.sniFallback(), ALPN: conf.StringList(n.ALPN),
			PinnedPeerCertSha256: n.PCS, VerifyPeerCertByName: n.VCN, ECHConfigList: n.ECH}
		if network == "quic" {
			t.ALPN = conf.StringList{"h3"}
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
				return o, warns, fail("pcs", "pinned certificate hash %v", err)
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
	case "reality":
		ss.Security = "reality"
		switch network {
		case "raw", "xhttp", "grpc":
		default:
			return o, warns, fail("security", "REALITY works only with raw, xhttp and grpc in Xray, not %s", network)
		}
		if n.PublicKey == "" {
			return o, warns, fail("pbk", "REALITY needs the server's public key")
		}
		if err := schema.CheckRealityPublicKey(n.PublicKey); err != nil {
			return o, warns, fail("pbk", "REALITY public key %v", err)
		}
		if err := schema.CheckShortID(n.ShortID); err != nil {
			return o, warns, fail("sid", "REALITY shortId %v", err)
		}
		if n.SpiderX != "" && n.SpiderX[0] != '/' {
			return o, warns, fail("spx", "REALITY spiderX must start with /")
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
	default:
		return o, warns, fail("security", "unknown security %q; want tls or reality", clip(n.Security))
	}
	if n.TFO {
		ss.Sockopt = &conf.Sockopt{TCPFastOpen: true}
	}
	o.StreamSettings = ss
	if n.Mux {
		o.Mux = &conf.Mux{Enabled: true}
	}
	return o, warns, nil
}

// XrayConfig builds a runnable client config: a local socks inbound on
// listen:port and the outbounds in order (the first is the default route).
func XrayConfig(outbounds []conf.Outbound, listen string, port int) conf.Config {
	return conf.Config{
		Log: &conf.Log{LogLevel: "warning"},
		Inbounds: []conf.Inbound{{
			Tag: "socks-in", Listen: listen, Port: port, Protocol: "socks",
			Settings: json.RawMessage(`{"auth":"noauth","udp":true}`),
			Sniffing: json.RawMessage(`{"enabled":true,"destOverride":["http","tls"]}`),
		}},
		Outbounds: outbounds,
	}
}
