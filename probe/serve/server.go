package serve

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/probe"
)

// DefaultListen is the address serve listens on unless told otherwise:
// loopback, so that nothing is exposed by accident.
const DefaultListen = "127.0.0.1:9477"

// DefaultMaxTargets bounds the targets of one exporter (and so its series).
const DefaultMaxTargets = 2000

// DefaultGroup names the group of targets given outside a config file.
const DefaultGroup = "default"

// RunFunc probes a batch of targets, calling opts.OnResult with each result
// (Result.Index is the target's position in targets). probe.Run is one;
// tests give fakes.
type RunFunc func(ctx context.Context, targets []probe.Target, opts probe.Options) ([]probe.Result, error)

// Clock is the scheduler's time source; tests replace it.
type Clock interface {
	Now() time.Time
	// After is time.After.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Auth is the optional protection of every endpoint but /healthz: HTTP
// basic auth, a bearer token, or both (either one then lets a request in).
type Auth struct {
	Username, Password string
	BearerToken        string
}

// Enabled reports whether the endpoints require credentials.
func (a Auth) Enabled() bool { return a.Username != "" || a.BearerToken != "" }

// Options configure a Server. Defaults, and ConfigFile or Sources, are
// what a user sets; the rest have working zero values.
type Options struct {
	// Defaults are the settings of every group that does not set its own
	// (a config file's top level applies over them).
	Defaults Settings
	// ConfigFile is the YAML config of groups; empty means none.
	ConfigFile string
	// Sources are targets given outside the config (links, files,
	// subscription URLs); they form the group DefaultGroup.
	Sources []string

	// MaxTargets bounds the targets across groups; 0 means
	// DefaultMaxTargets. A load with more fails.
	MaxTargets int
	// MaxInputBytes bounds each source; 0 means convert's default.
	MaxInputBytes int64
	// ForceLegacy makes every target use the legacy VMess header.
	ForceLegacy bool
	// Fetch reads subscription URLs; nil refuses them.
	Fetch FetchFunc
	// LinkTargets lets /probe take a share link as its target, not only
	// a configured name. Off, /probe cannot be made to connect anywhere
	// the config does not name.
	LinkTargets bool
	// Auth protects the endpoints.
	Auth Auth
	// WatchEvery is how often the config file and the files it names are
	// checked for changes; 0 means 2 s, negative turns watching off
	// (Reload still works).
	WatchEvery time.Duration
	// RefreshEvery is how often subscription URLs are fetched again (the
	// watcher then reloads everything); 0 means 1 h. Only with WatchEvery
	// on.
	RefreshEvery time.Duration
	// Version is reported by xvm_serve_build_info.
	Version string

	// Probe is the base of every probe run's options: the clock, random
	// source, dialer and resolver, the clock search, ShowSecrets. serve
	// sets URL, Count, Timeout, Concurrency, Skew and OnResult per group.
	Probe probe.Options
	// Run probes a batch; nil means probe.Run.
	Run RunFunc
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Clock is the scheduler's clock; nil means the system clock.
	Clock Clock
	// Rand drives the schedule's jitter; nil means a random seed.
	Rand mrand.Source
}

// Server schedules probes of its targets and serves their results.
type Server struct {
	opts   Options
	log    *slog.Logger
	clock  Clock
	run    RunFunc
	loader loader
	events *broker
	reg    *prometheus.Registry
	// onDemand bounds the /probe requests probing at once.
	onDemand chan struct{}
	// limits bound HTTP clients; pageSlots and metricsSlots the answers
	// of / and /metrics made at once.
	limits                  httpLimits
	pageSlots, metricsSlots renderSlots
	// wake tells the scheduler that groups changed.
	wake chan struct{}
	// cycles counts the probe batches running.
	cycles sync.WaitGroup
	// stopCtx is cancelled when Run ends, so that streams and on-demand
	// probes end with it.
	stopCtx context.Context
	stop    context.CancelFunc
	running atomic.Bool

	// reloading serialises loads (a SIGHUP and the watcher may ask at
	// once), so an older read never replaces a newer one.
	reloading sync.Mutex

	mu          sync.Mutex
	rng         *mrand.Rand
	groups      []*group
	byKey       map[string]*target
	topSettings Settings // a config's top level over Options.Defaults
	labelKeys   []string // extra label names, sorted: the same on every series
	// watched are the stamps of the files the last load read (or tried to
	// read), so that a load that failed is tried again only when a file
	// changes once more.
	watched map[string]fileStamp
	// failures counts the loads that failed in a row; retryAt is when the
	// watcher may try again after the last of them (a back-off).
	failures int
	retryAt  time.Time
	// fetched is when the subscription URLs were last fetched; zero when
	// there are none.
	fetched time.Time
	// refreshTried is when the watcher last tried to fetch them again.
	refreshTried time.Time
	stats        selfStats
	// claims counts the claims of targets for probing (target.claimed).
	claims uint64
}

// selfStats are the exporter's own counters (guarded by Server.mu).
type selfStats struct {
	reloadsOK, reloadsFailed uint64
	lastReloadOK             bool
	lastReloadOKAt           time.Time
	probeRequests            map[string]uint64 // by result
}

// maxOnDemand bounds concurrent /probe probes; more wait their turn.
const maxOnDemand = 16

// TooManyTargetsError is a load with more targets than Options.MaxTargets
// allows.
type TooManyTargetsError struct{ Max int }

func (e *TooManyTargetsError) Error() string {
	return fmt.Sprintf("serve: more than %d targets; split them over several exporters or raise the limit", e.Max)
}

// New loads the config and sources and returns a Server ready to Run.
// An unusable config or source is an error (a *ConfigError, *SettingError,
// *SourceError or *TooManyTargetsError).
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.MaxTargets <= 0 {
		opts.MaxTargets = DefaultMaxTargets
	}
	if opts.MaxInputBytes <= 0 {
		opts.MaxInputBytes = convert.DefaultMaxInputBytes
	}
	if opts.WatchEvery == 0 {
		opts.WatchEvery = 2 * time.Second
	}
	if opts.RefreshEvery <= 0 {
		opts.RefreshEvery = time.Hour
	}
	if opts.ConfigFile == "" && len(opts.Sources) == 0 {
		return nil, errors.New("serve: nothing to watch: give targets or a config file")
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		clock:    opts.Clock,
		run:      opts.Run,
		loader:   loader{maxBytes: opts.MaxInputBytes, forceLegacy: opts.ForceLegacy, fetch: opts.Fetch},
		events:   newBroker(),
		onDemand: make(chan struct{}, maxOnDemand),
		limits:   defaultHTTPLimits(),
		wake:     make(chan struct{}, 1),
		byKey:    map[string]*target{},
		stats:    selfStats{probeRequests: map[string]uint64{}},
	}
	s.pageSlots, s.metricsSlots = make(renderSlots, s.limits.renders), make(renderSlots, s.limits.renders)
	s.stopCtx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.run == nil {
		s.run = probe.Run
	}
	src := opts.Rand
	if src == nil {
		var seed [16]byte
		rand.Read(seed[:])
		src = mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))
	}
	s.rng = mrand.New(src)
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	s.reg = s.newRegistry()
	return s, nil
}

