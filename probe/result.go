// Package probe checks VMess servers with a real VMess client: whether a
// server accepts us, how long each phase of a request through it takes, how
// far its clock is from ours, and — when it fails — why, as one of a small
// set of error kinds with the data behind the verdict.
//
// A run goes through explicit stages: plan (targets grouped by server and
// route), attempt (one connection: dial, VMess handshake, HTTP request),
// classify (an attempt's error as a Kind), diagnose (why a server rejected
// us: its clock or our id) and report (Result values in input order).
// Every entry is screened with one attempt first; only those that worked
// get the rest of their samples, and only rejected ones are diagnosed.
// Each server (host:port) receives a bounded number of connections per run,
// at most a few at a time, paced.
//
// Rendering (table, JSON, NDJSON) is separate, and so is wording advice:
// a Failure says what happened and carries Advice codes that the caller
// turns into its own words (the CLI names its flags). Time and randomness
// are inputs (Options.Now, Options.Rand), which clock-skew measurement
// needs anyway: the clock search sends handshakes whose timestamps come
// from deliberately shifted clocks.
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
	// KindSkipped: the entry was not probed, because its server's
	// connection budget (Options.Budget) was spent on other entries.
	KindSkipped Kind = "skipped"
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
	Upload   *Upload   `json:"upload,omitempty"`
	// Exit and UDP are the extra checks of a server that passed
	// (Options.TraceURL, Options.DNSServer). Their failures do not fail
	// the server: a trace site may be blocked and many servers do not
	// relay UDP.
	Exit *Exit `json:"exit,omitempty"`
	UDP  *UDP  `json:"udp,omitempty"`

	// Retried is set when the first attempt timed out and the entry was
	// tried again at the end of the run; with OK it recovered on retry.
	Retried bool `json:"retried,omitempty"`

	// Notes say what a result leaves out and why, when that is not a
	// failure of the server: samples, a clock measurement, a download or
	// an upload the server's budget did not allow, a download cut at its
	// time limit.
	Notes []Note `json:"notes,omitempty"`
}

// Note is a measurement a result leaves out or cuts short, and why, with
// advice codes for the caller to word.
type Note struct {
	Message string   `json:"message"`
	Advice  []Advice `json:"advice,omitempty"`
}

// Failure is a failed probe: its kind, a message that says what happened
// (and, where it is not a setting of the caller's, what to do), and the
// data behind the verdict.
type Failure struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
	// Advice lists settings of the caller's that may change the outcome,
	// for the caller to word (the CLI names its flags).
	Advice []Advice `json:"advice,omitempty"`
	// Shared is set when the verdict was reached for another entry on the
	// same server (a refused or dead host, an unresolvable name) and this
	// entry was not tried itself.
	Shared bool `json:"shared,omitempty"`
	// Diagnosis is how a rejection was explained (auth_rejected,
	// clock_skew): the evidence used and what it ruled out.
	Diagnosis *Diagnosis `json:"diagnosis,omitempty"`
}

// Advice names a setting of the caller's that may change a verdict.
type Advice string

// The advice codes.
const (
	// AdviceTimeout: a longer per-attempt timeout (Options.Timeout) may
	// let the attempt finish.
	AdviceTimeout Advice = "timeout"
	// AdviceConnectTimeout: a longer connect timeout
	// (Options.ConnectTimeout) may reach a far or lossy server.
	AdviceConnectTimeout Advice = "connect_timeout"
	// AdviceURL: another URL (Options.URL) may work through this server.
	AdviceURL Advice = "url"
	// AdviceDownload: another download URL (Options.Download) may work.
	AdviceDownload Advice = "download"
	// AdviceUpload: another upload URL (Options.UploadURL) may work.
	AdviceUpload Advice = "upload"
	// AdviceSkewRange: the clock search was bounded; an exhaustive one
	// (SkewSearch.Range) rules out every offset.
	AdviceSkewRange Advice = "skew_range"
	// AdviceBudget: the server's connection budget (Options.Budget) ran
	// out before the diagnosis or the samples were complete.
	AdviceBudget Advice = "budget"
	// AdviceDownloadTime: the download was cut at its time limit
	// (Options.DownloadTime); a longer one measures more of it.
	AdviceDownloadTime Advice = "download_time"
	// AdviceLegacyForced: legacy auth was forced (Target.ForceLegacy) and
	// the server speaks only AEAD.
	AdviceLegacyForced Advice = "legacy_forced"
)

