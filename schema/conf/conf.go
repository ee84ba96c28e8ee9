// Package conf holds Go types for the parts of an Xray-core configuration
// that describe a VMess outbound: the OutboundObject, its VMess settings and
// its streamSettings, with the JSON field names Xray-core v1.260327.0 reads
// (infra/conf). The types are a superset of what current Xray accepts: they
// also keep fields Xray has removed or ignores (alterId, HTTP/2 and QUIC
// settings, mKCP header and seed, allowInsecure), so that a node read from an
// older dialect keeps that information until an emitter decides what to do
// with it. Packages convert and probe share these types.
package conf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Config is a whole Xray configuration file, reduced to the parts a VMess
// client needs.
type Config struct {
	Log       *Log       `json:"log,omitempty"`
	Inbounds  []Inbound  `json:"inbounds,omitempty"`
	Outbounds []Outbound `json:"outbounds"`
}

// Log is Xray's LogObject.
type Log struct {
	LogLevel string `json:"loglevel,omitempty"`
}

// Inbound is Xray's InboundObject; convert uses it only for the local socks
// inbound of a runnable client config.
type Inbound struct {
	Tag      string          `json:"tag,omitempty"`
	Listen   string          `json:"listen,omitempty"`
	Port     int             `json:"port"`
	Protocol string          `json:"protocol"`
	Settings json.RawMessage `json:"settings,omitempty"`
	Sniffing json.RawMessage `json:"sniffing,omitempty"`
}

// Outbound is Xray's OutboundObject for the vmess protocol.
type Outbound struct {
	Protocol       string          `json:"protocol"`
	Tag            string          `json:"tag,omitempty"`
	SendThrough    string          `json:"sendThrough,omitempty"`
	Settings       *VMessSettings  `json:"settings,omitempty"`
	StreamSettings *StreamSettings `json:"streamSettings,omitempty"`
	ProxySettings  *ProxySettings  `json:"proxySettings,omitempty"`
	Mux            *Mux            `json:"mux,omitempty"`
	TargetStrategy string          `json:"targetStrategy,omitempty"`
}

// VMessSettings is the settings object of a VMess outbound. Xray accepts
// two shapes: the classic vnext list (exactly one server with exactly one
// user) and the flat form, where Address is set and Vnext is ignored.
type VMessSettings struct {
	Vnext []Server `json:"vnext,omitempty"`

	// The flat form (Xray v1.260327.0): used when Address is set.
	Address     string `json:"address,omitempty"`
	Port        int    `json:"port,omitempty"`
	ID          string `json:"id,omitempty"`
	Security    string `json:"security,omitempty"`
	Level       uint32 `json:"level,omitempty"`
	Email       string `json:"email,omitempty"`
	Experiments string `json:"experiments,omitempty"`
}

// Server is one vnext entry.
type Server struct {
	Address string `json:"address"`
	Port    int    `json:"port"`
	Users   []User `json:"users"`
}

// User is a VMess UserObject.
type User struct {
	ID string `json:"id"`
	// AlterID is the legacy alterId the seed manual documents, as the
	// document wrote it. Xray v1.260327.0 has no such field (only AEAD
	// authentication remains), so a reader that follows Xray takes it as
	// 0 whatever it says; it is kept so that readers can say so.
	AlterID     int    `json:"alterId,omitempty"`
	Security    string `json:"security,omitempty"`
	Level       uint32 `json:"level,omitempty"`
	Email       string `json:"email,omitempty"`
	Experiments string `json:"experiments,omitempty"`
}

