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

func toSingBox(n *fullNode) (*sbOutbound, []Diagnostic, error) {
	var warns []Diagnostic
	warn := n.warnTo(&warns)
	fail := func(field, reason string) error {
		return &NotConvertibleError{Server: n.label(), Target: "sing-box", Field: field, Reason: reason}
	}
	o := &sbOutbound{Type: "vmess", Tag: n.Name, Server: n.Server, ServerPort: n.Port, UUID: n.UUID,
		Security: n.cipher(), AlterID: n.AlterID, PacketEncoding: "xudp", TCPFastOpen: n.TFO,
		AuthenticatedLength: strings.Contains(n.Experiments, "AuthenticatedLength")}
	part := n.transportOf()
	if part == nil || part.writeSingBox == nil {
		return nil, warns, fail("network", "sing-box has no "+n.network()+" transport")
	}
	if err := part.writeSingBox(n, o, warn); err != nil {
		return nil, warns, n.notConvertible("sing-box", err)
	}
	if sec := n.securityOf(); sec != nil {
		sec.writeSingBox(n, o, warn)
	}
	if fp := n.foreignClient("sing-box", "multiplex", singBoxFingerprints, o.TLS != nil, warn); fp != "" {
		o.TLS.UTLS = &sbUTLS{Enabled: true, Fingerprint: fp}
	}
	return o, warns, nil
}
