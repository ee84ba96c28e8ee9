package convert

import (
	"strings"
)

type clashProxy struct {
	Name                string         `json:"name"`
	Type                string         `json:"type"`
	Server              string         `json:"server"`
	Port                int            `json:"port"`
	UUID                string         `json:"uuid"`
	AlterID             int            `json:"alterId"`
	Cipher              string         `json:"cipher"`
	UDP                 bool           `json:"udp"`
	TLS                 bool           `json:"tls,omitempty"`
	ServerName          string         `json:"servername,omitempty"`
	ALPN                []string       `json:"alpn,omitempty"`
	SkipCertVerify      bool           `json:"skip-cert-verify,omitempty"`
	Fingerprint         string         `json:"fingerprint,omitempty"`
	ClientFingerprint   string         `json:"client-fingerprint,omitempty"`
	RealityOpts         *clashReality  `json:"reality-opts,omitempty"`
	Network             string         `json:"network,omitempty"`
	WSOpts              *clashWSOpts   `json:"ws-opts,omitempty"`
	H2Opts              *clashH2Opts   `json:"h2-opts,omitempty"`
	HTTPOpts            *clashHTTPOpts `json:"http-opts,omitempty"`
	GRPCOpts            *clashGRPCOpts `json:"grpc-opts,omitempty"`
	TFO                 bool           `json:"tfo,omitempty"`
	AuthenticatedLength bool           `json:"authenticated-length,omitempty"`
}

type clashReality struct {
	PublicKey string `json:"public-key"`
	ShortID   string `json:"short-id,omitempty"`
}

type clashWSOpts struct {
	Path                string            `json:"path,omitempty"`
	Headers             map[string]string `json:"headers,omitempty"`
	MaxEarlyData        int               `json:"max-early-data,omitempty"`
	EarlyDataHeaderName string            `json:"early-data-header-name,omitempty"`
	V2rayHTTPUpgrade    bool              `json:"v2ray-http-upgrade,omitempty"`
}

type clashH2Opts struct {
	Host []string `json:"host,omitempty"`
	Path string   `json:"path,omitempty"`
}

type clashHTTPOpts struct {
	Method  string              `json:"method,omitempty"`
	Path    []string            `json:"path,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
}

type clashGRPCOpts struct {
	ServiceName string `json:"grpc-service-name"`
}

// clashFingerprints are the uTLS names mihomo knows.
var clashFingerprints = map[string]bool{
	"chrome": true, "firefox": true, "safari": true, "ios": true, "android": true, "edge": true,
	"360": true, "qq": true, "random": true,
}

// toClash writes a node as a mihomo (Clash.Meta) vmess proxy.
func toClash(n *fullNode) (*clashProxy, []Diagnostic, error) {
	var warns []Diagnostic
	warn := n.warnTo(&warns)
	fail := func(field, reason string) error {
		return &NotConvertibleError{Server: n.label(), Target: "clash", Field: field, Reason: reason}
	}
	// udp is what the source said (mihomo's own default is off); a source
	// without the switch gets it on, as mihomo's link converter writes for
	// every vmess link (common/convert/converter.go, ConvertsV2Ray).
	p := &clashProxy{Name: n.Name, Type: "vmess", Server: n.Server, Port: n.Port, UUID: n.UUID,
		AlterID: n.AlterID, Cipher: n.cipher(), UDP: n.UDP != UDPOff, TFO: n.TFO,
		AuthenticatedLength: strings.Contains(n.Experiments, "AuthenticatedLength")}
	part := n.transportOf()
	if part == nil || part.writeClash == nil {
		return nil, warns, fail("network", "mihomo's vmess has no "+n.network()+" transport")
	}
	if err := part.writeClash(n, p, warn); err != nil {
		return nil, warns, n.notConvertible("clash", err)
	}
	if sec := n.securityOf(); sec != nil {
		if err := sec.writeClash(n, p, warn); err != nil {
			return nil, warns, n.notConvertible("clash", err)
		}
	}
	p.ClientFingerprint = n.foreignClient("mihomo", "smux", clashFingerprints, true, warn)
	if n.Experiments != "" && n.Experiments != "AuthenticatedLength" {
		warn("experiments", "only AuthenticatedLength is carried")
	}
	return p, warns, nil
}
