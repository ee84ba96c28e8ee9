package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// VMess servers accept a request only when its timestamp is within
// ±windowHalf seconds of their own clock (both ends inclusive, on whole
// seconds), so a window is 2·windowHalf+1 seconds wide.
const windowHalf = 120

// scanStep is the distance between the offsets the coarse scan tries. It is
// smaller than the 241 s window, so consecutive windows overlap and no
// offset is missed, and it divides 900 s, so every offset that is a whole
// number of quarter hours — the skew of a clock set to the wrong time zone
// — is a scan point.
const scanStep = 225

// SkewSearch configures the clock-offset search.
type SkewSearch struct {
	// Range is how far from our clock the search looks, both ways. Zero
	// means 24 h.
	Range time.Duration
	// Spacing is the least time between the starts of two search
	// handshakes to one server (host and port), across every target of a
	// run that names it, so its log is not flooded. Zero means 10 ms.
	Spacing time.Duration
	// FastAttempts is how many handshakes one search makes at Spacing
	// before it slows to SlowSpacing. It covers every search that finds
	// the window within ±20 min or at a whole or half hour. Zero means 50.
	FastAttempts int
	// SlowSpacing is the least time between two handshakes of one search
	// after its first FastAttempts: the long tail of a wrong id's scan.
	// Zero means 20 ms; it is never less than Spacing.
	SlowSpacing time.Duration
	// Parallel is how many handshakes may be in flight during the wide
	// part of the scan (beyond ±20 min). Zero means 4.
	Parallel int
}

func (s SkewSearch) withDefaults() SkewSearch {
	if s.Range <= 0 {
		s.Range = 24 * time.Hour
	}
	if s.Spacing <= 0 {
		s.Spacing = 10 * time.Millisecond
	}
	if s.FastAttempts <= 0 {
		s.FastAttempts = 50
	}
	if s.SlowSpacing <= 0 {
		s.SlowSpacing = 20 * time.Millisecond
	}
	s.SlowSpacing = max(s.SlowSpacing, s.Spacing)
	if s.Parallel <= 0 {
		s.Parallel = 4
	}
	return s
}

// serverPace is what the searches of one run share about one server's
// address and port: when the next search handshake to it may start, and
// whose turn it is to search. It is keyed by host:port because that is what
// reaches the server's log, whatever route the request then takes.
type serverPace struct {
	mu   sync.Mutex
	next time.Time
	// turn holds one token: the searches that diagnose rejected targets
	// take turns, so each can start from what the previous one learnt.
	turn chan struct{}
}

// routeVerdicts is what the targets of one run learn about the VMess server
// behind one route (see routeKey): whether a handshake at our own clock was
// accepted, which proves that server's clock agrees with ours; the offset a
// search found; and the ids no offset was accepted for. A front that
// routes by path, Host or SNI sends two routes on one host:port to
// different servers, with different clocks and users, so these are never
// shared between routes.
type routeVerdicts struct {
	mu      sync.Mutex
	clockOK bool
	// skew is the offset a search found for this route (a window that
	// excludes our clock), for other rejected targets to verify.
	skew *skewEstimate
	// rejected maps user ids that a whole search (always AEAD) found
	// accepted at no offset to the handshakes it took, so an entry with the
	// same id and route needs no search of its own.
	rejected map[string]int
}

// recordRejected notes that no offset was accepted for id.
func (rv *routeVerdicts) recordRejected(id string, handshakes int) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.rejected == nil {
		rv.rejected = map[string]int{}
	}
	rv.rejected[id] = handshakes
}

// wasRejected reports whether a search already found no offset for id.
func (rv *routeVerdicts) wasRejected(id string) (int, bool) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	n, ok := rv.rejected[id]
	return n, ok
}

func newServerPace() *serverPace {
	sp := &serverPace{turn: make(chan struct{}, 1)}
	sp.turn <- struct{}{}
	return sp
}

// take waits for this server's search turn; release gives it back. While
// it waits, the caller's run slot is parked, so targets of other servers
// go on.
func (sp *serverPace) take(ctx context.Context, s *slot) error {
	select {
	case <-sp.turn:
		return nil
	default:
	}
	s.park()
	select {
	case <-sp.turn:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := s.unpark(ctx); err != nil {
		sp.release()
		return err
	}
	return nil
}

func (sp *serverPace) release() { sp.turn <- struct{}{} }

// recordSkew keeps the first offset found for this route.
func (rv *routeVerdicts) recordSkew(est skewEstimate) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.skew == nil {
		rv.skew = &est
	}
}

// knownSkew is the offset another target's search found, if any.
func (rv *routeVerdicts) knownSkew() (skewEstimate, bool) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.skew == nil {
		return skewEstimate{}, false
	}
	return *rv.skew, true
}

// reserve returns the start of the next handshake to this server, at
// least spacing after the previous one.
func (sp *serverPace) reserve(now time.Time, spacing time.Duration) time.Time {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	start := now
	if sp.next.After(start) {
		start = sp.next
	}
	sp.next = start.Add(spacing)
	return start
}

