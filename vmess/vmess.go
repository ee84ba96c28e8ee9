// Package vmess is a VMess client that speaks the protocol byte for byte
// as Xray-core v1.260327.0 does, over any caller-supplied net.Conn.
//
// The layers follow crypto/tls: the wire format (key derivation, sealed
// headers and chunk framing with one state per direction) lives in the
// internal codec package, and this package is the client on top: Conn and
// PacketConn, the account and destination types, and id parsing.
//
// A Client does no I/O until the first Write or Handshake. The first Write
// sends the sealed request header and the first body chunk in one write to
// the underlying connection, which is what servers expect; the first Read
// reads and verifies the response header. Servers send that header only
// together with the destination's first bytes, so a silent destination
// looks exactly like a slow server: always set a deadline or pass a
// context to HandshakeContext.
//
// The AEAD header is used by default (alterId 0). Account.AlterID > 0, or
// Config.ForceLegacy, selects the legacy MD5/AES-CFB header that old V2Ray
// and sing-box servers still accept; Xray-core no longer does.
package vmess

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/xvmtools/xvm/vmess/internal/codec"
)

// ID is a VMess user id: 16 bytes.
type ID [16]byte

// ParseID maps a configured id string to 16 bytes exactly as Xray
// v1.260327.0 does: strings of 32 to 36 bytes are read as hex in 8-4-4-4-12
// groups (each '-' before a group optional, hex case ignored, anything
// after the 32nd digit unchecked); strings of 1 to 30 bytes are names,
// mapped to the version-5 UUID of the nil namespace; anything else is an
// error. The error is an *IDError, and it never repeats the id itself.
func ParseID(s string) (ID, error) {
	var id ID
	n := len(s)
	if n < 32 || n > 36 {
		if n == 0 {
			return id, &IDError{Reason: IDEmpty, Length: n}
		}
		if n > 30 {
			return id, &IDError{Reason: IDBadLength, Length: n, masked: MaskID(s)}
		}
		h := sha1.New()
		h.Write(id[:])
		h.Write([]byte(s))
		copy(id[:], h.Sum(nil))
		id[6] = id[6]&0x0f | 0x50
		id[8] = id[8]&0x3f | 0x80
		return id, nil
	}
	text := s
	out := id[:]
	for _, group := range [...]int{8, 4, 4, 4, 12} {
		if len(text) > 0 && text[0] == '-' {
			text = text[1:]
		}
		reason := IDReason(0)
		if len(text) < group {
			reason = IDTooFewDigits
		} else if _, err := hex.Decode(out[:group/2], []byte(text[:group])); err != nil {
			reason = IDNotHex
		}
		if reason != 0 {
			if strings.Trim(s, "0123456789abcdefABCDEF-") == "" && n-strings.Count(s, "-") >= 32 {
				// Enough hex digits and nothing else, yet refused.
				reason = IDMisplacedDash
			}
			return ID{}, &IDError{Reason: reason, Length: n, masked: MaskID(s)}
		}
		text = text[group:]
		out = out[group/2:]
	}
	return id, nil
}

// IDReason says why ParseID refused an id.
type IDReason uint8

// Reasons for refusing an id.
const (
	// IDEmpty: the id is the empty string.
	IDEmpty IDReason = iota + 1
	// IDBadLength: 31 or more than 36 bytes, neither a UUID (32–36) nor
	// a name (1–30).
	IDBadLength
	// IDTooFewDigits: 32–36 bytes, but they run out before 32 hex digits
	// in 8-4-4-4-12 groups.
	IDTooFewDigits
	// IDNotHex: 32–36 bytes holding a character that is neither a hex
	// digit nor a dash.
	IDNotHex
	// IDMisplacedDash: 32 hex digits and dashes only, but a dash stands
	// inside a group.
	IDMisplacedDash
)

// IDError is the error of ParseID. Use errors.As to get it; its text
// shows the id masked (MaskID).
type IDError struct {
	// Reason is what is wrong with the id.
	Reason IDReason
	// Length is the id's length in bytes.
	Length int
	masked string
}