// UnmarshalJSON reads a user the way Xray does as far as alterId goes:
// Xray v1.260327.0 has no alterId field at all (infra/conf/vmess.go,
// VMessAccount), so any JSON value there loads. A number, or a number
// written as a string ("0", as many panels write it), is kept; any other
// value reads as 0.
func (u *User) UnmarshalJSON(b []byte) error {
	type plain User // without this method
	var v struct {
		plain
		AlterID json.RawMessage `json:"alterId"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*u = User(v.plain)
	u.AlterID = looseInt(v.AlterID)
	return nil
}

// looseInt reads a JSON number or a string holding one; anything else is 0.
func looseInt(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(strings.TrimSpace(s))
	}
	var i int
	if json.Unmarshal(raw, &i) != nil {
		return 0
	}
	return i
}

// Split returns one settings object per server × user of a vnext list (the
// seed manual allows several of each; current Xray refuses more than one),
// each in vnext form with one server and one user, in document order. The
// flat form and a vnext with exactly one server and user come back as they
// are. Servers without users are skipped, so an empty result means there is
// no server with a user at all.
func (s *VMessSettings) Split() []VMessSettings {
	if s == nil {
		return nil
	}
	if s.Address != "" {
		return []VMessSettings{*s}
	}
	var out []VMessSettings
	for _, srv := range s.Vnext {
		for _, u := range srv.Users {
			out = append(out, VMessSettings{Vnext: []Server{{Address: srv.Address, Port: srv.Port, Users: []User{u}}}})
		}
	}
	return out
}

// Target returns the server and user the settings describe, whichever shape
// they use, and false when there is not exactly one of each.
func (s *VMessSettings) Target() (Server, User, bool) {
	if s == nil {
		return Server{}, User{}, false
	}
	if s.Address != "" {
		return Server{Address: s.Address, Port: s.Port},
			User{ID: s.ID, Security: s.Security, Level: s.Level, Email: s.Email, Experiments: s.Experiments}, true
	}
	if len(s.Vnext) != 1 || len(s.Vnext[0].Users) != 1 {
		return Server{}, User{}, false
	}
	return s.Vnext[0], s.Vnext[0].Users[0], true
}

// StreamSettings is Xray's StreamSettingsObject.
type StreamSettings struct {
	Network  string `json:"network,omitempty"`
	Security string `json:"security,omitempty"`

	TLSSettings     *TLSSettings     `json:"tlsSettings,omitempty"`
	RealitySettings *RealitySettings `json:"realitySettings,omitempty"`

	RawSettings         *RawSettings         `json:"rawSettings,omitempty"`
	TCPSettings         *RawSettings         `json:"tcpSettings,omitempty"` // alias of rawSettings
	WSSettings          *WSSettings          `json:"wsSettings,omitempty"`
	HTTPUpgradeSettings *HTTPUpgradeSettings `json:"httpupgradeSettings,omitempty"`
	GRPCSettings        *GRPCSettings        `json:"grpcSettings,omitempty"`
	XHTTPSettings       *XHTTPSettings       `json:"xhttpSettings,omitempty"`
	SplitHTTPSettings   *XHTTPSettings       `json:"splithttpSettings,omitempty"` // alias of xhttpSettings
	KCPSettings         *KCPSettings         `json:"kcpSettings,omitempty"`

	// HTTPSettings and QUICSettings describe transports Xray v1.260327.0
	// has removed (a build error); they exist to carry older configs.
	HTTPSettings *HTTPSettings `json:"httpSettings,omitempty"`
	QUICSettings *QUICSettings `json:"quicSettings,omitempty"`

	FinalMask json.RawMessage `json:"finalmask,omitempty"`
	Sockopt   *Sockopt        `json:"sockopt,omitempty"`
}

// Raw returns rawSettings, or its alias tcpSettings.
func (s *StreamSettings) Raw() *RawSettings {
	if s.RawSettings != nil {
		return s.RawSettings
	}
	return s.TCPSettings
}

// XHTTP returns xhttpSettings, or its alias splithttpSettings.
func (s *StreamSettings) XHTTP() *XHTTPSettings {
	if s.XHTTPSettings != nil {
		return s.XHTTPSettings
	}
	return s.SplitHTTPSettings
}

// TLSSettings is the client side of Xray's TLSObject.
type TLSSettings struct {
	ServerName string     `json:"serverName,omitempty"`
	ALPN       StringList `json:"alpn,omitempty"`
	// Fingerprint is the uTLS ClientHello name; empty means chrome.
	Fingerprint string `json:"fingerprint,omitempty"`
	// AllowInsecure is a build error in Xray v1.260327.0 after 2026-06-01.
	AllowInsecure        bool   `json:"allowInsecure,omitempty"`
	PinnedPeerCertSha256 string `json:"pinnedPeerCertSha256,omitempty"`
	VerifyPeerCertByName string `json:"verifyPeerCertByName,omitempty"`
	ECHConfigList        string `json:"echConfigList,omitempty"`
	ECHForceQuery        string `json:"echForceQuery,omitempty"`
	MinVersion           string `json:"minVersion,omitempty"`
	MaxVersion           string `json:"maxVersion,omitempty"`
	DisableSystemRoot    bool   `json:"disableSystemRoot,omitempty"`
}

// RealitySettings is the client side of Xray's REALITYObject.
type RealitySettings struct {
	ServerName    string `json:"serverName,omitempty"`
	Fingerprint   string `json:"fingerprint,omitempty"`
	PublicKey     string `json:"publicKey,omitempty"`
	Password      string `json:"password,omitempty"` // alias of publicKey
	ShortID       string `json:"shortId,omitempty"`
	SpiderX       string `json:"spiderX,omitempty"`
	Mldsa65Verify string `json:"mldsa65Verify,omitempty"`
}

// Key returns publicKey, or its alias password.
func (r *RealitySettings) Key() string {
	if r.PublicKey != "" {
		return r.PublicKey
	}
	return r.Password
}

// RawSettings is rawSettings (tcpSettings).
type RawSettings struct {
	Header *TCPHeader `json:"header,omitempty"`
}

// TCPHeader is the RAW header obfuscation: type "none" or "http".
type TCPHeader struct {
	Type     string          `json:"type"`
	Request  *HTTPRequest    `json:"request,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

// HTTPRequest is the request part of the "http" RAW header.
type HTTPRequest struct {
	Version string                `json:"version,omitempty"`
	Method  string                `json:"method,omitempty"`
	Path    StringList            `json:"path,omitempty"`
	Headers map[string]StringList `json:"headers,omitempty"`
}

// WSSettings is wsSettings.
type WSSettings struct {
	Path            string            `json:"path,omitempty"`
	Host            string            `json:"host,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	HeartbeatPeriod uint32            `json:"heartbeatPeriod,omitempty"`
}

// HTTPUpgradeSettings is httpupgradeSettings. Headers may not hold Host.
type HTTPUpgradeSettings struct {
	Path    string            `json:"path,omitempty"`
	Host    string            `json:"host,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// GRPCSettings is grpcSettings (note Xray's snake_case tuning keys).
type GRPCSettings struct {
	ServiceName         string `json:"serviceName,omitempty"`
	MultiMode           bool   `json:"multiMode,omitempty"`
	Authority           string `json:"authority,omitempty"`
	UserAgent           string `json:"user_agent,omitempty"`
	IdleTimeout         int32  `json:"idle_timeout,omitempty"`
	HealthCheckTimeout  int32  `json:"health_check_timeout,omitempty"`
	PermitWithoutStream bool   `json:"permit_without_stream,omitempty"`
	InitialWindowsSize  int32  `json:"initial_windows_size,omitempty"`
}

// XHTTPSettings is xhttpSettings. Extra holds every other XHTTP key as Xray
// reads them; when Extra is present Xray takes only host, path and mode
// from outside it.
type XHTTPSettings struct {
	Host    string            `json:"host,omitempty"`
	Path    string            `json:"path,omitempty"`
	Mode    string            `json:"mode,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Extra   json.RawMessage   `json:"extra,omitempty"`
	// Others are the members given beside these (xPaddingBytes,
	// scMaxEachPostBytes, xmux, …), as read; without Extra, Xray's
	// loader (infra/conf SplitHTTPConfig.Build) uses them as it would
	// the same members inside Extra. Not written back.
	Others map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON reads the named members and keeps the others in Others.
func (x *XHTTPSettings) UnmarshalJSON(b []byte) error {
	type plain XHTTPSettings
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k := range all {
		// Go's decoder, Xray's too, matches member names to fields
		// without regard to case.
		for _, named := range []string{"host", "path", "mode", "headers", "extra"} {
			if strings.EqualFold(k, named) {
				delete(all, k)
			}
		}
	}
	if len(all) == 0 {
		all = nil
	}
	*x = XHTTPSettings(p)
	x.Others = all
	return nil
}

// KCPSettings is kcpSettings. Header and Seed are build errors in Xray
// v1.260327.0 (expressed as finalmask.udp masks instead).
// The capacities and writeBufferSize are pointers: Xray tells a 0 given
// from none given (0 is the smallest window, not the default).
type KCPSettings struct {
	MTU              int             `json:"mtu,omitempty"`
	TTI              int             `json:"tti,omitempty"`
	UplinkCapacity   *int            `json:"uplinkCapacity,omitempty"`
	DownlinkCapacity *int            `json:"downlinkCapacity,omitempty"`
	Congestion       bool            `json:"congestion,omitempty"`
	WriteBufferSize  *int            `json:"writeBufferSize,omitempty"`
	Header           json.RawMessage `json:"header,omitempty"`
	Seed             string          `json:"seed,omitempty"`
}

// HTTPSettings is the removed HTTP/2 transport (network "h2"/"http"), as
// V2Ray and Xray before v25 read it.
type HTTPSettings struct {
	Host    []string              `json:"host,omitempty"`
	Path    string                `json:"path,omitempty"`
	Method  string                `json:"method,omitempty"`
	Headers map[string]StringList `json:"headers,omitempty"`
}

// QUICSettings is the removed QUIC transport.
type QUICSettings struct {
	Security string          `json:"security,omitempty"`
	Key      string          `json:"key,omitempty"`
	Header   json.RawMessage `json:"header,omitempty"`
}

// Sockopt is the subset of SockoptObject converters carry.
type Sockopt struct {
	TCPFastOpen    bool   `json:"tcpFastOpen,omitempty"`
	DialerProxy    string `json:"dialerProxy,omitempty"`
	Mark           int32  `json:"mark,omitempty"`
	Interface      string `json:"interface,omitempty"`
	DomainStrategy string `json:"domainStrategy,omitempty"`
}

// ProxySettings chains an outbound through another one.
type ProxySettings struct {
	Tag string `json:"tag"`
}

// Mux is Xray's MuxObject.
type Mux struct {
	Enabled         bool   `json:"enabled"`
	Concurrency     int    `json:"concurrency,omitempty"`
	XUDPConcurrency int    `json:"xudpConcurrency,omitempty"`
	XUDPProxyUDP443 string `json:"xudpProxyUDP443,omitempty"`
}

// StringList is a list of strings that Xray also accepts as one
// comma-separated string (alpn, RAW header paths and header values).
type StringList []string

// UnmarshalJSON accepts an array of strings or a comma-separated string.
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = splitComma(s)
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("want a string or an array of strings: %w", err)
	}
	*l = a
	return nil
}

func splitComma(s string) StringList {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make(StringList, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
