package convert

import (
	"strings"
)

// sing-box v1.13 vmess outbound, with exactly the documented keys (sing-box
// rejects unknown ones).
type sbOutbound struct {
	Type                string       `json:"type"`
	Tag                 string       `json:"tag,omitempty"`
	Server              string       `json:"server"`
	ServerPort          int          `json:"server_port"`
	UUID                string       `json:"uuid"`
	Security            string       `json:"security,omitempty"`
	AlterID             int          `json:"alter_id,omitempty"`
	AuthenticatedLength bool         `json:"authenticated_length,omitempty"`
	PacketEncoding      string       `json:"packet_encoding,omitempty"`
	TCPFastOpen         bool         `json:"tcp_fast_open,omitempty"`
	TLS                 *sbTLS       `json:"tls,omitempty"`
	Transport           *sbTransport `json:"transport,omitempty"`
}

type sbTLS struct {
	Enabled    bool       `json:"enabled"`
	ServerName string     `json:"server_name,omitempty"`
	Insecure   bool       `json:"insecure,omitempty"`
	ALPN       []string   `json:"alpn,omitempty"`
	UTLS       *sbUTLS    `json:"utls,omitempty"`
	Reality    *sbReality `json:"reality,omitempty"`
	ECH        *sbECH     `json:"ech,omitempty"`
}

type sbUTLS struct {
	Enabled     bool   `json:"enabled"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

type sbReality struct {
	Enabled   bool   `json:"enabled"`
	PublicKey string `json:"public_key"`
	ShortID   string `json:"short_id,omitempty"`
}

type sbECH struct {
	Enabled bool     `json:"enabled"`
	Config  []string `json:"config,omitempty"`
}

type sbTransport struct {
	Type                string            `json:"type"`
	Host                any               `json:"host,omitempty"` // string (httpupgrade) or list (http)
	Path                string            `json:"path,omitempty"`
	Method              string            `json:"method,omitempty"`
	Headers             map[string]string `json:"headers,omitempty"`
	MaxEarlyData        int               `json:"max_early_data,omitempty"`
	EarlyDataHeaderName string            `json:"early_data_header_name,omitempty"`
	ServiceName         string            `json:"service_name,omitempty"`
}

var singBoxFingerprints = map[string]bool{
	"chrome": true, "firefox": true, "edge": true, "safari": true, "360": true, "qq": true,
	"ios": true, "android": true, "random": true, "randomized": true,
}

func toSingBox(n *Node) (*sbOutbound, []Diagnostic, error) {
	var warns []Diagnostic
	warn := n.warnTo(&warns)
	fail := func(field, reason string) error {
		return &NotConvertibleError{Server: n.label(), Target: "sing-box", Field: field, Reason: reason}
	}
	o := &sbOutbound{Type: "vmess", Tag: n.Name, Server: n.Server, ServerPort: n.Port, UUID: n.UUID,
		Security: n.cipher(), AlterID: n.AlterID, PacketEncoding: "xudp", TCPFastOpen: n.TFO,
		AuthenticatedLength: strings.Contains(n.Experiments, "AuthenticatedLength")}
	switch n.network() {
	case "raw":
		if n.HeaderType == "http" {
			if n.Security != "" {
				return nil, warns, fail("headerType", "sing-box's http transport with TLS is HTTP/2, not TCP HTTP obfuscation")
			}
			paths := splitList(n.Path)
			t := &sbTransport{Type: "http", Method: "GET", Headers: n.Headers}
			if hosts := splitList(n.Host); len(hosts) > 0 {
				t.Host = hosts
			}
			if len(paths) > 0 {
				t.Path = paths[0]
				if len(paths) > 1 {
					warn("path", "sing-box takes one path; only the first is carried")
				}
			}
			o.Transport = t
		}
	case "ws":
		path, ed := n.wsEarlyData()
		t := &sbTransport{Type: "ws", Path: path}
		if ed > 0 {
			t.MaxEarlyData = ed
			t.EarlyDataHeaderName = "Sec-WebSocket-Protocol"
		}
		t.Headers = n.headersWithHost()
		o.Transport = t
	case "httpupgrade":
		path, ed := n.wsEarlyData()
		if ed > 0 {
			warn("ed", "sing-box has no early data for httpupgrade; not carried")
		}
		t := &sbTransport{Type: "httpupgrade", Path: path, Headers: n.Headers}
		if n.Host != "" {
			t.Host = n.Host
		}
		o.Transport = t
	case "grpc":
		o.Transport = &sbTransport{Type: "grpc", ServiceName: n.ServiceName}
		if n.GRPCMode == "multi" {
			warn("mode", "sing-box has no gRPC multi mode; not carried")
		}
		if n.Authority != "" {
			warn("authority", "sing-box has no gRPC authority; not carried")
		}
	case "h2":
		if n.Security != "tls" {
			return nil, warns, fail("network", "HTTP/2 needs TLS in sing-box")
		}
		t := &sbTransport{Type: "http", Path: n.Path}
		if hosts := splitList(n.Host); len(hosts) > 0 {
			t.Host = hosts
		}
		o.Transport = t
	case "quic":
		if n.Security != "tls" {
			return nil, warns, fail("network", "QUIC needs TLS in sing-box")
		}
		o.Transport = &sbTransport{Type: "quic"}
		if n.QUICSecurity != "" && n.QUICSecurity != "none" || n.QUICKey != "" || n.HeaderType != "" {
			warn("quicSecurity/key/headerType", "sing-box's QUIC has no encryption or header; not carried")
		}
	default:
		return nil, warns, fail("network", "sing-box has no "+n.network()+" transport")
	}
	switch n.Security {
	case "tls":
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
	case "reality":
		o.TLS = &sbTLS{Enabled: true, ServerName: n.SNI,
			Reality: &sbReality{Enabled: true, PublicKey: n.PublicKey, ShortID: n.ShortID},
			UTLS:    &sbUTLS{Enabled: true, Fingerprint: "chrome"}}
		if n.SpiderX != "" || n.PQV != "" {
			warn("spx/pqv", "sing-box's reality has no spiderX or ML-DSA key; not carried")
		}
	}
	if fp := n.foreignClient("sing-box", "multiplex", singBoxFingerprints, o.TLS != nil, warn); fp != "" {
		o.TLS.UTLS = &sbUTLS{Enabled: true, Fingerprint: fp}
	}
	return o, warns, nil
}