// Error names the masked id and the reason.
func (e *IDError) Error() string {
	switch e.Reason {
	case IDEmpty:
		return "vmess: empty user id: use a UUID like 8-4-4-4-12 hex digits, or a name of 1 to 30 bytes"
	case IDBadLength:
		return fmt.Sprintf("vmess: invalid user id %s (%d bytes): use a UUID like 8-4-4-4-12 hex digits, or a name of 1 to 30 bytes", e.masked, e.Length)
	case IDTooFewDigits:
		return fmt.Sprintf("vmess: invalid user id %s: too few hex digits for a UUID", e.masked)
	case IDMisplacedDash:
		return fmt.Sprintf("vmess: invalid user id %s: a dash is out of place; want 8-4-4-4-12 hex digits", e.masked)
	}
	return fmt.Sprintf("vmess: invalid user id %s: a UUID holds only hex digits and dashes", e.masked)
}

// String returns the canonical 8-4-4-4-12 lower-case form.
func (id ID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], id[10:16])
	return string(b[:])
}

// MaskID hides a user id for display. A UUID (32 hex digits or more, with
// or without dashes) keeps its first and last 4 characters
// ("2784…6b6b"), so a user can still tell which of their ids is meant;
// 8 of 32 digits give nothing useful away. Any shorter id is a custom name
// (Xray maps 1–30 byte names to a UUID), where 8 characters would give
// much of it away, so one of 8 or more characters keeps only its first and
// last character; anything shorter becomes "…".
func MaskID(s string) string {
	r := []rune(s)
	switch {
	case len(r) >= 32:
		return string(r[:4]) + "…" + string(r[len(r)-4:])
	case len(r) >= 8:
		return string(r[:1]) + "…" + string(r[len(r)-1:])
	}
	return "…"
}

// Security is the body security of a VMess account.
type Security uint8

// Body securities. SecurityAuto is the zero value and is resolved by the
// client: aes-128-gcm on amd64, arm64 and s390x, chacha20-poly1305
// elsewhere. SecurityZero is sent as "none" without chunking.
// SecurityLegacyAES128CFB is the legacy whole-stream AES-128-CFB body, which
// only legacy-auth servers (V2Ray, sing-box) accept.
const (
	SecurityAuto Security = iota
	SecurityAES128GCM
	SecurityChaCha20Poly1305
	SecurityNone
	SecurityZero
	SecurityLegacyAES128CFB
)

// ParseSecurity reads a security name, case-insensitively: auto (or the
// empty string), aes-128-gcm, chacha20-poly1305, none, zero, and
// aes-128-cfb or legacy.
func ParseSecurity(s string) (Security, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return SecurityAuto, nil
	case "aes-128-gcm":
		return SecurityAES128GCM, nil
	case "chacha20-poly1305":
		return SecurityChaCha20Poly1305, nil
	case "none":
		return SecurityNone, nil
	case "zero":
		return SecurityZero, nil
	case "aes-128-cfb", "legacy":
		return SecurityLegacyAES128CFB, nil
	}
	return 0, fmt.Errorf("vmess: unknown security %q: use auto, aes-128-gcm, chacha20-poly1305, none, zero or aes-128-cfb", s)
}

// String returns the security's configuration name.
func (s Security) String() string {
	switch s {
	case SecurityAuto:
		return "auto"
	case SecurityAES128GCM:
		return "aes-128-gcm"
	case SecurityChaCha20Poly1305:
		return "chacha20-poly1305"
	case SecurityNone:
		return "none"
	case SecurityZero:
		return "zero"
	case SecurityLegacyAES128CFB:
		return "aes-128-cfb"
	}
	return fmt.Sprintf("Security(%d)", uint8(s))
}

