package probe

import (
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/vmess/transport"
)

// TargetFromNode maps a convert node (one server read from a link, a
// subscription, Clash, sing-box or an Xray config) onto a Target. It is
// probe's one mapping: an Xray outbound is read into a node by convert
// first, as the CLI reads every input. It keeps every field probing can
// use — alterId for the legacy header, allowInsecure — and every
// transport by its own name: a node whose transport xvm cannot dial
// (quic, REALITY, …) keeps that name, and probing it fails as a
// transport failure that says so; h2 stays h2 (convert's Xray output would
// rewrite it to XHTTP). What it cannot carry is in Target.Warnings. The
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
		Experiments: n.Extras().Experiments,
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
			PinnedPeerCertSHA256: splitComma(n.Extras().PCS),
			VerifyPeerCertByName: splitComma(n.Extras().VCN),
			AllowInsecure:        n.Insecure,
			ECHConfigList:        n.Extras().ECH,
		}
	}
	t.Stream.FinalMask = n.Extras().FinalMask
	if nw, ok := networks[t.Stream.Network]; ok {
		nw.fromNode(n, &t.Stream, func(w string) { t.warnings = append(t.warnings, w) })
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
		return n.Extras().Authority
	case "ws", "httpupgrade", "xhttp", "h2":
		return firstOf(n.Host)
	case "raw":
		if strings.EqualFold(n.HeaderType, "http") {
			return firstOf(n.Host)
		}
	}
	return ""
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
