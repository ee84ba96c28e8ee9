package probe

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/schema/conf"
	"github.com/xvmtools/xvm/vmess/transport"
)

// TargetFromOutbound maps an Xray VMess outbound (the schema/conf types)
// onto a Target. The name is the outbound's tag. It fails for an outbound
// that is not VMess or does not name exactly one server and user.
//
// Stream settings that transport cannot dial (hysteria, quic, REALITY, …)
// are carried as they are: probing such a target reports a transport
// failure that names the setting, rather than dropping the server.
func TargetFromOutbound(o *conf.Outbound) (Target, error) {
	if o == nil || !strings.EqualFold(o.Protocol, "vmess") {
		return Target{}, fmt.Errorf("probe: outbound %q is not VMess", tagOf(o))
	}
	srv, user, ok := o.Settings.Target()
	if !ok {
		return Target{}, fmt.Errorf("probe: outbound %q must name exactly one server with one user", tagOf(o))
	}
	if srv.Port < 1 || srv.Port > 65535 {
		return Target{}, fmt.Errorf("probe: outbound %q: port %d is out of range 1–65535", tagOf(o), srv.Port)
	}
	t := Target{
		Name:        o.Tag,
		ID:          user.ID,
		AlterID:     user.AlterID,
		Security:    user.Security,
		Experiments: user.Experiments,
		Stream:      transport.Config{Address: srv.Address, Port: uint16(srv.Port)},
	}
	ss := o.StreamSettings
	if ss == nil {
		return t, nil
	}
	t.Stream.Network = ss.Network
	t.Stream.Security = ss.Security
	if tl := ss.TLSSettings; tl != nil {
		t.Stream.TLS = transport.TLSConfig{
			ServerName:           tl.ServerName,
			ALPN:                 tl.ALPN,
			Fingerprint:          tl.Fingerprint,
			PinnedPeerCertSHA256: splitComma(tl.PinnedPeerCertSha256),
			VerifyPeerCertByName: splitComma(tl.VerifyPeerCertByName),
			AllowInsecure:        tl.AllowInsecure,
			// Carried so that Dial refuses ECH by name instead of
			// probing without it.
			ECHConfigList: tl.ECHConfigList,
		}
	}
	if so := ss.Sockopt; so != nil {
		// Likewise: a dialerProxy chain is refused by name, not skipped.
		t.Stream.Sockopt.DialerProxy = so.DialerProxy
	}
	// mKCP's masks, and TCP masks that Dial refuses by name.
	t.Stream.FinalMask = ss.FinalMask
	if nw, ok := networks[networkName(ss.Network)]; ok {
		nw.fromOutbound(ss, &t.Stream)
	}
	return t, nil
}

// TargetFromNode maps a convert node (one server read from a link, a
// subscription, Clash, sing-box or an Xray config) onto a Target directly,
// keeping every field probing can use — alterId for the legacy header,
// allowInsecure — and every transport by its own name: a node whose
// transport xvm cannot dial (hysteria, quic, REALITY, …) keeps that name,
// and probing it fails as a transport failure that says so; h2 stays h2
// (convert's Xray output would rewrite it to XHTTP). The
// result may still be unprobeable; check it with Target.Validate.
func TargetFromNode(n *convert.Node) Target {
	if n == nil {
		return Target{}
	}
	t := Target{
		Name:        n.Name,
		ID:          n.UUID,
		AlterID:     n.AlterID,
		Security:    n.Cipher,
		Experiments: n.Experiments,
		Stream: transport.Config{
			Address:  n.Server,
			Port:     nodePort(n.Port),
			Network:  networkName(n.Network),
			Security: strings.ToLower(n.Security),
		},
	}
	if t.Security == "" {
		t.Security = "auto"
	}
	if t.Stream.Security == "none" {
		t.Stream.Security = ""
	}
	if t.Stream.Security == "tls" {
		t.Stream.TLS = transport.TLSConfig{
			ServerName:           sniFallback(n),
			ALPN:                 n.ALPN,
			Fingerprint:          strings.ToLower(n.Fingerprint),
			PinnedPeerCertSHA256: splitComma(n.PCS),
			VerifyPeerCertByName: splitComma(n.VCN),
			AllowInsecure:        n.Insecure,
			ECHConfigList:        n.ECH,
		}
	}
	t.Stream.FinalMask = n.FinalMask
	if nw, ok := networks[t.Stream.Network]; ok {
		nw.fromNode(n, &t.Stream)
	}
	return t
}

// sniFallback is the TLS server name of a node: its SNI, else (as v2rayN
// and mihomo do for links without one) the first Host of an HTTP-based
// transport or the gRPC authority; empty leaves Xray's rule, the address.
func sniFallback(n *convert.Node) string {
	if n.SNI != "" {
		return n.SNI
	}
	switch networkName(n.Network) {
	case "grpc":
		return n.Authority
	case "ws", "httpupgrade", "xhttp", "h2":
		return firstOf(n.Host)
	case "raw":
		if strings.EqualFold(n.HeaderType, "http") {
			return firstOf(n.Host)
		}
	}
	return ""
}

func tagOf(o *conf.Outbound) string {
	if o == nil {
		return ""
	}
	return o.Tag
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstOf(s string) string {
	if l := splitComma(s); len(l) > 0 {
		return l[0]
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// nodePort is a node's port, or 0 (which Validate reports) when it is out
// of range: probing a clamped port would probe some other server.
func nodePort(p int) uint16 {
	if p < 1 || p > 65535 {
		return 0
	}
	return uint16(p)
}