// Reload reads the config and sources again and replaces the groups.
// Targets that are unchanged (the same entry in a group of the same name)
// keep their results, history and schedule; a probe running across the
// reload is not started twice. On error nothing changes.
func (s *Server) Reload(ctx context.Context) error {
	s.reloading.Lock()
	defer s.reloading.Unlock()
	err := s.load(ctx)
	s.mu.Lock()
	if err != nil {
		s.stats.reloadsFailed++
		s.stats.lastReloadOK = false
		s.failures++
		s.retryAt = s.clock.Now().Add(reloadBackoff(s.opts.WatchEvery, s.failures))
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Error("reload failed; keeping the targets already loaded", "err", err)
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// maxReloadBackoff bounds the wait before the watcher tries a failed load
// again.
const maxReloadBackoff = time.Minute

// reloadBackoff is how long the watcher waits after the failures-th failed
// load in a row before it tries again (on a new change): a watch interval,
// doubling with each failure, at most maxReloadBackoff.
func reloadBackoff(every time.Duration, failures int) time.Duration {
	d := max(every, time.Second)
	for i := 1; i < failures && d < maxReloadBackoff; i++ {
		d *= 2
	}
	return min(d, maxReloadBackoff)
}

// load reads every source and swaps the groups in. Whether it succeeds or
// not, the watcher's stamps become those of the files it read.
func (s *Server) load(ctx context.Context) error {
	specs, top, stamps, err := s.readGroups()
	if err == nil {
		err = s.loadGroups(ctx, specs, top, stamps)
	}
	if err != nil {
		// Remember what was tried: the files read are not tried again
		// until they change. The others keep the stamps they had.
		s.mu.Lock()
		watched := maps.Clone(s.watched)
		if watched == nil {
			watched = map[string]fileStamp{}
		}
		maps.Copy(watched, stamps)
		s.watched = watched
		s.mu.Unlock()
	}
	return err
}

// loadGroups loads the groups' sources and swaps them in: all or nothing.
func (s *Server) loadGroups(ctx context.Context, specs []Group, top Settings, stamps map[string]fileStamp) error {
	type loadedGroup struct {
		spec    Group
		targets []probe.Target
		keys    []string // targetKey of each target
		invalid int
	}
	var (
		read  []loadedGroup
		total int
	)
	for _, g := range specs {
		lg := loadedGroup{spec: g}
		for _, src := range g.Sources {
			l, err := s.loader.load(ctx, src)
			if err != nil {
				return err
			}
			for _, p := range l.problems {
				s.log.Warn("entry skipped", "group", g.Name, "problem", p)
			}
			lg.invalid += len(l.problems)
			for i := range l.targets {
				key, err := targetKey(g.Name, &l.targets[i])
				if err != nil {
					return err
				}
				lg.keys = append(lg.keys, key)
			}
			lg.targets = append(lg.targets, l.targets...)
		}
		total += len(lg.targets)
		if total > s.opts.MaxTargets {
			return &TooManyTargetsError{Max: s.opts.MaxTargets}
		}
		read = append(read, lg)
	}

	// Nothing below fails: the swap is all or nothing.
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	oldGroups := map[string]*group{}
	for _, g := range s.groups {
		oldGroups[g.Name] = g
	}
	byKey := make(map[string]*target, total)
	groups := make([]*group, 0, len(read))
	keys := map[string]bool{}
	added := 0
	for _, lg := range read {
		g := oldGroups[lg.spec.Name]
		fresh := false
		if g == nil {
			g = &group{}
			g.base = now
			g.next = now.Add(s.jitterLocked(lg.spec.Settings.Interval) / 2)
			if g.next.Before(now) {
				g.next = now
			}
			fresh = true
		} else if lg.spec.Settings.Interval != g.Settings.Interval {
			// The new interval counts from now, not from a cycle planned
			// under the old one.
			g.base = now
			g.next = now.Add(lg.spec.Settings.Interval + s.jitterLocked(lg.spec.Settings.Interval))
		}
		g.Group = lg.spec
		g.invalid = lg.invalid
		g.targets = make([]*target, 0, len(lg.targets))
		newcomers := false
		for i, pt := range lg.targets {
			key := lg.keys[i]
			if byKey[key] != nil {
				continue // listed twice in one group: probe it once
			}
			t := s.byKey[key]
			if t == nil {
				t = &target{key: key, probe: pt}
				newcomers = true
				added++
			}
			t.group = g
			t.name, t.server, t.transport = seriesIdentity(&pt)
			byKey[key] = t
			g.targets = append(g.targets, t)
		}
		dedupeNames(g.targets)
		if newcomers && !fresh && g.next.Sub(now) > g.Settings.Interval/10 {
			// New servers in a running group get their first result soon,
			// not an interval later.
			g.next = now.Add(s.jitterLocked(g.Settings.Interval) / 2)
			if g.next.Before(now) {
				g.next = now
			}
		}
		for k := range g.Settings.Labels {
			keys[k] = true
		}
		groups = append(groups, g)
	}
	removed := 0
	for k := range s.byKey {
		if byKey[k] == nil {
			removed++
		}
	}
	s.groups, s.byKey, s.watched, s.topSettings = groups, byKey, stamps, top
	s.fetched = time.Time{}
	for _, g := range specs {
		for _, src := range g.Sources {
			if sourceKind(src) == sourceURL {
				s.fetched = now
			}
		}
	}
	labelKeys := make([]string, 0, len(keys))
	for k := range keys {
		labelKeys = append(labelKeys, k)
	}
	slices.Sort(labelKeys)
	s.labelKeys = labelKeys
	for _, t := range byKey {
		labelTarget(t, labelKeys)
	}
	s.stats.reloadsOK++
	s.stats.lastReloadOK = true
	s.stats.lastReloadOKAt = now
	s.failures, s.retryAt = 0, time.Time{}
	s.log.Info("targets loaded", "groups", len(groups), "targets", len(byKey), "added", added, "removed", removed)
	return nil
}

// readGroups reads the config file (if any) and resolves the groups, the
// command line's sources forming DefaultGroup. It also stamps every file
// it depends on, for the watcher: on error, those it got to.
func (s *Server) readGroups() ([]Group, Settings, map[string]fileStamp, error) {
	stamps := map[string]fileStamp{}
	top := s.opts.Defaults
	var groups []Group
	if s.opts.ConfigFile != "" {
		data, st, err := readLimited(s.opts.ConfigFile, MaxConfigBytes)
		stamps[s.opts.ConfigFile] = st
		if err != nil {
			return nil, top, stamps, &ConfigError{File: s.opts.ConfigFile, Msg: err.Error()}
		}
		cfg, err := ParseConfig(s.opts.ConfigFile, data)
		if err != nil {
			return nil, top, stamps, err
		}
		if groups, err = cfg.Resolve(s.opts.ConfigFile, s.opts.Defaults); err != nil {
			return nil, top, stamps, err
		}
		top = cfg.Settings.over(s.opts.Defaults)
	}
	for _, g := range groups {
		for _, src := range g.Sources {
			if sourceKind(src) == sourceFile {
				stamps[src] = stamp(src)
			}
		}
	}
	if len(s.opts.Sources) > 0 {
		if err := s.opts.Defaults.Check(); err != nil {
			return nil, top, stamps, err
		}
		for _, g := range groups {
			if g.Name == DefaultGroup {
				return nil, top, stamps, &ConfigError{File: s.opts.ConfigFile, Msg: fmt.Sprintf("group %q is also the group of the targets given on the command line; rename it", DefaultGroup)}
			}
		}
		groups = append(groups, Group{Name: DefaultGroup, Settings: s.opts.Defaults, Sources: s.opts.Sources})
		for _, src := range s.opts.Sources {
			if sourceKind(src) == sourceFile {
				stamps[src] = stamp(src)
			}
		}
	}
	return groups, top, stamps, nil
}

// jitterLocked is a random duration in [-interval/20, interval/20]: cycles
// of a group wander by up to ±5% so that many exporters (or groups) started
// together do not keep probing in step.
func (s *Server) jitterLocked(interval time.Duration) time.Duration {
	span := int64(interval / 10)
	if span <= 0 {
		return 0
	}
	return time.Duration(s.rng.Int64N(span+1) - span/2)
}

// Run serves HTTP on l and probes on schedule until ctx is done, then
// shuts down gracefully: it stops accepting, ends event streams, lets
// requests in flight finish (up to 5 s), abandons running probes, and
// returns nil. It runs once.
func (s *Server) Run(ctx context.Context, l net.Listener) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("serve: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hs := s.limits.httpServer(s.Handler())
	hs.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	hs.BaseContext = func(net.Listener) context.Context { return ctx }
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); s.schedule(ctx) }()
	go func() { defer bg.Done(); s.watch(ctx) }()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	s.log.Info("serving", "listen", l.Addr().String(), "auth", s.opts.Auth.Enabled())

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	s.stop()
	cancel()
	grace, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if shutErr := hs.Shutdown(grace); shutErr != nil {
		hs.Close()
	}
	bg.Wait()
	s.cycles.Wait()
	s.log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Handler serves the endpoints: / (status page), /metrics, /probe,
// /events and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	protected := http.NewServeMux()
	protected.Handle("GET /{$}", s.bounded(s.pageSlots, http.HandlerFunc(s.handlePage)))
	protected.Handle("GET /metrics", s.bounded(s.metricsSlots, s.metricsHandler()))
	protected.HandleFunc("GET /probe", s.handleProbe)
	protected.HandleFunc("GET /events", s.handleEvents)
	mux.Handle("/", s.auth(protected))
	return s.writeDeadline(mux)
}

