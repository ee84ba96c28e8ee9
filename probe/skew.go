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
// seconds), so a window is 2·windowHalf+1 seconds wide
// (docs/protocol.md#timestamp-window).
const windowHalf = 120

// scanStep is the distance between the offsets an exhaustive search tries.
// It is smaller than the 241 s window, so consecutive windows overlap and
// no offset is missed, and it divides 900 s, so every whole quarter hour
// is a scan point.
const scanStep = 225

// The bounded default search: offsets every 240 s (one window apart) up to
// nearPoints·240 s from our clock — every offset within ±14 min — then
// every whole hour up to ±hoursMax and every half hour up to ±halfHoursMax
// (a clock set in a wrong time zone), each of which rules out ±2 min
// around it. 61 handshakes in all, so that a rejected entry's first
// attempt, the check for a TLS server or the server's Date, and this
// search fit the default budget of 64 connections.
const (
	nearStep     = 2 * windowHalf
	nearPoints   = 3
	hoursMax     = 14 * time.Hour
	halfHoursMax = 12*time.Hour + 30*time.Minute
)

// SkewSearch configures the clock search of a rejected entry.
type SkewSearch struct {
	// Range, when set, makes the search exhaustive: every offset within
	// ±Range of our clock is ruled out or found (a handshake per 225 s of
	// offset: 769 for ±24 h). Zero means the bounded default: every offset
	// within ±14 min, and ±2 min around every whole hour within ±14 h and
	// every half hour within ±12 h 30 min — the skews real clocks have.
	Range time.Duration
	// Parallel is how many handshakes of one search may be in flight at
	// once; zero, or more than Options.PerServer, means Options.PerServer.
	Parallel int
}

// grid lists the offsets (whole seconds) the search tries, in order.
func (s SkewSearch) grid() []int {
	if s.Range > 0 {
		return exhaustiveGrid(s.Range)
	}
	return boundedGrid()
}

// boundedGrid is the default search's offsets: the near ones from 0
// outwards, then the whole hours nearest first, then the half hours.
func boundedGrid() []int {
	g := []int{0}
	for k := 1; k <= nearPoints; k++ {
		g = append(g, k*nearStep, -k*nearStep)
	}
	for h := time.Hour; h <= hoursMax; h += time.Hour {
		g = append(g, int(h.Seconds()), -int(h.Seconds()))
	}
	for h := 30 * time.Minute; h <= halfHoursMax; h += time.Hour {
		g = append(g, int(h.Seconds()), -int(h.Seconds()))
	}
	return g
}

// exhaustiveGrid covers ±rng with windows scanStep apart: the ±20 min
// around our clock first, then the likely skews of a clock in the wrong
// time zone (whole hours, half hours, quarter hours), then the rest,
// nearest first.
func exhaustiveGrid(rng time.Duration) []int {
	limit := int(rng / time.Second)
	kmax := limit / scanStep
	if kmax*scanStep < limit {
		kmax++ // the last window must reach the end of the range
	}
	near := []int{0}
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
	return slices.Concat(near, hour, half, quarter, rest)
}

// handshakeFunc makes one handshake whose timestamp comes from our clock
// shifted by offset seconds. It reports whether the server accepted it (a
// response header that opened under our keys) or rejected it (a close
// without a byte), and how long the answer took after the request was
// written. An error means the attempt could not tell (timeout, dial
// failure, a spent budget, …).
type handshakeFunc func(ctx context.Context, offset int) (accepted bool, rtt time.Duration, err error)

// errInconclusive marks an offset whose handshake neither accepted nor
// rejected, twice in a row.
var errInconclusive = errors.New("probe: handshakes neither accepted nor rejected")

// skewSearch finds the window of timestamps a server accepts: a scan for
// any accepted offset, then a binary search of both edges. It counts its
// handshakes, remembers which offsets it decided (to say what it ruled
// out), and stops where the server's connection budget does.
type skewSearch struct {
	try      handshakeFunc
	parallel int

	mu      sync.Mutex
	tries   int
	minRTT  time.Duration
	decided []int
	spent   bool
}

