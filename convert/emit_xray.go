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
	switch network {
	case "raw":
		ss.Network = "raw"
		if n.HeaderType == "http" {
			rq := &conf.HTTPRequest{Path: conf.StringList(splitList(n.Path))}
			if hosts := splitList(n.Host); len(hosts) > 0 || len(n.Headers) > 0 {
				rq.Headers = map[string]conf.StringList{}
				if len(hosts) > 0 {
					rq.Headers["Host"] = hosts
				}
				for k, v := range n.Headers {
					rq.Headers[k] = conf.StringList{v}
				}
			}
			ss.RawSettings = &conf.RawSettings{Header: &conf.TCPHeader{Type: "http", Request: rq}}
		}
	case "ws":
		ss.Network = "ws"
		w := &conf.WSSettings{Path: n.wsPath(&warns), Host: n.Host, Headers: n.Headers}
		ss.WSSettings = w
	case "httpupgrade":
		ss.Network = "httpupgrade"
		ss.HTTPUpgradeSettings = &conf.HTTPUpgradeSettings{Path: n.wsPath(&warns), Host: n.Host, Headers: n.Headers}
	case "grpc":
		ss.Network = "grpc"
		ss.GRPCSettings = &conf.GRPCSettings{ServiceName: n.ServiceName, Authority: n.Authority, MultiMode: n.GRPCMode == "multi"}
	case "xhttp":
		ss.Network = "xhttp"
		ss.XHTTPSettings = &conf.XHTTPSettings{Host: n.Host, Path: n.Path, Mode: n.XHTTPMode, Headers: n.Headers, Extra: n.XHTTPExtra}
		if n.XHTTPMode != "" && n.XHTTPMode != "packet-up" && n.XHTTPMode != "stream-up" && n.XHTTPMode != "stream-one" && n.XHTTPMode != "auto" {
			return o, warns, fail("mode", "XHTTP mode %q; want auto, packet-up, stream-up or stream-one", clip(n.XHTTPMode))
		}
	case "kcp":
		ss.Network = "kcp"
		if n.MTU != 0 || n.TTI != 0 {
			if n.TTI != 0 && (n.TTI < 10 || n.TTI > 5000) {
				return o, warns, fail("tti", "%d is out of Xray's range 10-5000", n.TTI)
			}
			ss.KCPSettings = &conf.KCPSettings{MTU: n.MTU, TTI: n.TTI}
		}
		if len(n.FinalMask) == 0 {
			fm, err := n.kcpMask()
			if err != nil {
				return o, warns, err
			}
			ss.FinalMask = fm
			if n.HeaderType != "" || n.Seed != "" {
				warns = append(warns, n.diag(Info, "kcp header/seed", "written as finalmask.udp masks (Xray v26 removed kcpSettings.header and seed)"))
			}
		} else if n.HeaderType != "" || n.Seed != "" {
			warn("kcp header/seed", "superseded by the link's finalmask; not carried")
		}
	case "h2":
		ss.Network = "xhttp"
		ss.XHTTPSettings = &conf.XHTTPSettings{Host: firstOf(n.Host), Path: n.Path, Mode: "stream-one"}
		warn("network", "HTTP/2 transport was removed from Xray; written as XHTTP stream-one (the server must have migrated too)")
		if len(splitList(n.Host)) > 1 {
			warn("host", "only the first of several HTTP/2 hosts is carried")
		}
	case "quic":
		ss.Network = "xhttp"
		ss.XHTTPSettings = &conf.XHTTPSettings{Mode: "stream-one"}
		warn("network", "QUIC transport was removed from Xray; written as XHTTP stream-one (the server must have migrated to XHTTP over H3)")
		if n.QUICSecurity != "" && n.QUICSecurity != "none" || n.QUICKey != "" || n.HeaderType != "" {
			warn("quicSecurity/key/headerType", "QUIC encryption and header not carried")
		}
	default:
		return o, warns, fail("network", "unknown transport %q", clip(network))
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

// wsPath returns the ws/httpupgrade path with early data expressed the
// way Xray reads it (?ed=N inside the path).
func (n *Node) wsPath(warns *[]Diagnostic) string {
	p := n.Path
	if n.EarlyData <= 0 {
		return p
	}
	if n.EarlyDataHeader != "" && !strings.EqualFold(n.EarlyDataHeader, "Sec-WebSocket-Protocol") {
		*warns = append(*warns, n.diag(Warning, "early-data-header-name", "Xray sends early data only in Sec-WebSocket-Protocol; %q not carried", clip(n.EarlyDataHeader)))
	}
	if strings.Contains(p, "ed=") {
		return p
	}
	if p == "" {
		p = "/"
	}
	sep := "?"
	if strings.Contains(p, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%sed=%d", p, sep, n.EarlyData)
}

// kcpMask expresses a legacy mKCP header and seed as FinalMask UDP masks
// (docs/formats.md#mkcp-header-and-seed-as-finalmask): outermost header first, then the KCP obfuscation.
func (n *Node) kcpMask() (json.RawMessage, error) {
	var masks []maskJSON
	if h := strings.ToLower(n.HeaderType); h != "" {
		typ, ok := kcpHeaderMasks[h]
		if !ok {
			return nil, &NotConvertibleError{Server: n.label(), Target: "xray", Field: "headerType",
				Reason: fmt.Sprintf("unknown mKCP header %q; want none, srtp, utp, wechat-video, dtls, wireguard or dns", clip(h))}
		}
		m := maskJSON{Type: typ}
		if h == "dns" {
			m.Settings, _ = json.Marshal(map[string]string{"domain": n.Host})
		}
		masks = append(masks, m)
	}
	if n.Seed != "" {
		s, _ := json.Marshal(map[string]string{"password": n.Seed})
		masks = append(masks, maskJSON{Type: "mkcp-aes128gcm", Settings: s})
	} else {
		masks = append(masks, maskJSON{Type: "mkcp-original"})
	}
	return json.Marshal(finalMaskJSON{UDP: masks})
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
