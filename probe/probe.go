package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
)

// DefaultURL is the URL fetched through each server unless Options.URL says
// otherwise.
const DefaultURL = "http://www.gstatic.com/generate_204"

// Options configure a probe run. The zero value probes DefaultURL three
// times per server with a 5 s timeout per attempt, 32 servers at a time.
type Options struct {
	// URL is fetched through every server (http or https; https does TLS
	// inside the tunnel). Empty means DefaultURL.
	URL string
	// Count is the number of samples per server; 0 means 3.
	Count int
	// Timeout bounds every attempt (dial, handshake and the URL's response
	// headers); 0 means 5 s. A download's body is not bounded as a whole:
	// Timeout bounds each gap between two reads that bring data instead.
	Timeout time.Duration
	// Concurrency is how many servers are probed at once; 0 means 32.
	Concurrency int
	// Skew measures the clock offset even when the handshake succeeds.
	// (A rejected handshake always gets a skew search.)
	Skew bool
	// SkewSearch tunes the clock-offset search.
	SkewSearch SkewSearch
	// Download, when set, is a URL downloaded once through every server
	// that passed, to measure throughput (see DownloadURL).
	Download string
	// ShowSecrets puts user ids into messages unmasked.
	ShowSecrets bool

	// Now is our clock; nil means time.Now.
	Now func() time.Time
	// Rand is the random source for keys and nonces; nil means
	// crypto/rand. It must be safe for concurrent use.
	Rand io.Reader
	// URLRootCAs are the roots trusted for an https URL inside the tunnel;
	// nil means the system roots.
	URLRootCAs *x509.CertPool
	// NetDialer and Resolver, when set, replace those of targets that have
	// none (tests use them to stay on loopback).
	NetDialer transport.ContextDialer
	Resolver  *net.Resolver

	// OnResult, when set, is called with each result as soon as it is
	// ready, in completion order, one call at a time.
	OnResult func(Result)
}

// Run probes every target and returns the results in input order. When ctx
// is cancelled, work in flight is abandoned and Run returns the results that
// had finished. The error is non-nil only for unusable options.
func Run(ctx context.Context, targets []Target, opts Options) ([]Result, error) {
	p, err := newProber(opts)
	if err != nil {
		return nil, err
	}
	var emit func(int, Result)
	if opts.OnResult != nil {
		emit = func(_ int, r Result) { opts.OnResult(r) }
	}
	return runOrdered(ctx, len(targets), p.opts.Concurrency, func(ctx context.Context, i int, s *slot) (Result, bool) {
		r, done := p.probe(ctx, &targets[i], s)
		r.Index = i
		return r, done
	}, emit), nil
}

// prober holds the validated options of one run, and what its targets
// share about each server.
type prober struct {
	opts     Options
	url      *url.URL
	download *url.URL

	mu      sync.Mutex
	servers map[string]*serverPace    // by host:port
	routes  map[string]*routeVerdicts // by routeKey
}

// serverOf is the shared state of t's server (its address and port).
func (p *prober) serverOf(t *Target) *serverPace {
	key := hostPort(strings.ToLower(t.Stream.Address), int(t.Stream.Port))
	p.mu.Lock()
	defer p.mu.Unlock()
	sp := p.servers[key]
	if sp == nil {
		sp = newServerPace()
		p.servers[key] = sp
	}
	return sp
}

