package convert

import (
	"encoding/json"
	"fmt"

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

// ToXray writes a node as an Xray v1.260327.0 VMess outbound. The warnings
// name every field that was changed or could not be carried; an error
// (a *NotConvertibleError) means current Xray cannot express the node.
func ToXray(n *Node) (conf.Outbound, []Diagnostic, error) {
	return n.full().toXray()
}

func (n *fullNode) toXray() (conf.Outbound, []Diagnostic, error) {
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
	sec := n.securityOf()
	if sec == nil {
		return o, warns, fail("security", "unknown security %q; want tls or reality", clip(n.Security))
	}
	if err := sec.writeXray(n, ss, warn); err != nil {
		return o, warns, n.notConvertible("xray", err)
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
