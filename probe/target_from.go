package probe

import (
	"fmt"
	"strings"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/schema/conf"
	"github.com/xvmtools/xvm/vmess/transport"
)

// TargetFromOutbound maps an Xray VMess outbound (the schema/conf types
// that convert produces from links, subscriptions, Clash, sing-box and Xray
// configs) onto a Target. The name is the outbound's tag. It fails for an
// outbound that is not VMess or does not name exactly one server and user.
//
// Stream settings that transport cannot dial (xhttp, kcp, REALITY, …) are
// carried as they are: probing such a target reports a transport failure
// that names the setting, rather than dropping the server.
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
	if raw := ss.Raw(); raw != nil && raw.Header != nil {
		t.Stream.Raw.HeaderType = raw.Header.Type
		if rq := raw.Header.Request; rq != nil {
			t.Stream.Raw.Request = transport.HTTPRequest{Version: rq.Version, Method: rq.Method, Path: rq.Path}
			if len(rq.Headers) > 0 {
				t.Stream.Raw.Request.Headers = make(map[string][]string, len(rq.Headers))
				for k, v := range rq.Headers {
					t.Stream.Raw.Request.Headers[k] = v
				}
			}
		}
	}
	if ws := ss.WSSettings; ws != nil {
		t.Stream.WS = transport.WSConfig{Path: ws.Path, Host: ws.Host, Headers: ws.Headers}
	}
	if hu := ss.HTTPUpgradeSettings; hu != nil {
		t.Stream.HTTPUpgrade = transport.HTTPUpgradeConfig{Path: hu.Path, Host: hu.Host, Headers: hu.Headers}
	}
	if g := ss.GRPCSettings; g != nil {
		t.Stream.GRPC = transport.GRPCConfig{ServiceName: g.ServiceName, MultiMode: g.MultiMode, Authority: g.Authority, UserAgent: g.UserAgent}
	}
	return t, nil
}

// TargetFromNode maps a convert node (one server read from a link, a
// subscription, Clash, sing-box or an Xray config) onto a Target. It goes
// through the Xray outbound convert writes (the canonical stream
// settings), then adds back what probing needs that current Xray drops:
// alterId, for the legacy header, and allowInsecure. A node Xray cannot
// express (kcp, h2, quic, REALITY without a key, …) keeps its transport
// name, so probing reports it as unsupported instead of dropping it. The
// result may still be unprobeable; check it with Target.Validate.
func TargetFromNode(n *convert.Node) Target {
	if n == nil {
		return Target{}
	}
	if o, _, err := convert.ToXray(n); err == nil {
		if t, err := TargetFromOutbound(&o); err == nil {
			t.AlterID = n.AlterID
			if t.Stream.Security == "tls" {
				t.Stream.TLS.AllowInsecure = n.Insecure
			}
			return t
		}
	}
	return Target{
		Name:        n.Name,
		ID:          n.UUID,
		AlterID:     n.AlterID,
		Security:    n.Cipher,
		Experiments: n.Experiments,
		Stream: transport.Config{
			Address:  n.Server,
			Port:     nodePort(n.Port),
			Network:  n.Network,
			Security: n.Security,
		},
	}
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

// nodePort is a node's port, or 0 (which Validate reports) when it is out
// of range: probing a clamped port would probe some other server.
func nodePort(p int) uint16 {
	if p < 1 || p > 65535 {
		return 0
	}
	return uint16(p)
}