// confirmClock records that the route's server accepted a handshake at our
// clock.
func (rv *routeVerdicts) confirmClock() {
	rv.mu.Lock()
	rv.clockOK = true
	rv.mu.Unlock()
}

// clockConfirmed reports whether any target of the route accepted our
// clock.
func (rv *routeVerdicts) clockConfirmed() bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.clockOK
}

// errClockConfirmed stops a search: another target on the same route was
// accepted at our clock meanwhile, so the clock is not why this one was
// rejected.
var errClockConfirmed = errors.New("probe: the server accepted our clock for another entry")

// errSkewKnown stops a search: another target's search on the same route
// found the server's clock offset meanwhile, which one handshake can
// verify.
var errSkewKnown = errors.New("probe: another entry's search found the server's clock")

// attemptFunc makes one handshake whose timestamp comes from our clock
// shifted by offset. It reports whether the server accepted it (a response
// header that opened under our keys) or rejected it (a close without a
// byte), and how long the answer took after the request was written. An
// error means the attempt could not tell (timeout, dial failure, …).
type attemptFunc func(ctx context.Context, offset time.Duration) (accepted bool, rtt time.Duration, err error)

// skewEstimate is what the search found.
type skewEstimate struct {
	// Found is false when no offset in the range was accepted.
	Found bool
	// Lower and Upper are the lowest and highest accepted offsets, in
	// whole seconds.
	Lower, Upper int
	// Offset (server clock minus ours, seconds) and its uncertainty.
	Offset, Uncertainty float64
	// Attempts is the number of handshakes made.
	Attempts int
}

// errInconclusive marks an attempt that neither accepted nor rejected,
// twice in a row.
var errInconclusive = errors.New("probe: handshakes neither accepted nor rejected")

// skewSearcher runs one search; it counts attempts and paces them.
type skewSearcher struct {
	attempt attemptFunc
	opts    SkewSearch
	// server, when set, is shared with the other searches of the run to
	// the same server: its pace bounds them all.
	server *serverPace
	// stop, when set, is asked before every attempt; an error ends the
	// search with it (a diagnosing search stops when another target
	// settled the server's clock).
	stop func() error

	mu       sync.Mutex
	next     time.Time // earliest start of this search's next attempt
	started  int       // attempts started (for the fast/slow switch)
	attempts int
	minRTT   time.Duration
}

// searchSkew finds the server's clock offset by locating the edges of the
// acceptance window. When acceptedAt is non-nil, that offset (seconds) is
// already known to be accepted and the coarse scan is skipped.
//
// Cost: a coarse scan from 0 outwards until an offset is accepted (1 try
// when the clocks agree, 2–3 for a few minutes of skew, 12 for a whole
// hour), then a binary search of each edge to 1 s (8 tries each, the two
// edges in parallel). When nothing is accepted the scan covers the whole
// range: about 2·Range/225 s handshakes (769 for ±24 h), the first
// FastAttempts at Spacing and the rest at SlowSpacing.
func searchSkew(ctx context.Context, attempt attemptFunc, opts SkewSearch, acceptedAt *int) (skewEstimate, error) {
	return searchSkewOn(ctx, attempt, opts, acceptedAt, nil, nil)
}

// searchSkewOn is searchSkew with the pace shared by the run's searches to
// one server (nil: none shared), and a stop check made before every
// attempt (nil: none).
func searchSkewOn(ctx context.Context, attempt attemptFunc, opts SkewSearch, acceptedAt *int, server *serverPace, stop func() error) (skewEstimate, error) {
	s := &skewSearcher{attempt: attempt, opts: opts.withDefaults(), server: server, stop: stop, minRTT: -1}
	var a int
	if acceptedAt != nil {
		a = *acceptedAt
	} else {
		found, at, err := s.scan(ctx)
		if err != nil {
			return skewEstimate{Attempts: s.attempts}, err
		}
		if !found {
			return skewEstimate{Attempts: s.attempts}, nil
		}
		a = at
	}
	// Binary-search both edges at once. Invariants: lo accepted, hi
	// rejected (upper edge); hi accepted, lo rejected (lower edge). An
	// accepted a means |a − θ| ≤ 121, so a ± 242 is surely rejected.
	var (
		wg           sync.WaitGroup
		upper, lower int
		errU, errL   error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		upper, errU = s.edge(ctx, a, a+2*windowHalf+2, true)
	}()
	go func() {
		defer wg.Done()
		lower, errL = s.edge(ctx, a-2*windowHalf-2, a, false)
	}()
	wg.Wait()
	if err := errors.Join(errU, errL); err != nil {
		return skewEstimate{Attempts: s.attempts}, err
	}
	// upper ≈ θ'+120 and lower ≈ θ'−120 where θ' is the offset plus the
	// one-way delay δ ∈ [0, RTT]; each edge is blurred by under 1 s because
	// the timestamp is truncated to whole seconds on both sides.
	est := float64(upper+lower) / 2
	rtt := 0.0
	if s.minRTT > 0 {
		rtt = s.minRTT.Seconds()
	}
	return skewEstimate{
		Found:       true,
		Lower:       lower,
		Upper:       upper,
		Offset:      math.Round((est-rtt/2)*100) / 100,
		Uncertainty: math.Round((1+rtt/2)*100) / 100,
		Attempts:    s.attempts,
	}, nil
}