// routeOf is what t's route (routeKey) has shown about the server behind
// it. Only targets with the same route share it.
func (p *prober) routeOf(t *Target) *routeVerdicts {
	key := routeKey(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	rv := p.routes[key]
	if rv == nil {
		rv = &routeVerdicts{}
		p.routes[key] = rv
	}
	return rv
}

func newProber(opts Options) (*prober, error) {
	if opts.URL == "" {
		opts.URL = DefaultURL
	}
	if opts.Count <= 0 {
		opts.Count = 3
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &prober{opts: opts, servers: map[string]*serverPace{}, routes: map[string]*routeVerdicts{}}
	var err error
	if p.url, err = parseHTTPURL(opts.URL, flagURL); err != nil {
		return nil, err
	}
	if opts.Download != "" {
		if p.download, err = parseHTTPURL(opts.Download, flagDownload); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Validate reports options Run would refuse (a URL that is not http or
// https), so a caller can check them before it reads its targets.
func (o Options) Validate() error {
	_, err := newProber(o)
	return err
}

// The flags of xvm probe that set the URLs, for messages.
const (
	flagURL      = "--url"
	flagDownload = "--download"
)

// parseHTTPURL checks a URL given by flag.
func parseHTTPURL(s, flag string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("probe: %s %q: only http and https URLs with a host are accepted, such as %s", flag, s, DefaultURL)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("probe: %s %q: the port must be 1 to 65535", flag, s)
		}
	}
	return u, nil
}

// urlPort is u's port, defaulted by scheme.
func urlPort(u *url.URL) uint16 {
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return uint16(n)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// probe measures one target. done is false when ctx was cancelled before it
// finished.
func (p *prober) probe(ctx context.Context, t *Target, sl *slot) (Result, bool) {
	r := Result{
		Name:     t.Name,
		Address:  t.Stream.Address,
		Port:     int(t.Stream.Port),
		Network:  t.network(),
		Security: strings.ToLower(t.Security),
	}
	if r.Security == "" {
		r.Security = "auto"
	}
	if t.tls() {
		r.TransportSecurity = "tls"
	}
	acct, err := t.account()
	if err == nil {
		err = t.checkServer()
	}
	if err != nil {
		r.Error = &Failure{Kind: KindProtocol, Message: err.Error()}
		return r, true
	}
	var samples []sample
	for i := 0; i < p.opts.Count; i++ {
		var (
			s   sample
			err error
		)
		if i == 0 && t.drains() && p.url.Scheme == "https" {
			s, err = p.fetchWithCheck(ctx, t, acct)
		} else {
			s, err = p.fetch(ctx, t, acct, fetchSpec{url: p.url, pad: t.drains()})
		}
		if ctx.Err() != nil {
			return r, false
		}
		r.Samples++
		if err != nil {
			r.Lost++
			if len(samples) == 0 && i == 0 {
				// The first sample decides whether the server works at all;
				// a dead server costs one timeout, not Count of them.
				f, skew := p.diagnose(ctx, t, acct, err, sl)
				if ctx.Err() != nil {
					return r, false
				}
				r.Error, r.Skew = f, skew
				if tm := s.timings(); *tm != (Timings{}) {
					r.Timings = tm // the phases that did complete
				}
				return r, true
			}
			continue
		}
		samples = append(samples, s)
	}
	if len(samples) == 0 {
		r.Error = &Failure{Kind: KindTimeout, Message: "every sample after the first failed; the server is unstable"}
		return r, true
	}
	r.OK = true
	r.Timings, r.Latency = summarise(samples)
	p.routeOf(t).confirmClock()

	if p.opts.Skew {
		zero := 0
		est, err := searchSkewOn(ctx, p.attemptFunc(t, acct), p.opts.SkewSearch, &zero, p.serverOf(t), nil)
		if ctx.Err() != nil {
			return r, false
		}
		if err == nil && est.Found {
			r.Skew = &Skew{OffsetS: est.Offset, UncertaintyS: est.Uncertainty, Handshakes: est.Attempts}
		}
	}
	if p.download != nil {
		s, err := p.fetch(ctx, t, acct, fetchSpec{url: p.download, pad: t.drains(), download: true})
		if ctx.Err() != nil {
			return r, false
		}
		if err == nil || s.downloadTime > 0 {
			r.Download = &Download{Bytes: s.bytes, Seconds: roundTo(s.downloadTime.Seconds(), 1e-3)}
		}
		switch {
		case err != nil:
			// What arrived before it failed is still a measurement, but a
			// rate would read as the server's speed, so there is none (as
			// in the table).
			f := p.classify(t, err, p.download, flagDownload)
			f.Message = "download: " + f.Message
			r.OK, r.Error = false, f
		case s.downloadTime > 0:
			r.Download.BytesPerS = roundTo(float64(s.bytes)/s.downloadTime.Seconds(), 1)
		}
	}
	return r, true
}

// fetchWithCheck is the first sample of a RAW target with an https URL.
// There the first flight is a short TLS ClientHello, which a rejecting Xray
// server drains until its handshake timeout (60 s), so a rejection would
// look like a timeout. Alongside the sample it sends one padded plain
// request at our own clock, which a rejecting server closes at once; if
// that one is rejected, the sample is abandoned and reported as rejected.
func (p *prober) fetchWithCheck(ctx context.Context, t *Target, acct vmess.Account) (sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		s   sample
		err error
	}
	main := make(chan outcome, 1)
	go func() {
		s, err := p.fetch(ctx, t, acct, fetchSpec{url: p.url})
		main <- outcome{s, err}
	}()
	ok, _, err := p.attemptFunc(t, acct)(ctx, 0)
	if err == nil && !ok {
		cancel()
		o := <-main
		if o.err == nil {
			return o.s, nil // the sample won the race after all
		}
		return o.s, &stageError{stageHandshake, fmt.Errorf("%w (a padded request at our clock was rejected too)", vmess.ErrNoResponse)}
	}
	o := <-main
	return o.s, o.err
}

// summarise picks the sample with the median total as the representative
// for phase timings and summarises the totals.
func summarise(samples []sample) (*Timings, *Latency) {
	sorted := slices.Clone(samples)
	slices.SortStableFunc(sorted, func(a, b sample) int { return int(a.total - b.total) })
	med := sorted[(len(sorted)-1)/2]
	lat := &Latency{Min: ms(sorted[0].total), Max: ms(sorted[len(sorted)-1].total)}
	if len(sorted)%2 == 1 {
		lat.Median = ms(med.total)
	} else {
		lat.Median = ms((sorted[len(sorted)/2-1].total + sorted[len(sorted)/2].total) / 2)
	}
	return med.timings(), lat
}

func roundTo(x, unit float64) float64 {
	return float64(int64(x/unit+0.5)) * unit
}

// sample is what one request through the server measured. Durations are
// -1 when the phase did not happen.
type sample struct {
	dns, connect, tls, upgrade time.Duration
	handshake, firstByte       time.Duration
	total                      time.Duration
	// rtt is request written → response header (or close), for the skew
	// search's uncertainty.
	rtt time.Duration

	bytes        int64
	downloadTime time.Duration
}

func (s sample) timings() *Timings {
	return &Timings{
		DNS: msp(s.dns), Connect: msp(s.connect), TLS: msp(s.tls), Upgrade: msp(s.upgrade),
		Handshake: msp(s.handshake), FirstByte: msp(s.firstByte), Total: msp(s.total),
	}
}

// fetchSpec says what one attempt does.
type fetchSpec struct {
	url *url.URL
	// offset shifts the auth-id timestamp.
	offset time.Duration
	// pad makes the first flight at least maxDrain bytes, so that a
	// rejection on raw TCP is an immediate close.
	pad bool
	// handshakeOnly stops after the VMess response header (skew search);
	// the request is always plain HTTP then.
	handshakeOnly bool
	// download reads the whole body.
	download bool
	// aead forces the AEAD header (alterId 0).
	aead bool
}

// maxDrain is the most bytes Xray reads from a rejected RAW connection
// before closing it (D ∈ [54, 3382]: docs/protocol.md#drain-on-rejection); padTo, the
// length of a padded HTTP request, adds a margin so the first flight
// surely exceeds it.
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

func (c *phaseClock) transportTrace() *transport.Trace {
	return &transport.Trace{PhaseDone: func(ph transport.Phase, start, end time.Time) {
		c.mu.Lock()
		defer c.mu.Unlock()
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

// fetch makes one attempt: dial, VMess handshake, and an HTTP GET of spec.url.
// Timeout bounds the attempt up to the response headers; a download's body
// is then bounded only by ctx and by Timeout per gap between data.
func (p *prober) fetch(ctx context.Context, t *Target, acct vmess.Account, spec fetchSpec) (sample, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	start := time.Now()
	clock := newPhaseClock()
	cfg := p.streamOf(t)
	raw, err := transport.Dial(ctx, &cfg, clock.transportTrace())
	if err != nil {
		return clock.partial(), &stageError{stageDial, err}
	}
	defer raw.Close()
	// After Dial the conn's deadlines govern; cancellation (Ctrl-C) moves
	// them to the past so every blocked call returns at once.
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

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
		&vmess.Config{Now: now, Rand: p.opts.Rand, Trace: clock.vmessTrace(), ForceLegacy: t.ForceLegacy && !spec.aead})
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
			return clock.partial(), p.stageOf(clock, err)
		}
		tunnel = tc
		pad = 0 // the first flight has gone already
	}
	req := httpRequest(spec.url, pad)
	reqAt := time.Now()
	if _, err := tunnel.Write(req); err != nil {
		return clock.partial(), p.stageOf(clock, err)
	}
	if spec.handshakeOnly {
		if err := vc.HandshakeContext(ctx); err != nil {
			return clock.partial(), p.stageOf(clock, err)
		}
		return sample{rtt: clock.partial().handshake}, nil
	}
	resp, firstByte, err := readResponse(tunnel)
	if err != nil {
		return clock.partial(), p.stageOf(clock, err)
	}
	end := time.Now()
	s := clock.partial() // every phase is done: the header came with the response
	s.firstByte, s.total, s.rtt = firstByte.Sub(reqAt), end.Sub(start), s.handshake
	if spec.download {
		if resp.status/100 != 2 {
			return s, &stageError{stageURL, fmt.Errorf("%s answered %d %s; give a URL that serves the file", spec.url.Redacted(), resp.status, resp.reason)}
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

// streamOf is t's transport config with the run's dialer and resolver
// filled in where t has none.
func (p *prober) streamOf(t *Target) transport.Config {
	cfg := t.Stream
	if cfg.NetDialer == nil {
		cfg.NetDialer = p.opts.NetDialer
	}
	if cfg.Resolver == nil {
		cfg.Resolver = p.opts.Resolver
	}
	return cfg
}

// stageOf tags err with the stage it happened in: a transport.Error from
// a deferred upgrade is the dial's; before the response header it is the
// handshake's; after, the destination's.
func (p *prober) stageOf(clock *phaseClock, err error) error {
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

// idText is a user id for messages: masked unless secrets are shown.
func (p *prober) idText(id string) string {
	if p.opts.ShowSecrets {
		return id
	}
	return vmess.MaskID(id)
}
