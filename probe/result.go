// Package probe checks VMess servers with a real VMess client: whether a
// server accepts us, how long each phase of a request through it takes, how
// far its clock is from ours, and — when it fails — why, as one of a small
// set of error kinds with a message that says what to do next.
//
// probe plans and runs the work with bounded concurrency and per-attempt
// deadlines and returns plain Result values; rendering them (table, JSON,
// NDJSON) is separate. Time and randomness are inputs (Options.Now,
// Options.Rand), which clock-skew measurement needs anyway: the skew search
// sends handshakes whose timestamps come from deliberately shifted clocks.
package probe

import (
	"math"
	"time"
)

// Kind says why a probe failed. The values are the CLI/JSON contract.
type Kind string

// The error kinds, in the order a request meets them.
const (
	// KindDNS: the server's name did not resolve.
	KindDNS Kind = "dns"
	// KindRefused: nothing listens on the server's port.
	KindRefused Kind = "refused"
	// KindTimeout: a phase did not finish within the per-attempt timeout.
	KindTimeout Kind = "timeout"
	// KindTLS: the TLS handshake with the server failed.
	KindTLS Kind = "tls"
	// KindTransport: the transport (WebSocket, HTTPUpgrade, gRPC, …) could
	// not be set up, or is not supported.
	KindTransport Kind = "transport"
	// KindAuthRejected: the server closed on our request at every clock
	// offset within the search range: a wrong id, or not a VMess server.
	KindAuthRejected Kind = "auth_rejected"
	// KindClockSkew: the server accepts us only with a shifted timestamp:
	// its clock and ours differ by more than 120 s.
	KindClockSkew Kind = "clock_skew"
	// KindDestination: the server accepted us but could not fetch the URL.
	KindDestination Kind = "destination"
	// KindProtocol: the server answered something that is not a valid VMess
	// response under our keys.
	KindProtocol Kind = "protocol"
)

// Result is what probing one target found. Absent measurements are nil and
// omitted from JSON.
type Result struct {
	// Index is the target's position in the input.
	Index int `json:"-"`

	Name    string `json:"name"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Network is the transport: raw, ws, httpupgrade, grpc, ….
	Network string `json:"network"`
	// Security is the VMess body security the user configured (auto,
	// aes-128-gcm, chacha20-poly1305, none, zero).
	Security string `json:"security"`
	// TransportSecurity is "tls" when the transport is wrapped in TLS;
	// empty (omitted) otherwise.
	TransportSecurity string `json:"transport_security,omitempty"`

	OK    bool     `json:"ok"`
	Error *Failure `json:"error,omitempty"`

	// Timings are the phase times of the representative sample (the one
	// with the median total).
	Timings *Timings `json:"timings_ms,omitempty"`
	// Latency summarises the totals of the successful samples.
	Latency *Latency `json:"latency_ms,omitempty"`
	// Samples is how many samples were attempted, Lost how many failed.
	Samples int `json:"samples"`
	Lost    int `json:"lost"`

	Skew     *Skew     `json:"skew,omitempty"`
	Download *Download `json:"download,omitempty"`
}

// Failure is a failed probe's kind and a message that says what to do next.
type Failure struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

// Millis is a duration in milliseconds, rounded to 0.01 ms.
type Millis float64

// ms converts a duration to Millis.
func ms(d time.Duration) Millis {
	return Millis(math.Round(float64(d)/float64(time.Microsecond)/10) / 100)
}

// msp is ms as a pointer, nil for a negative duration (not measured).
func msp(d time.Duration) *Millis {
	if d < 0 {
		return nil
	}
	m := ms(d)
	return &m
}

// Timings are phase times in milliseconds; a phase that did not happen
// (DNS for an IP address, TLS without TLS, …) is nil.
//
//   - DNS: resolving the server's name.
//   - Connect: the TCP handshake with the server.
//   - TLS: the TLS handshake with the server (transport security).
//   - Upgrade: the transport's own setup after TLS: the WebSocket or
//     HTTPUpgrade request and response, or the gRPC (HTTP/2) stream open.
//   - Handshake: from the VMess request (header and first data) written to
//     the transport until the VMess response header arrived and verified.
//     The server sends that header only with the destination's first bytes,
//     so it includes the server's connection to the URL's host and that
//     host's first answer.
//   - FirstByte: from the HTTP request for the URL written into the tunnel
//     until the first byte of the HTTP response came out of it; for an
//     https URL this follows the TLS handshake inside the tunnel.
//   - Total: from the start of the attempt (DNS, or connect) until the
//     HTTP response's status line and headers have been read.
type Timings struct {
	DNS       *Millis `json:"dns,omitempty"`
	Connect   *Millis `json:"connect,omitempty"`
	TLS       *Millis `json:"tls,omitempty"`
	Upgrade   *Millis `json:"upgrade,omitempty"`
	Handshake *Millis `json:"handshake,omitempty"`
	FirstByte *Millis `json:"first_byte,omitempty"`
	Total     *Millis `json:"total,omitempty"`
}

// Latency summarises the Total of every successful sample.
type Latency struct {
	Min    Millis `json:"min"`
	Median Millis `json:"median"`
	Max    Millis `json:"max"`
}

// Skew is the server's clock offset: OffsetS > 0 means the server's clock
// is ahead of ours. The true offset is within OffsetS ± UncertaintyS.
type Skew struct {
	OffsetS      float64 `json:"offset_s"`
	UncertaintyS float64 `json:"uncertainty_s"`
	// Handshakes is how many handshakes the search used.
	Handshakes int `json:"handshakes"`
}

// Download is the throughput of one download through the tunnel, from the
// HTTP request written to the last body byte read. A download that failed
// keeps the bytes and time it got but has no BytesPerS: that would read as
// the server's speed.
type Download struct {
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	BytesPerS float64 `json:"bytes_per_s,omitempty"`
}