// scanOffsets lists the coarse scan's offsets in the order they are tried:
// the ±20 min around our clock first (one at a time, since these are the
// common cases), then the likely skews of a clock set in the wrong time
// zone — whole hours, then half hours, then quarter hours — and then the
// rest of the range, nearest first.
func scanOffsets(rng time.Duration) (near, wide []int) {
	limit := int(rng / time.Second)
	kmax := limit / scanStep
	if kmax*scanStep < limit {
		kmax++ // the last window must reach the end of the range
	}
	near = []int{0}
	for k := 1; k <= min(5, kmax); k++ {
		near = append(near, k*scanStep, -k*scanStep)
	}
	// scanStep·16 is an hour, ·8 half an hour, ·4 a quarter.
	var hour, half, quarter, rest []int
	for k := 6; k <= kmax; k++ {
		for _, o := range []int{k * scanStep, -k * scanStep} {
			switch {
			case k%16 == 0:
				hour = append(hour, o)
			case k%8 == 0:
				half = append(half, o)
			case k%4 == 0:
				quarter = append(quarter, o)
			default:
				rest = append(rest, o)
			}
		}
	}
	return near, slices.Concat(hour, half, quarter, rest)
}

// scan looks for any accepted offset.
func (s *skewSearcher) scan(ctx context.Context) (bool, int, error) {
	near, wide := scanOffsets(s.opts.Range)
	for _, o := range near {
		ok, err := s.try(ctx, o)
		if err != nil {
			return false, 0, err
		}
		if ok {
			return true, o, nil
		}
	}
	if len(wide) == 0 {
		return false, 0, nil
	}
	// The wide part: Parallel workers over the list, stopping everything at
	// the first accept; the accepted offset nearest the list's start wins.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int
		best     = -1
		firstErr error
		wg       sync.WaitGroup
	)
	for w := 0; w < min(s.opts.Parallel, len(wide)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(wide) || best >= 0 || firstErr != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				ok, err := s.try(ctx, wide[i])
				mu.Lock()
				switch {
				case err != nil && best < 0 && firstErr == nil:
					firstErr = err
					cancel()
				case ok && (best < 0 || i < best):
					best = i
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if best >= 0 {
		return true, wide[best], nil
	}
	if firstErr != nil {
		return false, 0, firstErr
	}
	return false, 0, ctx.Err()
}

// edge binary-searches one edge of the window between lo and hi. For the
// upper edge lo is accepted and hi rejected, and it returns the highest
// accepted offset; for the lower edge lo is rejected and hi accepted, and it
// returns the lowest accepted offset.
func (s *skewSearcher) edge(ctx context.Context, lo, hi int, upper bool) (int, error) {
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := s.try(ctx, mid)
		if err != nil {
			return 0, err
		}
		if ok == upper {
			lo = mid
		} else {
			hi = mid
		}
	}
	if upper {
		return lo, nil
	}
	return hi, nil
}

// try makes one paced attempt at offset seconds, retrying once when the
// attempt could not decide.
func (s *skewSearcher) try(ctx context.Context, offset int) (bool, error) {
	var last error
	for range 2 {
		if s.stop != nil {
			if err := s.stop(); err != nil {
				return false, err
			}
		}
		if err := s.pace(ctx); err != nil {
			return false, err
		}
		ok, rtt, err := s.attempt(ctx, time.Duration(offset)*time.Second)
		s.mu.Lock()
		s.attempts++
		if err == nil && rtt > 0 && (s.minRTT < 0 || rtt < s.minRTT) {
			s.minRTT = rtt
		}
		s.mu.Unlock()
		if err == nil {
			return ok, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		last = err
	}
	return false, fmt.Errorf("%w at offset %+ds: %w", errInconclusive, offset, last)
}

// pace waits until this attempt's slot: the search's own starts are at
// least Spacing apart (SlowSpacing after its first FastAttempts), and the
// starts of all searches to the same server at least Spacing apart.
func (s *skewSearcher) pace(ctx context.Context) error {
	s.mu.Lock()
	now := time.Now()
	start := s.next
	if start.Before(now) {
		start = now
	}
	spacing := s.opts.Spacing
	if s.started >= s.opts.FastAttempts {
		spacing = s.opts.SlowSpacing
	}
	s.started++
	if s.server != nil {
		start = s.server.reserve(start, s.opts.Spacing)
	}
	s.next = start.Add(spacing)
	s.mu.Unlock()
	if wait := time.Until(start); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
