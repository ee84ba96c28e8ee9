package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
)

// sample is what one request through the server measured. Durations are
// -1 when the phase did not happen.
type sample struct {
	dns, connect, tls, upgrade time.Duration
	handshake, firstByte       time.Duration
	total                      time.Duration
	// rtt is request written → response header (or close), for the skew
	// search's uncertainty.
	rtt time.Duration
	// date is the clock the URL's server showed in its Date header, when
	// it sent one (see clockFromDate).
	date *clockSpan

	bytes        int64
	downloadTime time.Duration
	// downloadCut: the download reached Options.DownloadTime.
	downloadCut bool
}

func (s sample) timings() *Timings {
	return &Timings{
		DNS: msp(s.dns), Connect: msp(s.connect), TLS: msp(s.tls), Upgrade: msp(s.upgrade),
		Handshake: msp(s.handshake), FirstByte: msp(s.firstByte), Total: msp(s.total),
	}
}

// sealing says how a tunnel's VMess request header is made: the auth-id
// timestamp shifted by offset (the clock search), and the AEAD header
// forced (alterId 0).
type sealing struct {
	offset time.Duration
	aead   bool
}

// maxDrain is the most bytes Xray reads from a rejected RAW connection
// before closing it (D ∈ [54, 3382]: docs/protocol.md#drain-on-rejection); padTo, the length
// of a padded HTTP request, adds a margin so the first flight surely
// exceeds it.
const (
	maxDrain = 3382
	padTo    = maxDrain + 200
)

// phaseClock records phase times reported by transport and vmess traces,
// which may call from another goroutine.
type phaseClock struct {
	mu                             sync.Mutex
	dns, connect, tls, upgrade     time.Duration
	requestWritten, responseHeader time.Time
}

func newPhaseClock() *phaseClock {
	return &phaseClock{dns: -1, connect: -1, tls: -1, upgrade: -1}
}

// transportTrace records the dial's phases; connected is called when the
// TCP connect succeeds.
func (c *phaseClock) transportTrace(connected func()) *transport.Trace {
	return &transport.Trace{PhaseDone: func(ph transport.Phase, start, end time.Time) {
		c.mu.Lock()
		d := end.Sub(start)
		switch ph {
		case transport.PhaseDNS:
			c.dns = d
		case transport.PhaseConnect:
			c.connect = d
		case transport.PhaseTLS:
			c.tls = d
		case transport.PhaseUpgrade:
			c.upgrade = d
		}
		c.mu.Unlock()
		if ph == transport.PhaseConnect && connected != nil {
			connected()
		}
	}}
}

func (c *phaseClock) vmessTrace() *vmess.Trace {
	set := func(p *time.Time) func(time.Time) {
		return func(t time.Time) {
			c.mu.Lock()
			if p.IsZero() {
				*p = t
			}
			c.mu.Unlock()
		}
	}
	return &vmess.Trace{
		RequestWritten: set(&c.requestWritten),
		ResponseHeader: set(&c.responseHeader),
	}
}

// partial is what an attempt has measured so far: the phases that
// completed, and the VMess handshake if the response header arrived.
func (c *phaseClock) partial() sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := sample{dns: c.dns, connect: c.connect, tls: c.tls, upgrade: c.upgrade, handshake: -1, firstByte: -1, total: -1}
	if !c.responseHeader.IsZero() && !c.requestWritten.IsZero() {
		s.handshake = c.responseHeader.Sub(c.requestWritten)
	}
	return s
}

// headerSeen reports whether the VMess response header arrived.
func (c *phaseClock) headerSeen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.responseHeader.IsZero()
}

// stageError marks where in an attempt an error happened.
type stageError struct {
	stage stage
	err   error
}

type stage int

const (
	stageDial      stage = iota // transport.Dial (or a deferred upgrade)
	stageHandshake              // before the VMess response header
	stageURL                    // after it: the destination's part
)

func (e *stageError) Error() string {
	if e.err == nil {
		return "failed"
	}
	return e.err.Error()
}
func (e *stageError) Unwrap() error { return e.err }