// Evidence names what settled a rejection's diagnosis.
type Evidence string

// The evidence a diagnosis can rest on, in the order it is sought.
const (
	// EvidenceClockAccepted: another entry on the same route was accepted
	// at our clock, so the clock is fine and the id is wrong.
	EvidenceClockAccepted Evidence = "clock_accepted_for_another_entry"
	// EvidenceSameID: another entry with the same id on the same route was
	// diagnosed already; its verdict applies.
	EvidenceSameID Evidence = "same_id_diagnosed"
	// EvidenceKnownOffset: another entry's diagnosis found the route's
	// clock offset, and one handshake at it was accepted for this id.
	EvidenceKnownOffset Evidence = "offset_of_another_entry"
	// EvidenceAEAD: the legacy header was rejected and AEAD accepted.
	EvidenceAEAD Evidence = "aead_accepted"
	// EvidenceTLS: the server speaks TLS though the entry has none.
	EvidenceTLS Evidence = "server_speaks_tls"
	// EvidenceServerDate: the server's Date header gave its clock, and a
	// handshake at that offset decided.
	EvidenceServerDate Evidence = "server_date"
	// EvidenceLocalClock: our clock is off against the run's reference,
	// and a handshake at the reference's time decided.
	EvidenceLocalClock Evidence = "local_clock"
	// EvidenceSearch: a clock search decided (see Diagnosis.Searched).
	EvidenceSearch Evidence = "search"
	// EvidenceRetry: the server accepted our own clock on a second try;
	// the first rejection was transient.
	EvidenceRetry Evidence = "accepted_on_retry"
	// EvidenceNone: the budget allowed no test at all.
	EvidenceNone Evidence = "none"
)

// Diagnosis is the data behind an auth_rejected or clock_skew verdict.
type Diagnosis struct {
	// Evidence is what settled the verdict.
	Evidence Evidence `json:"evidence"`
	// Handshakes is how many connections the diagnosis of this entry made.
	Handshakes int `json:"handshakes"`
	// Searched is what a clock search ruled out (nil: no search).
	Searched *Coverage `json:"searched,omitempty"`
	// ServerDate is the server's clock read from its Date header.
	ServerDate *DateReading `json:"server_date,omitempty"`
	// LocalClock is our clock against the run's reference, when it is off
	// by more than LocalClockTolerance.
	LocalClock *ClockReading `json:"local_clock,omitempty"`
	// BudgetSpent is set when the server's connection budget ran out
	// before the diagnosis could finish.
	BudgetSpent bool `json:"budget_spent,omitempty"`
}

// Coverage is what a clock search ruled out: every offset from our clock
// within ±WithinS seconds, and within ±2 min (the server's window is ±120
// s) of every whole hour up to ±HoursS and every half hour up to
// ±HalfHoursS. Zero means that part was not searched.
type Coverage struct {
	WithinS    float64 `json:"within_s"`
	HoursS     float64 `json:"hours_s,omitempty"`
	HalfHoursS float64 `json:"half_hours_s,omitempty"`
}

// DateReading is a server's clock read from the Date header of its answer
// to a plain HTTP request: OffsetS > 0 means it is ahead of ours, within
// ±UncertaintyS.
type DateReading struct {
	OffsetS      float64 `json:"offset_s"`
	UncertaintyS float64 `json:"uncertainty_s"`
	// Front names what suggests that the Date came from a CDN or proxy in
	// front of the VMess server (e.g. "Server: cloudflare"), whose clock
	// need not be the server's. Empty when nothing does.
	Front string `json:"front,omitempty"`
}

// ClockReading is our clock against a reference: OffsetS > 0 means the
// reference is ahead of us (our clock is behind), within ±UncertaintyS.
type ClockReading struct {
	OffsetS      float64 `json:"offset_s"`
	UncertaintyS float64 `json:"uncertainty_s"`
	// Reference is the host whose Date header was read.
	Reference string `json:"reference"`
	// Through is the server the reference was fetched through; empty for
	// a direct request.
	Through string `json:"through,omitempty"`
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