// handleHealth answers 200 while the scheduler runs.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	select {
	case <-s.stopCtx.Done():
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	fmt.Fprintln(w, "ok")
}

// fileStamp is what the watcher compares: a file's size and modification
// time, or that it could not be read.
type fileStamp struct {
	size    int64
	mtime   time.Time
	missing bool
}

// stamp is path's stamp now.
func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{missing: true}
	}
	return fileStamp{size: fi.Size(), mtime: fi.ModTime()}
}

// readLimited reads a file of at most max bytes, reading no more than that
// (and one byte to tell) whatever its size says, and stamps what it read.
func readLimited(path string, max int64) ([]byte, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStamp{missing: true}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStamp{missing: true}, err
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, st, err
	}
	if int64(len(data)) > max {
		return nil, st, fmt.Errorf("over the %d-byte limit", max)
	}
	return data, st, nil
}

// watch reloads when the config file or a file it names changes. Polling
// needs no platform notify API and sees edits through symlinks (such as a
// Kubernetes ConfigMap's) alike.
func (s *Server) watch(ctx context.Context) {
	if s.opts.WatchEvery < 0 {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(s.opts.WatchEvery):
		}
		s.watchTick(ctx)
	}
}

// watchTick is one look of the watcher: it reloads when a file changed
// since the last load read it (after a failed load, not before its
// back-off), or when the subscriptions are due to be fetched again.
func (s *Server) watchTick(ctx context.Context) {
	switch {
	case s.changed() && s.backedOff():
		s.log.Info("a watched file changed; reloading")
		s.Reload(ctx)
	case s.refreshDue():
		s.log.Info("fetching the subscriptions again")
		s.Reload(ctx)
	}
}

// backedOff reports whether the back-off after failed loads is over.
func (s *Server) backedOff() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.clock.Now().Before(s.retryAt)
}

// refreshDue reports whether the subscription URLs are due to be fetched
// again: RefreshEvery after the last successful fetch, and after a failure
// not sooner than a minute (or RefreshEvery, if shorter) after the last
// try, so a provider that is down is not asked every watch tick.
func (s *Server) refreshDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if s.fetched.IsZero() || now.Sub(s.fetched) < s.opts.RefreshEvery || now.Sub(s.refreshTried) < min(s.opts.RefreshEvery, time.Minute) {
		return false
	}
	s.refreshTried = now
	return true
}

// changed reports whether a watched file differs from its stamp.
func (s *Server) changed() bool {
	s.mu.Lock()
	watched := s.watched
	s.mu.Unlock()
	for path, old := range watched {
		if stamp(path) != old {
			return true
		}
	}
	return false
}