// Resolve returns the concrete security the client sends: SecurityAuto
// becomes aes-128-gcm on amd64, arm64 and s390x and chacha20-poly1305
// elsewhere; other values are returned unchanged.
func (s Security) Resolve() Security {
	if s != SecurityAuto {
		return s
	}
	return resolveAuto(runtime.GOARCH)
}

func resolveAuto(goarch string) Security {
	switch goarch {
	case "amd64", "arm64", "s390x":
		return SecurityAES128GCM
	}
	return SecurityChaCha20Poly1305
}

// RequestOptions is the request options byte (S, M, P, A bits).
type RequestOptions uint8

// Request option bits.
const (
	// OptionChunkStream (S) frames the body in chunks (and, for AEAD
	// securities, enables the end-of-stream chunk).
	OptionChunkStream RequestOptions = 0x01
	// OptionChunkMasking (M) XORs chunk lengths with a SHAKE128 stream.
	OptionChunkMasking RequestOptions = 0x04
	// OptionGlobalPadding (P) appends 0–63 random bytes to every chunk;
	// Xray requires M with it.
	OptionGlobalPadding RequestOptions = 0x08
	// OptionAuthenticatedLength (A) seals chunk lengths with an AEAD.
	OptionAuthenticatedLength RequestOptions = 0x10
)

// Has reports whether every bit of o2 is set in o.
func (o RequestOptions) Has(o2 RequestOptions) bool { return o&o2 == o2 }

// Account is one VMess user as a client uses it.
type Account struct {
	// ID is the user id.
	ID ID
	// AlterID > 0 selects the legacy (MD5) header, as V2Ray clients do.
	AlterID uint16
	// Security is the body security; SecurityAuto is resolved by the client
	// (aes-128-gcm on amd64/arm64/s390x, else chacha20-poly1305).
	Security Security
	// Options, when non-nil, replaces the option bits Xray's own outbound
	// would send for Security.
	Options *RequestOptions
	// AuthenticatedLength and NoTerminationSignal are Xray's user
	// "experiments": seal chunk lengths, and send no end-of-stream chunk.
	AuthenticatedLength bool
	NoTerminationSignal bool
}

// DefaultOptions returns the option bits Xray's own outbound sends for this
// account (or, for the legacy aes-128-cfb body, the bits V2Ray sends):
// S|M|P for aes-128-gcm, chacha20-poly1305 and auto, S|M for none, nothing
// for zero, S for aes-128-cfb; plus A when AuthenticatedLength is set.
func (a Account) DefaultOptions() RequestOptions {
	var o RequestOptions
	switch a.Security.Resolve() {
	case SecurityAES128GCM, SecurityChaCha20Poly1305:
		o = OptionChunkStream | OptionChunkMasking | OptionGlobalPadding
	case SecurityNone:
		o = OptionChunkStream | OptionChunkMasking
	case SecurityZero:
		o = 0
	case SecurityLegacyAES128CFB:
		o = OptionChunkStream
	}
	if a.AuthenticatedLength {
		o |= OptionAuthenticatedLength
	}
	return o
}

// options returns the option bits this account sends.
func (a Account) options() RequestOptions {
	if a.Options != nil {
		return *a.Options
	}
	return a.DefaultOptions()
}

// Network is the command of a request: a TCP stream or UDP datagrams.
type Network uint8

// Networks. The zero value is treated as NetworkTCP.
const (
	NetworkTCP Network = 1
	NetworkUDP Network = 2
)

// String returns "tcp" or "udp".
func (n Network) String() string {
	if n == NetworkUDP {
		return "udp"
	}
	return "tcp"
}

// Destination is where the server should connect: an IP literal or a
// domain, and a port.
type Destination struct {
	// Network selects the command: NetworkTCP (or zero) or NetworkUDP.
	Network Network
	// Host is an IPv4 or IPv6 literal (brackets allowed) or a domain of at
	// most 255 bytes. Xray's server accepts only [A-Za-z0-9._-] in domains;
	// an internationalized domain (any non-ASCII byte) is sent in its IDNA
	// punycode form (UTS #46 lookup mapping: "Bücher.example" goes as
	// "xn--bcher-kva.example"), and one that is not a valid IDN is refused
	// by Client.
	Host string
	// Port is the destination port.
	Port uint16
}

