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
}

func (s sample) timings() *Timings {
	return &Timings{
		DNS: msp(s.dns), Connect: msp(s.connect), TLS: msp(s.tls), Upgrade: msp(s.upgrade),
		Handshake: msp(s.handshake), FirstByte: msp(s.firstByte), Total: msp(s.total),
	}
}

// attemptSpec says what one attempt does.
type attemptSpec struct {
	url *url.URL
	// offset shifts the auth-id timestamp.
	offset time.Duration
	// pad makes the first flight at least maxDrain bytes, so that a
	// rejection on raw TCP is an immediate close.
	pad bool
	// handshakeOnly stops after the VMess response header (clock search);
	// the request is always plain HTTP then.
	handshakeOnly bool
	// download reads the whole body.
	download bool
	// aead forces the AEAD header (alterId 0).
	aead bool
	// retry marks the retry at the end of the run, whose connect timeout
	// settles a dead server.
	retry bool
}

// maxDrain is the most bytes Xray reads from a rejected RAW connection
// before closing it (D ∈ [54, 3382]; see docs/probe.md); padTo, the length
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

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// connect opens one connection to e's server, within the server's budget,
// its cap of open connections and its pace: transport.Dial of cfg with the
// run's dialer, resolver and connect timeout. The returned func gives the
// cap back; call it when the connection is closed.
func (p *prober) connect(ctx context.Context, e *entry, sl *slot, cfg transport.Config, trace *transport.Trace, retry bool) (net.Conn, func(), error) {
	s := e.srv
	if !s.take() {
		return nil, nil, errBudget
	}
	select {
	case s.open <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	done := func() { <-s.open }
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
	cfg.NetDialer = &connectDialer{inner: inner, timeout: p.opts.ConnectTimeout, slow: p.slowConnect, slot: sl}
	if cfg.Resolver == nil {
		cfg.Resolver = p.opts.Resolver
	}
	conn, err := transport.Dial(ctx, &cfg, trace)
	if err != nil {
		done()
		if ctx.Err() == nil {
			s.noteDial(err, retry)
		}
		return nil, nil, err
	}
	return conn, done, nil
}

// attempt makes one attempt: dial, VMess handshake, and an HTTP GET of
// spec.url. Timeout bounds the attempt up to the response headers; a
// download's body is then bounded only by ctx and by Timeout per gap
// between data.
func (p *prober) attempt(ctx context.Context, e *entry, sl *slot, spec attemptSpec) (sample, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	start := time.Now()
	clock := newPhaseClock()
	raw, done, err := p.connect(ctx, e, sl, e.t.Stream, clock.transportTrace(func() { e.srv.setReach(reachUp, nil) }), spec.retry)
	if err != nil {
		return clock.partial(), &stageError{stageDial, err}
	}
	defer done()
	defer raw.Close()
	// After Dial the conn's deadlines govern; cancellation (Ctrl-C) moves
	// them to the past so every blocked call returns at once.
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	acct := e.acct
	if spec.aead {
		acct.AlterID = 0
	}
	now := p.opts.Now
	if spec.offset != 0 {
		off := spec.offset
		now = func() time.Time { return p.opts.Now().Add(off) }
	}
	host := spec.url.Hostname()
	vc, err := vmess.Client(raw, acct, vmess.Destination{Network: vmess.NetworkTCP, Host: host, Port: urlPort(spec.url)},
		&vmess.Config{Now: now, Rand: p.opts.Rand, Trace: clock.vmessTrace(), ForceLegacy: e.t.ForceLegacy && !spec.aead})
	if err != nil {
		return clock.partial(), &stageError{stageHandshake, err}
	}
	pad := 0
	if spec.pad {
		pad = padTo
	}
	tunnel := net.Conn(vc)
	if spec.url.Scheme == "https" && !spec.handshakeOnly {
		tc := tls.Client(vc, &tls.Config{ServerName: host, RootCAs: p.opts.URLRootCAs, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			return clock.partial(), stageOf(clock, err)
		}
		tunnel = tc
		pad = 0 // the first flight has gone already
	}
	req := httpRequest(spec.url, pad)
	reqAt, sentAt := time.Now(), p.opts.Now()
	if _, err := tunnel.Write(req); err != nil {
		return clock.partial(), stageOf(clock, err)
	}
	if spec.handshakeOnly {
		if err := vc.HandshakeContext(ctx); err != nil {
			return clock.partial(), stageOf(clock, err)
		}
		return sample{rtt: clock.partial().handshake}, nil
	}
	resp, firstByte, err := readResponse(tunnel)
	if err != nil {
		return clock.partial(), stageOf(clock, err)
	}
	end := time.Now()
	s := clock.partial() // every phase is done: the header came with the response
	s.firstByte, s.total, s.rtt = firstByte.Sub(reqAt), end.Sub(start), s.handshake
	if !resp.date.IsZero() {
		s.date = clockFromDate(resp.date, sentAt, sentAt.Add(end.Sub(reqAt)))
	}
	if spec.download {
		if resp.status/100 != 2 {
			return s, &stageError{stageURL, &statusError{status: resp.status, reason: resp.reason}}
		}
		// The download may take longer than one attempt's timeout; each
		// read must make progress within it instead. The attempt's
		// deadline and its context no longer apply: only parent (Ctrl-C)
		// and the idle timeout do.
		stop()
		n, err := copyIdle(parent, resp.body, raw, p.opts.Timeout)
		s.bytes = n
		s.downloadTime = time.Since(reqAt)
		if err != nil {
			if parent.Err() == nil && isTimeout(err) {
				err = &stallError{bytes: n, idle: p.opts.Timeout, err: err}
			} else {
				err = fmt.Errorf("download stopped after %d bytes: %w", n, err)
			}
			return s, &stageError{stageURL, err}
		}
	}
	return s, nil
}

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