// connect opens one connection to e's server, within the server's budget,
// its cap of open connections and its pace: transport.Dial of cfg with the
// run's dialer, resolver and connect timeout. The returned func gives the
// cap back; call it when the connection is closed. A retry (the job's
// slot says so) that fails to connect settles a dead server.
func (p *prober) connect(ctx context.Context, e *entry, sl *slot, cfg transport.Config, trace *transport.Trace) (net.Conn, func(), error) {
	s := e.srv
	if !s.take() {
		return nil, nil, errBudget
	}
	sl.count()
	select {
	case s.open <- struct{}{}:
	default:
		// The server's cap of open connections is reached. Wait for one
		// to close as a parked attempt, without the job's share of the
		// run's concurrency: the connections holding the cap may be
		// parked on slow connects themselves, and need a slot to go on.
		sl.park()
		select {
		case s.open <- struct{}{}:
			sl.unpark()
		case <-ctx.Done():
			sl.unpark()
			sl.end()
			return nil, nil, ctx.Err()
		}
	}
	done := func() {
		<-s.open
		sl.end()
	}
	if err := sl.hold(ctx); err != nil {
		done()
		return nil, nil, err
	}
	if err := s.pace(ctx); err != nil {
		done()
		return nil, nil, err
	}
	inner := cfg.NetDialer
	if inner == nil {
		inner = p.opts.NetDialer
	}
	if inner == nil {
		inner = &net.Dialer{}
	}
	d := &connectDialer{inner: inner, srv: s, timeout: p.opts.ConnectTimeout, slow: p.slowConnect, slot: sl}
	cfg.NetDialer = d
	if cfg.Resolver == nil {
		cfg.Resolver = p.opts.Resolver
	}
	d.inDial.Store(true)
	conn, err := transport.Dial(ctx, &cfg, trace)
	d.inDial.Store(false)
	if err != nil {
		// The attempt is over: it needs no slot to say so (a dead
		// host's job ends without waiting for one).
		done()
		// Not when the run was interrupted; a lookup that ran into the
		// attempt's own deadline is a verdict on the server.
		if !errors.Is(ctx.Err(), context.Canceled) {
			s.noteDial(err, sl.retry)
		}
		return nil, nil, err
	}
	// A slow connect parked the attempt: it goes on with the slot.
	if err := sl.hold(ctx); err != nil {
		conn.Close()
		done()
		return nil, nil, err
	}
	return conn, done, nil
}

// tunnel is one connection to a server with a VMess client on it, whose
// destination is a URL's host. Every operation of an attempt starts with
// one: fetch (a sample), handshakeAt (the clock search) and fetchDownload.
type tunnel struct {
	raw   net.Conn
	vc    *vmess.Conn
	clock *phaseClock
	start time.Time
	done  func() // gives the server's cap back
	stop  func() bool
}

// openTunnel dials e's server and puts a VMess client on the connection,
// headed for u's host and port. The request header goes out with the first
// write. ctx bounds the dial; the tunnel's deadlines follow ctx's deadline
// and move to the past when ctx is cancelled. On failure the error is
// tagged with its stage and the sample holds the phases that completed.
func (p *prober) openTunnel(ctx context.Context, e *entry, sl *slot, u *url.URL, how sealing) (*tunnel, sample, error) {
	tn := &tunnel{clock: newPhaseClock(), start: time.Now()}
	raw, done, err := p.connect(ctx, e, sl, e.t.Stream, tn.clock.transportTrace(func() { e.srv.setReach(reachUp, nil) }))
	if err != nil {
		return nil, tn.clock.partial(), &stageError{stageDial, err}
	}
	tn.raw, tn.done = raw, done
	// After Dial the conn's deadlines govern; cancellation (Ctrl-C) moves
	// them to the past so every blocked call returns at once.
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	tn.stop = context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	acct := e.acct
	if how.aead {
		acct.AlterID = 0
	}
	now := p.opts.Now
	if how.offset != 0 {
		now = func() time.Time { return p.opts.Now().Add(how.offset) }
	}
	tn.vc, err = vmess.Client(raw, acct, vmess.Destination{Network: vmess.NetworkTCP, Host: u.Hostname(), Port: urlPort(u)},
		&vmess.Config{Now: now, Rand: p.opts.Rand, Trace: tn.clock.vmessTrace(), ForceLegacy: e.t.ForceLegacy && !how.aead})
	if err != nil {
		tn.close()
		return nil, tn.clock.partial(), &stageError{stageHandshake, err}
	}
	return tn, sample{}, nil
}

