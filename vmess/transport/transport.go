// Package transport dials the stream settings that Xray-core's outbound
// uses (RAW/TCP with the optional HTTP header disguise, TLS with uTLS
// fingerprints and certificate pinning, WebSocket, HTTPUpgrade, gRPC
// "gun", XHTTP, mKCP with its UDP masks, and the removed HTTP/2
// transport) and returns a net.Conn that the VMess client runs over.
//
// Wire behaviour follows Xray-core v1.260327.0
// (transport/internet/{tcp,tls,websocket,httpupgrade,grpc,splithttp,kcp,finalmask,headers/http}),
// and for HTTP/2 the Xray and V2Ray clients that had it; the tests prove
// it against in-process Xray servers, and HTTP/2 against sing-box's.
//
// Every phase (DNS, TCP connect, TLS handshake, transport upgrade) honours
// the context given to Dial, is reported to an optional Trace, and fails
// with an *Error that names the phase.
package transport

import (
	"github.com/xvmtools/xvm/vmess"

	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Config is one Xray streamSettings object, in plain Go (the probe maps
// Xray JSON onto it). The zero value dials raw TCP without TLS.
type Config struct {
	// Address is the server host: a domain name or an IP literal.
	Address string
	// Port is the server port.
	Port uint16
	// Network is Xray's streamSettings.network, case-insensitive: "raw"
	// (aliases "tcp" and ""), "ws" ("websocket"), "httpupgrade", "grpc",
	// "xhttp" ("splithttp"), "kcp" ("mkcp"), and the HTTP/2 transport
	// "h2" ("http") that Xray removed but older servers run. "hysteria"
	// and the removed "quic" and "h3" make Dial fail with an
	// *UnsupportedError that names them; "domainsocket" and names Xray
	// does not know too.
	Network string
	// Security is streamSettings.security: "", "none" or "tls".
	// "reality" gives an *UnsupportedError.
	Security string

	// TLS is tlsSettings, used when Security is "tls".
	TLS TLSConfig
	// Raw is rawSettings (alias tcpSettings).
	Raw RawConfig
	// WS is wsSettings.
	WS WSConfig
	// HTTPUpgrade is httpupgradeSettings.
	HTTPUpgrade HTTPUpgradeConfig
	// GRPC is grpcSettings.
	GRPC GRPCConfig
	// XHTTP is xhttpSettings (alias splithttpSettings).
	XHTTP XHTTPConfig
	// KCP is kcpSettings.
	KCP KCPConfig
	// HTTP is httpSettings, of the HTTP/2 transport.
	HTTP HTTPConfig
	// FinalMask is streamSettings.finalmask as JSON, read as Xray reads
	// it. Its udp masks wrap mKCP's datagrams; tcp masks, which xvm does
	// not speak, make Dial fail with an *UnsupportedError.
	FinalMask json.RawMessage
	// Sockopt is the part of streamSettings.sockopt that changes where
	// the connection goes.
	Sockopt SockoptConfig

	// NetDialer dials TCP; nil means a zero net.Dialer. It is always given
	// an IP literal address: name resolution is done by Resolver so the
	// DNS phase can be timed on its own.
	NetDialer ContextDialer
	// Resolver resolves Address when it is a domain name; nil means
	// net.DefaultResolver.
	Resolver *net.Resolver
}

// ContextDialer is the shape of net.Dialer that Config.NetDialer needs.
type ContextDialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// TLSConfig is the client part of Xray's tlsSettings.
type TLSConfig struct {
	// ServerName is the SNI and the name the certificate is verified
	// against; empty means Address (Xray's rule).
	ServerName string
	// ALPN is the ALPN list. It is sent as given only with Fingerprint
	// "unsafe" (Go's crypto/tls); with a uTLS fingerprint the browser's own
	// list is sent, except that WebSocket and HTTPUpgrade force
	// "http/1.1", exactly as Xray does. Empty means ["h2", "http/1.1"].
	ALPN []string
	// Fingerprint selects the ClientHello: "" means uTLS Chrome (Xray's
	// default), "unsafe" means Go's crypto/tls, otherwise one of Xray's
	// names (chrome, firefox, safari, ios, android, edge, 360, qq, random,
	// randomized, randomizednoalpn, or a hello* name), case-insensitive.
	Fingerprint string
	// PinnedPeerCertSHA256 lists SHA-256 hashes (hex, colons allowed) of a
	// certificate in the server's chain. A matching leaf is accepted
	// without further checks; a matching CA becomes the only root.
	PinnedPeerCertSHA256 []string
	// VerifyPeerCertByName verifies the certificate against these names
	// instead of ServerName.
	VerifyPeerCertByName []string
	// AllowInsecure skips certificate verification. Current Xray refuses
	// configs that set it (see Config.Warnings); xvm accepts it so old
	// configs can still be probed.
	AllowInsecure bool
	// RootCAs are the trusted roots; nil means the system roots.
	RootCAs *x509.CertPool
	// ECHConfigList is tlsSettings.echConfigList. xvm does not speak
	// Encrypted Client Hello: a non-empty value makes Dial fail with an
	// *UnsupportedError rather than probe without the ECH the server may
	// require.
	ECHConfigList string
}

// SockoptConfig is the part of Xray's sockopt that Dial must know about.
type SockoptConfig struct {
	// DialerProxy is sockopt.dialerProxy, the tag of another outbound
	// that carries this one. xvm dials directly only: a non-empty value
	// makes Dial fail with an *UnsupportedError.
	DialerProxy string
}

// RawConfig is Xray's rawSettings (tcpSettings).
type RawConfig struct {
	// HeaderType is header.type: "" or "none" for no disguise, "http" for
	// the HTTP/1.1 request/response disguise.
	HeaderType string
	// Request is header.request, used when HeaderType is "http".
	Request HTTPRequest
}

// HTTPRequest is the request part of Xray's HTTP header disguise. Empty
// fields take Xray's defaults.
type HTTPRequest struct {
	// Version defaults to "1.1".
	Version string
	// Method defaults to "GET".
	Method string
	// Path is a list; one is picked at random per connection. Default "/".
	Path []string
	// Headers map a name to candidate values; one value is picked at
	// random per connection. Default: Xray's Host/User-Agent/
	// Accept-Encoding/Connection/Pragma set.
	Headers map[string][]string
}

// WSConfig is Xray's wsSettings.
type WSConfig struct {
	// Path is the request path; "?ed=N" in it enables early data of up to
	// N bytes, carried in Sec-WebSocket-Protocol as base64url (Xray's way).
	Path string
	// Host is the Host header; empty means TLS.ServerName, then Address.
	Host string
	// Headers are extra request headers.
	Headers map[string]string
}

// HTTPUpgradeConfig is Xray's httpupgradeSettings.
type HTTPUpgradeConfig struct {
	// Path is the request path. "?ed=N" is removed from it as Xray's
	// loader does, but the dialer still waits for the 101 response before
	// sending data (see Config.Warnings for why).
	Path string
	// Host is the Host header; empty means TLS.ServerName, then Address.
	Host string
	// Headers are extra request headers.
	Headers map[string]string
}

// GRPCConfig is Xray's grpcSettings.
type GRPCConfig struct {
	// ServiceName is the gun service name, or a custom path starting with
	// "/" ("/a/b/Tun" form); the stream path is "/<name>/Tun" or
	// "/<name>/TunMulti".
	ServiceName string
	// MultiMode uses TunMulti (MultiHunk messages) instead of Tun (Hunk).
	MultiMode bool
	// Authority is the :authority header; empty means TLS.ServerName,
	// then Address when it is a domain.
	Authority string
	// UserAgent is the user-agent header; "" and "chrome" mean Xray's
	// Chrome UA, "firefox", "edge" likewise, "golang" means none.
	UserAgent string
}

// Phase names a step of dialing.
type Phase string

// The phases of Dial, in order.
const (
	// PhaseConfig is a configuration Dial cannot use (no I/O happened).
	PhaseConfig Phase = "config"
	// PhaseDNS resolves Address.
	PhaseDNS Phase = "dns"
	// PhaseConnect opens the TCP connection.
	PhaseConnect Phase = "connect"
	// PhaseTLS is the TLS handshake and certificate verification.
	PhaseTLS Phase = "tls"
	// PhaseUpgrade is the WebSocket or HTTPUpgrade handshake, or opening
	// the gRPC stream (HTTP/2 preface and response headers).
	PhaseUpgrade Phase = "upgrade"
)

// Trace receives each phase's start and end when the phase completes
// successfully. Any field may be nil. A phase deferred for early data
// (WebSocket ed, HTTPUpgrade ed) reports when it completes, after Dial has
// returned.
type Trace struct {
	PhaseDone func(p Phase, start, end time.Time)
}

func (t *Trace) done(p Phase, start time.Time) {
	if t != nil && t.PhaseDone != nil {
		t.PhaseDone(p, start, time.Now())
	}
}

// Error is a failure of one dialing phase. Use errors.As to get it.
type Error struct {
	// Phase is the phase that failed.
	Phase Phase
	// Err is the cause.
	Err error
}

// Error names the phase and the cause, e.g. "transport: tls failed: ...".
func (e *Error) Error() string {
	if e.Phase == PhaseConfig {
		return e.Err.Error()
	}
	return fmt.Sprintf("transport: %s failed: %v", e.Phase, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Refused reports whether the server refused the TCP connection.
func (e *Error) Refused() bool {
	return e.Phase == PhaseConnect && errors.Is(e.Err, syscall.ECONNREFUSED)
}

// Timeout reports whether the phase ran out of time (context deadline or
// connection deadline).
func (e *Error) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// UnsupportedError reports a stream setting xvm cannot dial yet. It is
// returned wrapped in an *Error with Phase PhaseConfig.
type UnsupportedError struct {
	// What names the unsupported setting, e.g. `network "xhttp"`.
	What string
	// Hint says what to do instead; empty means the supported networks
	// and securities.
	Hint string
}

// Error names the unsupported setting and what to do instead.
func (e *UnsupportedError) Error() string {
	hint := e.Hint
	if hint == "" {
		hint = "use raw, ws, httpupgrade, grpc, xhttp, kcp or h2 with security none or tls"
	}
	return "transport: " + e.What + " is not supported yet; " + hint
}

// Warnings lists what in c a current Xray would refuse or warn about but
// xvm dials anyway (for example allowInsecure).
func (c *Config) Warnings() []string {
	var w []string
	if strings.EqualFold(c.Security, "tls") && c.TLS.AllowInsecure {
		w = append(w, `tlsSettings.allowInsecure: current Xray refuses this setting ("removed and migrated to pinnedPeerCertSha256"); xvm skips certificate verification for this probe only; pin the certificate with pinnedPeerCertSha256 instead`)
	}
	if NetworkName(c.Network) == "httpupgrade" {
		if _, ed := splitEarlyData(c.HTTPUpgrade.Path); ed > 0 {
			w = append(w, `httpupgradeSettings.path: "?ed=" early data is not used; xvm waits for the server's 101 response, because Xray's own server drops payload that arrives together with the upgrade request`)
		}
	}
	for k := range c.WS.Headers {
		if strings.EqualFold(k, "host") && NetworkName(c.Network) == "ws" {
			w = append(w, `wsSettings.headers.Host is deprecated in Xray; it is used as wsSettings.host`)
		}
	}
	tls := strings.EqualFold(c.Security, "tls")
	switch NetworkName(c.Network) {
	case "h2":
		w = append(w, `network "h2": Xray v1.260327.0 removed the HTTP/2 transport (it refuses such configs and migrated them to XHTTP stream-one); xvm dials it for servers that still run it (older Xray, V2Ray, sing-box)`)
		if !tls {
			w = append(w, `network "h2" without TLS: Xray's and V2Ray's clients refused this; xvm speaks h2c (HTTP/2 without TLS), which their servers and sing-box's accept`)
		}
	case "xhttp":
		if c.XHTTP.H2C && !tls {
			w = append(w, `xhttpSettings: h2c is xvm's choice; Xray's client speaks HTTP/1.1 without TLS (its server accepts both)`)
		}
	case "kcp":
		header := strings.ToLower(c.KCP.HeaderType)
		if masks, _ := parseFinalMask(c.FinalMask); len(masks) == 0 && (header != "" && header != "none" || c.KCP.Seed != "") {
			w = append(w, `kcpSettings.header and seed: Xray v1.260327.0 refuses them; xvm dials the finalmask.udp masks they became (header-*, then mkcp-aes128gcm with the seed or mkcp-original)`)
		}
	}
	return w
}

// NetworkName is the network a Config's Network names for the dialer:
// vmess.StreamNetwork's canonical name, known or not,
// but for h3: the vocabulary files it with h2 (Xray refuses both as its
// removed HTTP transport), while a dialer asked for HTTP/3 must not speak
// HTTP/2 over TCP in its place, so h3 stays a network xvm does not dial.
func NetworkName(n string) string {
	c, _ := vmess.StreamNetwork(n)
	if c == "h2" && strings.EqualFold(strings.TrimSpace(n), "h3") {
		return "h3"
	}
	return c
}