func newSkewSearch(try handshakeFunc, parallel int) *skewSearch {
	return &skewSearch{try: try, parallel: max(1, parallel), minRTT: -1}
}

// skewEstimate is a found window and the offset it gives.
type skewEstimate struct {
	// center is an offset (whole seconds) the server surely accepts: the
	// middle of the window as far as it is known.
	center int
	// Offset (server clock minus ours, seconds) and its uncertainty.
	Offset, Uncertainty float64
	// includesOurs says whether the window contains offset 0: our own
	// clock is accepted.
	includesOurs bool
}

// handshake makes one paced handshake at offset, once more when the first
// could not decide. A spent budget ends the search.
func (s *skewSearch) handshake(ctx context.Context, offset int) (bool, error) {
	var last error
	for range 2 {
		ok, rtt, err := s.try(ctx, offset)
		s.mu.Lock()
		if !errors.Is(err, errBudget) {
			s.tries++
		}
		if err == nil {
			s.decided = append(s.decided, offset)
			if rtt > 0 && (s.minRTT < 0 || rtt < s.minRTT) {
				s.minRTT = rtt
			}
		}
		if errors.Is(err, errBudget) {
			s.spent = true
		}
		s.mu.Unlock()
		switch {
		case err == nil:
			return ok, nil
		case errors.Is(err, errBudget) || ctx.Err() != nil:
			return false, err
		}
		last = err
	}
	return false, fmt.Errorf("%w at offset %+ds: %w", errInconclusive, offset, last)
}

// scan looks for an accepted offset in grid, in rounds of parallel
// handshakes; the accepted offset nearest the grid's start wins. Rounds,
// rather than a pipeline, bound what an accept costs: a rejection comes
// back faster than an accepted handshake (which waits for the
// destination), so a pipeline would run ahead by many handshakes. The first
// round is the three offsets nearest our clock, the likeliest.
func (s *skewSearch) scan(ctx context.Context, grid []int) (found bool, at int, err error) {
	for start, size := 0, min(s.parallel, 3); start < len(grid); start, size = start+size, s.parallel {
		round := grid[start:min(start+size, len(grid))]
		ok := make([]bool, len(round))
		errs := make([]error, len(round))
		var wg sync.WaitGroup
		for i, o := range round {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok[i], errs[i] = s.handshake(ctx, o)
			}()
		}
		wg.Wait()
		if i := slices.Index(ok, true); i >= 0 {
			return true, round[i], nil
		}
		if err := errors.Join(errs...); err != nil {
			// A spent budget ends the scan quietly; anything else is
			// inconclusive.
			for _, e := range errs {
				if e != nil && !errors.Is(e, errBudget) {
					return false, 0, e
				}
			}
			return false, 0, errBudget
		}
	}
	return false, 0, nil
}

// measure finds both edges of the window around an accepted offset by
// binary search (8 handshakes each, in parallel), as far as the budget
// allows: a cut search still gives an offset, with the uncertainty of the
// edges it could not pin down.
func (s *skewSearch) measure(ctx context.Context, at int) (skewEstimate, error) {
	// Invariants: u is accepted and uHi rejected (upper edge); lHi is
	// accepted and l rejected (lower edge). An accepted offset is within
	// windowHalf+1 of the window's centre, so at ± 2·windowHalf+2 is
	// surely rejected.
	u, uHi := at, at+2*windowHalf+2
	l, lHi := at-2*windowHalf-2, at
	var (
		wg         sync.WaitGroup
		errU, errL error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for uHi-u > 1 && errU == nil {
			mid := u + (uHi-u)/2
			var ok bool
			if ok, errU = s.handshake(ctx, mid); errU == nil && ok {
				u = mid
			} else if errU == nil {
				uHi = mid
			}
		}
	}()
	go func() {
		defer wg.Done()
		for lHi-l > 1 && errL == nil {
			mid := l + (lHi-l)/2
			var ok bool
			if ok, errL = s.handshake(ctx, mid); errL == nil && ok {
				lHi = mid
			} else if errL == nil {
				l = mid
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(errU, errL); err != nil && !errors.Is(err, errBudget) {
		return skewEstimate{}, err
	}
	// The upper edge is in [u, uHi−1], the lower in [l+1, lHi]; the
	// window's centre θ' is the offset plus the one-way delay δ ∈ [0, RTT],
	// and each edge is blurred by under 1 s because both sides truncate
	// the timestamp to whole seconds.
	cLo, cHi := float64(u+l+1)/2, float64(uHi-1+lHi)/2
	rtt := 0.0
	if s.minRTT > 0 {
		rtt = s.minRTT.Seconds()
	}
	mid := (cLo + cHi) / 2
	return skewEstimate{
		center:       int(math.Round(mid)),
		Offset:       round2(mid - rtt/2),
		Uncertainty:  round2((cHi-cLo)/2 + 1 + rtt/2),
		includesOurs: lHi <= 0 && 0 <= u,
	}, nil
}

// handshakes is how many handshakes the search made.
func (s *skewSearch) handshakes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries
}

// tried lists the offsets decided so far.
func (s *skewSearch) tried() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.decided)
}