func (tn *tunnel) close() {
	tn.stop()
	tn.raw.Close()
	tn.done()
}

// get sends a GET for u through the tunnel — over TLS inside it for an
// https URL — and reads the response head. On a draining server (RAW
// without TLS) a plain request is padded past the drain size, so that a
// rejection is an immediate close — until the server has accepted this
// entry: the samples and the download after that are not expected to be
// rejected, and the padding (3.5 KB) would only cost the user's uplink. It returns the response, when the
// request went out (monotonic, and on our clock) and when its first byte
// came back.
func (p *prober) get(ctx context.Context, e *entry, tn *tunnel, u *url.URL) (resp *response, reqAt, sentAt, firstByte time.Time, err error) {
	pad := 0
	if e.t.drains() && len(e.samples) == 0 {
		pad = padTo
	}
	stream, err := p.stream(ctx, tn, u)
	if err != nil {
		return nil, reqAt, sentAt, firstByte, err
	}
	if stream != net.Conn(tn.vc) {
		pad = 0 // the first flight (TLS) has gone already
	}
	reqAt, sentAt = time.Now(), p.opts.Now()
	if _, err := stream.Write(httpRequest(u, pad)); err != nil {
		return nil, reqAt, sentAt, firstByte, stageOf(tn.clock, err)
	}
	resp, firstByte, err = readResponse(stream)
	if err != nil {
		return nil, reqAt, sentAt, firstByte, stageOf(tn.clock, err)
	}
	return resp, reqAt, sentAt, firstByte, nil
}

// stream is what HTTP for u is spoken on in the tunnel: TLS inside it for
// an https URL (verified against URLRootCAs), else the VMess stream.
func (p *prober) stream(ctx context.Context, tn *tunnel, u *url.URL) (net.Conn, error) {
	if u.Scheme != "https" {
		return tn.vc, nil
	}
	tc := tls.Client(tn.vc, &tls.Config{ServerName: u.Hostname(), RootCAs: p.opts.URLRootCAs, NextProtos: []string{"http/1.1"}})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, stageOf(tn.clock, err)
	}
	return tc, nil
}

// fetch is one sample: a tunnel to the URL's host, its GET, the response
// head, and the phases it took.
func (p *prober) fetch(ctx context.Context, e *entry, sl *slot) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	tn, s, err := p.openTunnel(ctx, e, sl, p.url, sealing{})
	if err != nil {
		return s, err
	}
	defer tn.close()
	resp, reqAt, sentAt, firstByte, err := p.get(ctx, e, tn, p.url)
	if err != nil {
		return tn.clock.partial(), err
	}
	end := time.Now()
	s = tn.clock.partial() // every phase is done: the header came with the response
	s.firstByte, s.total, s.rtt = firstByte.Sub(reqAt), end.Sub(tn.start), s.handshake
	if !resp.date.IsZero() && !fromCache(resp.header) {
		s.date = clockFromDate(resp.date, sentAt, sentAt.Add(end.Sub(reqAt)))
	}
	return s, nil
}

// handshakeAt is one handshake of the clock search: the AEAD header with
// its timestamp shifted by offset, carrying a plain GET for the URL
// (padded on a draining server), whose only use is the VMess response
// header. It reports whether the server accepted the header (it answered)
// or rejected it (it closed without a byte), and how long the answer took.
func (p *prober) handshakeAt(ctx context.Context, e *entry, sl *slot, offset time.Duration) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	tn, _, err := p.openTunnel(ctx, e, sl, p.url, sealing{offset: offset, aead: true})
	if err == nil {
		defer tn.close()
		pad := 0
		if e.t.drains() {
			pad = padTo
		}
		if _, err = tn.vc.Write(httpRequest(p.url, pad)); err == nil {
			err = tn.vc.HandshakeContext(ctx)
		}
		if err != nil {
			err = stageOf(tn.clock, err)
		}
	}
	switch {
	case err == nil:
		return true, tn.clock.partial().handshake, nil
	case errors.Is(err, errBudget):
		return false, 0, errBudget
	case isRejection(err):
		return false, 0, nil
	}
	return false, 0, err
}

