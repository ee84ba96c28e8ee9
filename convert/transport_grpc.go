package convert

import "github.com/xvmtools/xvm/schema/conf"

// grpcPart is gRPC: ServiceName, GRPCMode (gun, the default, or multi)
// and Authority. v2rayN packs them into path, type and host.
var grpcPart = &transportPart{
	readV2RayN: func(n *fullNode, typ, host, path string, warn warnFunc) {
		n.GRPCMode = grpcMode(noneAsDefault(typ), "type", warn) // v2rayN writes none for the default
		n.ServiceName = path
		n.Authority = host
	},
	writeV2RayN: func(n *fullNode, l *v2raynLink, _ warnFunc) {
		l.Type = "gun"
		if n.GRPCMode == "multi" {
			l.Type = "multi"
		}
		l.Host, l.Path = n.Authority, n.ServiceName
	},
	readURI: func(n *fullNode, q *query, warn warnFunc) error {
		n.ServiceName = q.get("serviceName")
		n.Authority = q.get("authority")
		n.GRPCMode = grpcMode(q.get("mode"), "mode", warn)
		return nil
	},
	writeURI: func(n *fullNode, add func(k, v string), _ warnFunc) {
		add("serviceName", n.ServiceName)
		add("authority", n.Authority)
		add("mode", n.GRPCMode)
	},
	readXray: func(n *fullNode, ss *conf.StreamSettings, _ warnFunc) error {
		if g := ss.GRPCSettings; g != nil {
			n.ServiceName, n.Authority = g.ServiceName, g.Authority
			if g.MultiMode {
				n.GRPCMode = "multi"
			}
		}
		return nil
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, _ warnFunc) error {
		ss.Network = "grpc"
		ss.GRPCSettings = &conf.GRPCSettings{ServiceName: n.ServiceName, Authority: n.Authority, MultiMode: n.GRPCMode == "multi"}
		return nil
	},
	readClash: func(n *fullNode, _ string, m map[string]any, _ warnFunc) {
		g := clashKeys(asMap(m["grpc-opts"]))
		n.ServiceName = str(g["grpc-service-name"])
	},
	writeClash: func(n *fullNode, p *clashProxy, warn warnFunc) error {
		p.Network = "grpc"
		p.GRPCOpts = &clashGRPCOpts{ServiceName: n.ServiceName}
		if n.GRPCMode == "multi" {
			warn("mode", "mihomo has no gRPC multi mode; not carried")
		}
		if n.Authority != "" {
			warn("authority", "mihomo has no gRPC authority (it uses servername); not carried")
		}
		return nil
	},
	readSingBox: func(n *fullNode, tr map[string]any, _ warnFunc) {
		n.ServiceName = str(tr["service_name"])
	},
	writeSingBox: func(n *fullNode, o *sbOutbound, warn warnFunc) error {
		o.Transport = &sbTransport{Type: "grpc", ServiceName: n.ServiceName}
		if n.GRPCMode == "multi" {
			warn("mode", "sing-box has no gRPC multi mode; not carried")
		}
		if n.Authority != "" {
			warn("authority", "sing-box has no gRPC authority; not carried")
		}
		return nil
	},
}

// grpcMode reads a gRPC mode from field: gun (the default) or multi.
func grpcMode(m, field string, warn warnFunc) string {
	switch m {
	case "", "gun":
		return ""
	case "multi":
		return "multi"
	}
	warn(field, "unknown gRPC mode %q; want gun or multi; using gun", clip(m))
	return ""
}