// budgetSpent reports whether the budget stopped the search.
func (s *skewSearch) budgetSpent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

// coverage is what the decided offsets ruled out, each ±windowHalf around
// it.
func (s *skewSearch) coverage() *Coverage {
	s.mu.Lock()
	decided := slices.Clone(s.decided)
	s.mu.Unlock()
	return coverageOf(decided)
}

// coverageOf is what handshakes decided at the given offsets ruled out:
// the span around our clock they cover without a gap, and how far the
// whole and half hours are covered (reported when beyond that span).
func coverageOf(decided []int) *Coverage {
	slices.Sort(decided)
	type span struct{ lo, hi int }
	var spans []span
	for _, o := range decided {
		lo, hi := o-windowHalf, o+windowHalf
		if n := len(spans); n > 0 && lo <= spans[n-1].hi+1 {
			spans[n-1].hi = max(spans[n-1].hi, hi)
			continue
		}
		spans = append(spans, span{lo, hi})
	}
	covered := func(lo, hi int) bool {
		for _, s := range spans {
			if s.lo <= lo && hi <= s.hi {
				return true
			}
		}
		return false
	}
	c := &Coverage{}
	for _, s := range spans {
		if s.lo <= 0 && 0 <= s.hi {
			c.WithinS = float64(min(-s.lo, s.hi))
		}
	}
	// reach is the farthest multiple of step (from first, in steps of
	// step·2 when odd) covered on both sides, ±windowHalf around it.
	reach := func(first, step int) float64 {
		far := 0
		for o := first; ; o += step {
			if !covered(o-windowHalf, o+windowHalf) || !covered(-o-windowHalf, -o+windowHalf) {
				break
			}
			far = o
		}
		if float64(far) <= c.WithinS {
			return 0
		}
		return float64(far)
	}
	c.HoursS = reach(3600, 3600)
	c.HalfHoursS = reach(1800, 3600)
	return c
}

// describe renders a coverage for messages: "within ±24h" or "within
// ±14m, or within 2m of a whole hour up to ±14h or of a half hour up to
// ±12h30m".
func (c *Coverage) describe() string {
	s := "within ±" + fmtDuration(c.WithinS)
	var more []string
	if c.HoursS > 0 {
		more = append(more, "a whole hour up to ±"+fmtDuration(c.HoursS))
	}
	if c.HalfHoursS > 0 {
		more = append(more, "a half hour up to ±"+fmtDuration(c.HalfHoursS))
	}
	switch len(more) {
	case 1:
		s += ", or within 2m of " + more[0]
	case 2:
		s += ", or within 2m of " + more[0] + " or of " + more[1]
	}
	return s
}

// fmtDuration renders seconds as 3m12s, 1h0m5s, 2.5s, 24h.
func fmtDuration(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d >= time.Minute {
		d = d.Round(time.Second)
	} else {
		d = d.Round(100 * time.Millisecond)
	}
	str := d.String()
	// time.Duration prints 24h0m0s; trim the zero tails for reading.
	for _, z := range []string{"m0s", "h0m"} {
		if len(str) > len(z) && str[len(str)-len(z):] == z {
			str = str[:len(str)-len(z)+1]
		}
	}
	return str
}
