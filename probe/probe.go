package probe

import (
	"context"
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

// The defaults of Options; docs/probe.md gives the reasons for each.
const (
	DefaultCount          = 3
	DefaultTimeout        = 5 * time.Second
	DefaultConnectTimeout = 2 * time.Second
	DefaultConcurrency    = 128
	DefaultPerServer      = 6
	DefaultBudget         = 64
	DefaultSpacing        = 10 * time.Millisecond
	DefaultDownloadTime   = 30 * time.Second
)

// Options configure a probe run. The zero value probes DefaultURL three
// times per server with the defaults above.
type Options struct {
	// URL is fetched through every server (http or https; https does TLS
	// inside the tunnel). Empty means DefaultURL.
	URL string
	// Count is the number of samples per server; 0 means DefaultCount.
	// Only entries whose first attempt worked get the rest.
	Count int
	// Timeout bounds every attempt (dial, handshake and the URL's response
	// headers); 0 means DefaultTimeout. A download's body is not bounded as
	// a whole: Timeout bounds each gap between two reads that bring data
	// instead.
	Timeout time.Duration
	// ConnectTimeout bounds each TCP connect within an attempt, so that a
	// dead host costs little; 0 means DefaultConnectTimeout. It is never
	// longer than Timeout.
	ConnectTimeout time.Duration
	// Concurrency is how many entries are worked on at once; 0 means
	// DefaultConcurrency. An entry whose TCP connect is slow (a dead host)
	// does not count while it waits.
	Concurrency int
	// PerServer is the most connections open to one server (host:port) at
	// once; 0 means DefaultPerServer.
	PerServer int
	// Budget is the most connections one server (host:port) receives in
	// the run, all its entries together — samples, clock search, Date
	// request and TLS check included; 0 means DefaultBudget, or what an
	// exhaustive SkewSearch.Range needs when that is more.
	Budget int
	// Spacing is the least time between the starts of two connections to
	// one server, so its log is not flooded; 0 means DefaultSpacing.
	Spacing time.Duration
	// Skew measures the clock offset even when the handshake succeeds.
	// (A rejected handshake is always diagnosed.)
	Skew bool
	// SkewSearch tunes the clock search of rejected entries.
	SkewSearch SkewSearch
	// ClockReference is an http(s) URL whose Date header checks our own
	// clock when a rejection needs it and no working server's response has
	// shown a Date yet (one direct request per run). Empty means no direct
	// request: only Dates seen through working servers are used.
	ClockReference string
	// Download, when set, is a URL downloaded once through every server
	// that passed, to measure throughput (see DownloadURL).
	Download string
	// DownloadTime is the most a download may take from its request
	// written; 0 means DefaultDownloadTime. One cut there is a
	// measurement of what arrived, with a note, not a failure.
	DownloadTime time.Duration
	// ShowSecrets puts user ids into messages unmasked.
	ShowSecrets bool

	// TraceURL, when set, is fetched once through every server that
	// passed; its ip=, loc= and colo= lines are the server's exit
	// (Result.Exit). DefaultTraceURL is Cloudflare's.
	TraceURL string
	// DNSServer, when set (host:port), is asked once through every server
	// that passed, over VMess UDP, for the A records of URL's host
	// (Result.UDP). DefaultDNSServer is Cloudflare's.
	DNSServer string
	// UploadBytes, when > 0, are POSTed once through every server that
	// passed to UploadURL (UploadServer when empty), to measure throughput
	// towards the server (Result.Upload).
	UploadBytes int64
	UploadURL   string

	// Now is our clock; nil means time.Now.
	Now func() time.Time
	// Rand is the random source for keys and nonces; nil means
	// crypto/rand. It must be safe for concurrent use.
	Rand io.Reader
	// URLRootCAs are the roots trusted for an https URL inside the tunnel
	// and for an https ClockReference; nil means the system roots.
	URLRootCAs *x509.CertPool
	// NetDialer and Resolver, when set, replace those of targets that have
	// none (tests use them to stay on loopback).
	NetDialer transport.ContextDialer
	Resolver  *net.Resolver

	// OnResult, when set, is called with each result as soon as it is
	// final, in completion order, one call at a time.
	OnResult func(Result)
}

// OptionError is an option Run refuses. Option names the Options field
// (URL, Download, ClockReference).
type OptionError struct {
	Option string
	Value  string
	Reason string
}

// Error names the option, its value and what is wrong with it.
func (e *OptionError) Error() string {
	return fmt.Sprintf("probe: %s %q: %s", e.Option, e.Value, e.Reason)
}

// Validate reports options Run would refuse (a URL that is not http or
// https), so a caller can check them before it reads its targets.
func (o Options) Validate() error {
	_, err := newProber(o)
	return err
}

// run is Run on distinct targets.
//
// The stages: plan (entries grouped by server and route), then every
// entry's first attempt (screen), then the rest of the samples of those
// that worked and the diagnosis of those that were rejected, then one more
// attempt for those that timed out (at lower concurrency), and the
// report. See scheduler for the order and the limits.
func run(ctx context.Context, targets []Target, opts Options) ([]Result, error) {
	p, err := newProber(opts)
	if err != nil {
		return nil, err
	}
	entries := p.plan(targets)
	for _, e := range entries {
		if e.done {
			p.finish(e)
		} else {
			p.sched.add(&job{kind: jobScreen, e: e})
		}
	}
	p.sched.run(ctx)
	out := make([]Result, 0, len(entries))
	for _, e := range entries {
		if e.done {
			out = append(out, e.res)
		}
	}
	return out, nil
}

// prober is one run: its options, what its entries share about each server
// and route, the check of our own clock, and the scheduler.
type prober struct {
	opts        Options
	url         *url.URL
	download    *url.URL
	reference   *url.URL
	trace       *url.URL // nil: no exit check
	uploadURL   *url.URL // nil: no upload
	dnsHost     string   // "": no UDP check
	dnsPort     uint16
	slowConnect time.Duration

	sched *scheduler
	clock localClock

	mu      sync.Mutex
	servers map[string]*server        // by host:port
	routes  map[string]*routeVerdicts // by routeKey
	emitMu  sync.Mutex
}

func newProber(opts Options) (*prober, error) {
	if opts.URL == "" {
		opts.URL = DefaultURL
	}
	if opts.Count <= 0 {
		opts.Count = DefaultCount
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	opts.ConnectTimeout = min(opts.ConnectTimeout, opts.Timeout)
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.PerServer <= 0 {
		opts.PerServer = DefaultPerServer
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
		if opts.SkewSearch.Range > 0 {
			// An exhaustive search, its edges, and the entry's own
			// attempts.
			opts.Budget = max(opts.Budget, len(opts.SkewSearch.grid())+2*9+4)
		}
	}
	if opts.Spacing <= 0 {
		opts.Spacing = DefaultSpacing
	}
	if opts.DownloadTime <= 0 {
		opts.DownloadTime = DefaultDownloadTime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &prober{
		opts:        opts,
		slowConnect: min(opts.ConnectTimeout/2, 500*time.Millisecond),
		servers:     map[string]*server{},
		routes:      map[string]*routeVerdicts{},
	}
	var err error
	if p.url, err = parseHTTPURL("URL", opts.URL); err != nil {
		return nil, err
	}
	if opts.Download != "" {
		if p.download, err = parseHTTPURL("Download", opts.Download); err != nil {
			return nil, err
		}
	}
	if opts.ClockReference != "" {
		if p.reference, err = parseHTTPURL("ClockReference", opts.ClockReference); err != nil {
			return nil, err
		}
	}
	if err := p.extrasOf(opts); err != nil {
		return nil, err
	}
	p.sched = newScheduler(opts.Concurrency, opts.PerServer, max(1, opts.Concurrency/4), p.do, p.clock.known)
	return p, nil
}

// parseHTTPURL checks a URL option.
func parseHTTPURL(option, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, &OptionError{Option: option, Value: s, Reason: "only http and https URLs with a host are accepted, such as " + DefaultURL}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, &OptionError{Option: option, Value: s, Reason: "the port must be 1 to 65535"}
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

// entry is one target in a run: its parsed account, its server and route,
// and its result as it is built.
type entry struct {
	index   int
	t       *Target
	acct    vmess.Account
	srv     *server
	route   *routeVerdicts
	res     Result
	samples []sample
	done    bool
}

// plan is the first stage: an entry per target, grouped by server
// (host:port) and route. A target that cannot be probed at all (no id, no
// port) is done at once.
func (p *prober) plan(targets []Target) []*entry {
	entries := make([]*entry, len(targets))
	for i := range targets {
		t := &targets[i]
		e := &entry{index: i, t: t, res: Result{
			Index:    i,
			Name:     t.Name,
			Address:  t.Stream.Address,
			Port:     int(t.Stream.Port),
			Network:  t.network(),
			Security: strings.ToLower(t.Security),
		}}
		entries[i] = e
		if e.res.Security == "" {
			e.res.Security = "auto"
		}
		if t.tls() {
			e.res.TransportSecurity = "tls"
		}
		if f := planFailure(t); f != nil {
			e.res.Error = f
			e.done = true
			continue
		}
		e.acct, _ = t.account()
		e.srv = p.serverOf(t)
		e.route = p.routeOf(t)
	}
	return entries
}

// planFailure is why t cannot be probed at all (no id, no port, a
// malformed id or security), or nil. Its message names t.
func planFailure(t *Target) *Failure {
	_, err := t.account()
	if err == nil {
		err = t.checkServer()
	}
	if err != nil {
		return &Failure{Kind: KindProtocol, Message: err.Error()}
	}
	return nil
}

// serverOf is the shared state of t's server (its address and port).
func (p *prober) serverOf(t *Target) *server {
	key := serverKey(t.Stream.Address, int(t.Stream.Port))
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.servers[key]
	if s == nil {
		s = &server{key: key, budget: p.opts.Budget, spacing: p.opts.Spacing,
			open: make(chan struct{}, p.opts.PerServer), changed: p.sched.changed}
		p.servers[key] = s
	}
	return s
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

// do runs one job.
func (p *prober) do(ctx context.Context, j *job, sl *slot) {
	switch j.kind {
	case jobScreen, jobRetry:
		p.screen(ctx, j.e, sl)
	case jobSample:
		p.sample(ctx, j.e, sl)
	case jobDiagnose:
		f, skew := p.diagnose(ctx, j.e, sl)
		if ctx.Err() == nil {
			j.e.res.Error, j.e.res.Skew = f, skew
			p.finish(j.e)
		}
	}
}

// screen is an entry's first attempt (or, for a retry job — its slot says
// so — its second one at the end of the run), and what follows from it: samples for one that
// worked, a diagnosis for a rejection, a retry for a timeout, a verdict
// for everything else. An entry whose server already failed to connect
// for another entry shares that verdict without trying.
func (p *prober) screen(ctx context.Context, e *entry, sl *slot) {
	retry := sl.retry
	if retry {
		e.res.Retried = true
		// A retry that ends without settling a dead server still
		// settles it, so the server's other entries stop waiting.
		defer e.srv.retried()
	}
	if f := p.shared(e); f != nil {
		// Not tried: no sample (a retried entry's own attempt
		// stands).
		e.res.Error = f
		p.finish(e)
		return
	}
	var (
		s   sample
		err error
	)
	if e.t.drains() && p.url.Scheme == "https" {
		s, err = p.firstWithCheck(ctx, e, sl)
	} else {
		s, err = p.fetch(ctx, e, sl)
	}
	if ctx.Err() != nil {
		return // interrupted: the entry is dropped
	}
	e.res.Samples++
	if err == nil {
		e.samples = append(e.samples, s)
		e.route.confirmClock()
		if p.clock.note(s.date, p.url.Hostname(), e.t.server()) {
			p.sched.clockChanged()
		}
		if p.opts.Count > 1 || p.opts.Skew || p.download != nil || p.hasExtras() {
			p.sched.add(&job{kind: jobSample, e: e})
			return
		}
		e.res.OK = true
		e.res.Timings, e.res.Latency = summarise(e.samples)
		p.finish(e)
		return
	}
	e.res.Lost++
	if tm := s.timings(); *tm != (Timings{}) {
		e.res.Timings = tm // the phases that did complete
	}
	f := p.classify(e.t, err, p.url, false)
	switch {
	case f.Kind == KindAuthRejected:
		e.res.Error = f
		p.sched.add(&job{kind: jobDiagnose, e: e})
		return
	case f.Kind == KindTimeout && !retry:
		// Retried at the end, at lower concurrency, before it is
		// called a timeout; this attempt is not counted.
		e.res.Samples, e.res.Lost, e.res.Timings = 0, 0, nil
		p.sched.add(&job{kind: jobRetry, e: e})
		return
	case f.Kind == KindTimeout:
		f.Message += " (also on a second try at the end of the run)"
	}
	e.res.Error = f
	p.finish(e)
}

// shared is the verdict of an entry whose server already failed to
// connect for another entry: refused, unresolvable, or dead on the retry
// too. nil when the server may still answer.
func (p *prober) shared(e *entry) *Failure {
	r, err := e.srv.reached()
	switch r {
	case reachRefused, reachNoName, reachGone:
	default:
		return nil
	}
	f := p.classify(e.t, &stageError{stageDial, err}, p.url, false)
	f.Shared = true
	how := "found for another entry on the same server, not tried again"
	if r == reachGone {
		how = "found for another entry on the same server, also on a second try; not tried again"
	}
	f.Message += " (" + how + ")"
	return f
}

// firstWithCheck is the first attempt of a RAW entry with an https URL.
// There the first flight is a short TLS ClientHello, which a rejecting Xray
// server drains until its handshake timeout (60 s), so a rejection would
// look like a timeout. Alongside the attempt it sends one padded plain
// request at our own clock, which a rejecting server closes at once; if
// that one is rejected, the attempt is abandoned and reported as rejected.
func (p *prober) firstWithCheck(ctx context.Context, e *entry, sl *slot) (sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		s   sample
		err error
	}
	first := make(chan outcome, 1)
	go func() {
		s, err := p.fetch(ctx, e, sl)
		first <- outcome{s, err}
	}()
	ok, _, err := p.handshakeAt(ctx, e, sl, 0)
	if err == nil && !ok {
		cancel()
		o := <-first
		if o.err == nil {
			return o.s, nil // the attempt won the race after all
		}
		return o.s, &stageError{stageHandshake, fmt.Errorf("%w (a padded request at our clock was rejected too)", vmess.ErrNoResponse)}
	}
	o := <-first
	return o.s, o.err
}

// sample takes the rest of the samples of an entry whose first attempt
// worked, then its clock offset (Options.Skew) and its download.
func (p *prober) sample(ctx context.Context, e *entry, sl *slot) {
	r := &e.res
	for i := 1; i < p.opts.Count; i++ {
		s, err := p.fetch(ctx, e, sl)
		if ctx.Err() != nil {
			return
		}
		if isBudget(err) {
			// The budget went to other work on this server.
			r.Notes = append(r.Notes, p.budgetNote(e, fmt.Sprintf("%d of %d samples", r.Samples, p.opts.Count)))
			break
		}
		r.Samples++
		if err != nil {
			r.Lost++
			continue
		}
		e.samples = append(e.samples, s)
	}
	r.OK = true
	r.Timings, r.Latency = summarise(e.samples)

	if p.opts.Skew {
		search := newSkewSearch(func(ctx context.Context, offset int) (bool, time.Duration, error) {
			return p.handshakeAt(ctx, e, sl, time.Duration(offset)*time.Second)
		}, p.opts.PerServer)
		est, err := search.measure(ctx, 0)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil && search.handshakes() > 0:
			r.Skew = &Skew{OffsetS: est.Offset, UncertaintyS: est.Uncertainty, Handshakes: search.handshakes()}
			if search.budgetSpent() {
				r.Notes = append(r.Notes, p.budgetNote(e, "clock offset measured only to ±"+strconv.FormatFloat(est.Uncertainty, 'f', 1, 64)+"s"))
			}
		case search.budgetSpent():
			r.Notes = append(r.Notes, p.budgetNote(e, "clock offset not measured"))
		}
	}
	if p.download != nil {
		s, err := p.fetchDownload(ctx, e, sl)
		if ctx.Err() != nil {
			return
		}
		switch {
		case isBudget(err):
			// Not a failure of the server, which passed.
			r.Notes = append(r.Notes, p.budgetNote(e, "download not made"))
		case err != nil:
			// What arrived before it failed is still a measurement, but a
			// rate would read as the server's speed, so there is none (as
			// in the table).
			if s.downloadTime > 0 {
				r.Download = &Download{Bytes: s.bytes, Seconds: roundTo(s.downloadTime.Seconds(), 1e-3)}
			}
			f := p.classify(e.t, err, p.download, true)
			f.Message = "download: " + f.Message
			r.OK, r.Error = false, f
		default:
			r.Download = &Download{Bytes: s.bytes, Seconds: roundTo(s.downloadTime.Seconds(), 1e-3)}
			if s.downloadTime > 0 {
				r.Download.BytesPerS = roundTo(float64(s.bytes)/s.downloadTime.Seconds(), 1)
			}
			if s.downloadCut {
				r.Notes = append(r.Notes, Note{Message: fmt.Sprintf("download stopped at its %s limit after %d bytes; the rate is of what arrived", p.opts.DownloadTime, s.bytes),
					Advice: []Advice{AdviceDownloadTime}})
			}
		}
	}
	if r.OK && !p.extras(ctx, e, sl) {
		return
	}
	p.finish(e)
}

// budgetNote says that what (a measurement of e's) was left out or cut
// short because e's server's budget was spent.
func (p *prober) budgetNote(e *entry, what string) Note {
	return Note{Message: fmt.Sprintf("%s: the %d connections allowed to %s in one run were spent on other entries and checks", what, p.opts.Budget, e.t.server()), Advice: []Advice{AdviceBudget}}
}

// isBudget reports an attempt the server's budget did not allow.
func isBudget(err error) bool { return errors.Is(err, errBudget) }

// finish marks e done (if it was not at plan time) and hands its result
// to OnResult.
func (p *prober) finish(e *entry) {
	p.emitMu.Lock()
	defer p.emitMu.Unlock()
	e.done = true
	if p.opts.OnResult != nil {
		p.opts.OnResult(e.res)
	}
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

func roundTo(x float64, unit float64) float64 {
	return float64(int64(x/unit+0.5)) * unit
}