// fetchDownload fetches the download URL through a tunnel to its end, or
// until DownloadTime after the request (then downloadCut is set, and
// what arrived is the measurement). Timeout bounds it up to the response
// headers; the body is then bounded by DownloadTime and by Timeout per
// gap between data, so a slow download is measured as long as bytes keep
// coming.
func (p *prober) fetchDownload(ctx context.Context, e *entry, sl *slot) (sample, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	tn, s, err := p.openTunnel(ctx, e, sl, p.download, sealing{})
	if err != nil {
		return s, err
	}
	defer tn.close()
	resp, reqAt, _, _, err := p.get(ctx, e, tn, p.download)
	if err != nil {
		return tn.clock.partial(), err
	}
	if resp.status/100 != 2 {
		return s, &stageError{stageURL, &statusError{status: resp.status, reason: resp.reason}}
	}
	// The attempt's deadline and its context no longer apply: only
	// parent (Ctrl-C), the download's time limit and the idle timeout do.
	tn.stop()
	limit, stop := context.WithDeadlineCause(parent, reqAt.Add(p.opts.DownloadTime), errDownloadTime)
	defer stop()
	n, err := copyIdle(limit, resp.body, tn.raw, p.opts.Timeout)
	s.bytes = n
	s.downloadTime = time.Since(reqAt)
	if err != nil && parent.Err() == nil && errors.Is(context.Cause(limit), errDownloadTime) {
		s.downloadCut, err = true, nil
	}
	if err != nil {
		if parent.Err() == nil && isTimeout(err) {
			err = &stallError{bytes: n, idle: p.opts.Timeout, err: err}
		} else {
			err = fmt.Errorf("download stopped after %d bytes: %w", n, err)
		}
		return s, &stageError{stageURL, err}
	}
	return s, nil
}

// errDownloadTime ends a download at Options.DownloadTime.
var errDownloadTime = errors.New("probe: the download's time limit")

// statusError is a download URL that did not answer 2xx.
type statusError struct {
	status int
	reason string
}

func (e *statusError) Error() string { return fmt.Sprintf("answered %d %s", e.status, e.reason) }

// stageOf tags err with the stage it happened in: a transport.Error from
// a deferred upgrade is the dial's; before the response header it is the
// handshake's; after, the destination's.
func stageOf(clock *phaseClock, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		return &stageError{stageDial, err}
	}
	if clock.headerSeen() {
		return &stageError{stageURL, err}
	}
	return &stageError{stageHandshake, err}
}

// stallError is a download that stopped bringing data for the idle
// timeout.
type stallError struct {
	bytes int64
	idle  time.Duration
	err   error
}

func (e *stallError) Error() string {
	return fmt.Sprintf("no data for %s after %d bytes: %v", e.idle, e.bytes, e.err)
}
func (e *stallError) Unwrap() error { return e.err }

// copyIdle reads r to the end, giving each read timeout to make progress;
// conn is what r reads from, whose deadlines it moves. ctx cancels it.
func copyIdle(ctx context.Context, r io.Reader, conn net.Conn, timeout time.Duration) (int64, error) {
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 64<<10)
	var (
		n   int64
		set time.Time
	)
	for {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		// Move the idle deadline forward only now and then: each read
		// still gets between 3/4 and all of timeout to make progress.
		if now := time.Now(); now.Sub(set) > timeout/4 {
			conn.SetDeadline(now.Add(timeout))
			set = now
			if ctx.Err() != nil { // cancelled while we moved the deadline
				return n, ctx.Err()
			}
		}
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// httpRequest is a GET for u, padded with a header to at least pad bytes.
func httpRequest(u *url.URL, pad int) []byte {
	path := u.RequestURI()
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: xvm-probe\r\nAccept: */*\r\nConnection: close\r\n")
	if rest := pad - b.Len() - len("X-Padding: \r\n\r\n"); rest > 0 {
		b.WriteString("X-Padding: " + strings.Repeat("0", rest) + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}