// String returns host:port.
func (d Destination) String() string {
	if strings.Contains(d.Host, ":") {
		return fmt.Sprintf("[%s]:%d", d.Host, d.Port)
	}
	return fmt.Sprintf("%s:%d", d.Host, d.Port)
}

// addr returns the destination as an IP or a domain, the way Xray writes
// it: IPv4-mapped IPv6 as IPv4, brackets around IPv6 removed.
func (d Destination) addr() (ip netip.Addr, domain string, err error) {
	h := strings.TrimSuffix(strings.TrimPrefix(d.Host, "["), "]")
	if a, perr := netip.ParseAddr(h); perr == nil && a.Zone() == "" {
		return a.Unmap(), "", nil
	}
	if h == "" {
		return netip.Addr{}, "", errors.New("vmess: destination host is empty: give an IP address or a domain")
	}
	if !isASCII(h) {
		// Servers take the domain as bytes and Xray's accepts only
		// [A-Za-z0-9._-], so send the IDNA (punycode) form, as a resolver
		// would look it up.
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return netip.Addr{}, "", fmt.Errorf("vmess: destination %q is not a valid internationalized domain name (%w): check its spelling or give its punycode (xn--…) form", h, err)
		}
		if a == "" || strings.Trim(a, ".") == "" {
			return netip.Addr{}, "", fmt.Errorf("vmess: destination %q holds no domain once IDNA mapping drops its invisible characters: give a domain or an IP address", h)
		}
		if ip, perr := netip.ParseAddr(a); perr == nil {
			return ip.Unmap(), "", nil // full-width digits map to an IP literal
		}
		h = a
	}
	if len(h) > 255 {
		return netip.Addr{}, "", fmt.Errorf("vmess: destination domain is %d bytes long; at most 255 fit in a VMess header", len(h))
	}
	return netip.Addr{}, h, nil
}

// isASCII reports whether s is all 7-bit ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Config holds the injectable parts of a client: clock, randomness and an
// observer. The zero value (or nil) uses the system clock and crypto/rand.
type Config struct {
	// Now is the clock for the auth-id timestamp; nil means time.Now. A
	// prober shifts it to measure the server's clock window.
	Now func() time.Time
	// Rand is the random source for keys, nonces and padding; nil means
	// crypto/rand.
	Rand io.Reader
	// Trace observes phase times; may be nil.
	Trace *Trace
	// ForceLegacy uses the legacy header even with AlterID 0 (the seed
	// manual's Xray_VMESS_AEAD_DISABLED, which only the command layer
	// reads).
	ForceLegacy bool
}

// Trace observes phase times. Any func may be nil. They are called from the
// goroutine doing the I/O and must not block.
type Trace struct {
	// RequestWritten: the request header (with the first data) has been
	// written to the conn.
	RequestWritten func(time.Time)
	// FirstResponseByte: the first byte of the response arrived.
	FirstResponseByte func(time.Time)
	// ResponseHeader: the response header opened and verified.
	ResponseHeader func(time.Time)
}

// Errors, usable with errors.Is. Timeouts surface as errors for which
// errors.Is(err, os.ErrDeadlineExceeded) or errors.Is(err,
// context.DeadlineExceeded) holds.
var (
	// ErrResponseMismatch: the response header did not open under our
	// keys, or its V byte differs. The server is not speaking VMess with
	// this request's keys.
	ErrResponseMismatch = codec.ErrResponseMismatch
	// ErrProtocol: malformed response or body framing (bad length, failed
	// chunk authentication, oversize).
	ErrProtocol = codec.ErrProtocol
	// ErrNoResponse: the server closed the connection before sending any
	// response byte. Xray does this when it rejects the user id or the
	// timestamp (after draining, or at its handshake timeout).
	ErrNoResponse = codec.ErrNoResponse
)
