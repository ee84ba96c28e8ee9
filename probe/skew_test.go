package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// simServer is a VMess server's timestamp check with its own clock: it
// accepts a timestamp t iff now_s − 120 ≤ t ≤ now_s + 120, where now_s is
// its clock truncated to whole seconds (docs/protocol.md#timestamp-window).
type simServer struct {
	theta  float64 // server clock minus ours, seconds
	delay  float64 // one-way delay, seconds
	reject bool    // a wrong id: nothing is ever accepted

	mu    sync.Mutex
	rng   *rand.Rand
	tries int
}

func (s *simServer) attempt(ctx context.Context, offset time.Duration) (bool, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	// Our clock at sealing time: a random instant, so the fractional part
	// of the second varies from attempt to attempt as it does in reality.
	c := 1.7e9 + s.rng.Float64()*1000
	t := math.Floor(c + offset.Seconds())
	now := math.Floor(c + s.theta + s.delay)
	ok := !s.reject && now-windowHalf <= t && t <= now+windowHalf
	return ok, time.Duration(2 * s.delay * float64(time.Second)), nil
}

func TestSearchSkew(t *testing.T) {
	tests := []struct {
		name         string
		theta, delay float64
		maxTries     int
	}{
		{"in sync", 0, 0.0002, 17},
		{"small fraction", 0.4, 0.0002, 17},
		{"+60s", 60, 0.0002, 17},
		{"+200s", 200, 0.0002, 25},
		{"-200s", -200, 0.0002, 25},
		{"+3m12s", 192, 0.0002, 25},
		{"-19m", -1140, 0.0002, 30},
		{"one hour ahead (time zone)", 3600, 0.0002, 27},
		{"8h behind (UTC+8 clock in local time)", -28800, 0.0002, 42},
		{"8h ahead", 28800, 0.0002, 42},
		{"5h30m behind (time zone)", -19800, 0.0002, 86},
		{"almost a day", 86000, 0.0002, 800},
		{"slow link", -500, 0.150, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 20; seed++ {
				srv := &simServer{theta: tt.theta, delay: tt.delay, rng: rand.New(rand.NewPCG(seed, 7))}
				got, err := searchSkew(context.Background(), srv.attempt, SkewSearch{Spacing: time.Nanosecond, SlowSpacing: time.Nanosecond, Parallel: 1}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Found {
					t.Fatalf("seed %d: not found after %d tries", seed, got.Attempts)
				}
				if math.Abs(got.Offset-tt.theta) > got.Uncertainty {
					t.Fatalf("seed %d: offset %.2f ± %.2f, true %.2f", seed, got.Offset, got.Uncertainty, tt.theta)
				}
				if got.Uncertainty > 2 {
					t.Fatalf("seed %d: uncertainty %.2f > 2 s", seed, got.Uncertainty)
				}
				if got.Attempts != srv.tries || got.Attempts > tt.maxTries {
					t.Fatalf("seed %d: %d attempts (server saw %d), want ≤ %d", seed, got.Attempts, srv.tries, tt.maxTries)
				}
			}
		})
	}
}

func TestSearchSkewKnownAccepted(t *testing.T) {
	srv := &simServer{theta: 37, delay: 0.0001, rng: rand.New(rand.NewPCG(3, 3))}
	zero := 0
	got, err := searchSkew(context.Background(), srv.attempt, SkewSearch{Spacing: time.Nanosecond, SlowSpacing: time.Nanosecond}, &zero)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Found || math.Abs(got.Offset-37) > got.Uncertainty || got.Attempts > 16 {
		t.Fatalf("got %+v, want offset 37 within 16 attempts", got)
	}
}

func TestSearchSkewNothingAccepted(t *testing.T) {
	tests := []struct {
		name     string
		rng      time.Duration
		parallel int
		want     int
	}{
		{"24h sequential", 24 * time.Hour, 1, 769},
		{"24h parallel", 24 * time.Hour, 8, 769},
		{"10 minutes", 10 * time.Minute, 4, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &simServer{reject: true, rng: rand.New(rand.NewPCG(1, 1))}
			got, err := searchSkew(context.Background(), srv.attempt, SkewSearch{Range: tt.rng, Spacing: time.Nanosecond, SlowSpacing: time.Nanosecond, Parallel: tt.parallel}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Found || got.Attempts != tt.want {
				t.Fatalf("got %+v, want not found after %d attempts", got, tt.want)
			}
		})
	}
}

// TestScanCoversRange checks that the scan's windows leave no gap: every
// offset within the range is inside some scanned window.
func TestScanCoversRange(t *testing.T) {
	near, wide := scanOffsets(24 * time.Hour)
	all := append(near, wide...)
	seen := map[int]bool{}
	for _, o := range all {
		if seen[o] {
			t.Fatalf("offset %d scanned twice", o)
		}
		seen[o] = true
	}
	for theta := -86400; theta <= 86400; theta++ {
		covered := false
		for _, o := range all {
			// A scan at o is surely accepted when |o − θ| ≤ 119 (one
			// second of truncation blur on each side of ±120).
			if o-theta <= windowHalf-1 && theta-o <= windowHalf-1 {
				covered = true
				break
			}
		}
		if !covered {
			t.Fatalf("offset %d s is not covered by any scanned window", theta)
		}
	}
	for _, o := range wide[:20] {
		if o%900 != 0 {
			t.Fatalf("wide scan starts with %d, want whole quarter hours first", o)
		}
	}
}

func TestSearchSkewErrors(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, err := searchSkew(context.Background(), func(ctx context.Context, offset time.Duration) (bool, time.Duration, error) {
		calls++
		return false, 0, boom
	}, SkewSearch{Spacing: time.Nanosecond, SlowSpacing: time.Nanosecond}, nil)
	if !errors.Is(err, errInconclusive) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want inconclusive wrapping boom", err)
	}
	if calls != 2 {
		t.Fatalf("%d calls, want one retry then give up", calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = searchSkew(ctx, (&simServer{reject: true, rng: rand.New(rand.NewPCG(1, 1))}).attempt, SkewSearch{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSearchSkewSpacing(t *testing.T) {
	srv := &simServer{theta: 0, delay: 0.0001, rng: rand.New(rand.NewPCG(1, 2))}
	start := time.Now()
	got, err := searchSkew(context.Background(), srv.attempt, SkewSearch{Spacing: 5 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if el, min := time.Since(start), time.Duration(got.Attempts-1)*5*time.Millisecond; el < min {
		t.Fatalf("%d attempts took %v, want at least %v with 5 ms spacing", got.Attempts, el, min)
	}
}

// TestSearchSkewSlowsDown: after FastAttempts handshakes a search slows to
// SlowSpacing, so a wrong id's long scan is gentle on the server's log.
func TestSearchSkewSlowsDown(t *testing.T) {
	srv := &simServer{reject: true, rng: rand.New(rand.NewPCG(1, 3))}
	var starts []time.Time
	attempt := func(ctx context.Context, off time.Duration) (bool, time.Duration, error) {
		starts = append(starts, time.Now()) // Parallel 1: one at a time
		return srv.attempt(ctx, off)
	}
	got, err := searchSkew(context.Background(), attempt, SkewSearch{Range: time.Hour, Spacing: time.Millisecond, FastAttempts: 5, SlowSpacing: 10 * time.Millisecond, Parallel: 1}, nil)
	if err != nil || got.Found || got.Attempts != 33 {
		t.Fatalf("got %+v, %v; want not found after 33 attempts", got, err)
	}
	// Each start is at least its slot, and the slots are spacing apart;
	// timer jitter may delay one start but never brings the next forward.
	var sum time.Duration
	for i := 1; i < len(starts); i++ {
		if i > 5 {
			sum += 10 * time.Millisecond
		} else {
			sum += time.Millisecond
		}
		if el := starts[i].Sub(starts[0]); el < sum-500*time.Microsecond {
			t.Fatalf("attempt %d started %v after the first, want ≥ %v", i+1, el, sum)
		}
	}
}

// TestSearchSkewSharedServerPace: searches of one run to the same server
// share its pace, so their handshakes together are Spacing apart.
func TestSearchSkewSharedServerPace(t *testing.T) {
	sp := newServerPace()
	var (
		mu     sync.Mutex
		starts []time.Time
	)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := &simServer{reject: true, rng: rand.New(rand.NewPCG(uint64(i), 3))}
			attempt := func(ctx context.Context, off time.Duration) (bool, time.Duration, error) {
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				return srv.attempt(ctx, off)
			}
			if _, err := searchSkewOn(context.Background(), attempt, SkewSearch{Range: 10 * time.Minute, Spacing: 3 * time.Millisecond, Parallel: 1}, nil, sp, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(starts) != 3*7 {
		t.Fatalf("%d attempts, want 21", len(starts))
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(starts); i++ {
		if el, want := starts[i].Sub(starts[0]), time.Duration(i)*3*time.Millisecond; el < want-500*time.Microsecond {
			t.Fatalf("handshake %d to the server started %v after the first, want ≥ %v", i+1, el, want)
		}
	}
}

// TestSearchSkewStopsWhenClockConfirmed: a search with a stop check (a
// diagnosing one) stops as soon as the check fails — here, when another
// target on the same route was accepted at our clock; one without (a --skew
// search of a working server) does not.
func TestSearchSkewStopsWhenClockConfirmed(t *testing.T) {
	for _, diagnosing := range []bool{true, false} {
		t.Run(fmt.Sprintf("diagnosing=%v", diagnosing), func(t *testing.T) {
			sp, route := newServerPace(), &routeVerdicts{}
			srv := &simServer{theta: 5000, delay: 0.0001, rng: rand.New(rand.NewPCG(1, 4))}
			n := 0
			attempt := func(ctx context.Context, off time.Duration) (bool, time.Duration, error) {
				if n++; n == 3 {
					route.confirmClock()
				}
				return srv.attempt(ctx, off)
			}
			var stop func() error
			if diagnosing {
				stop = func() error {
					if route.clockConfirmed() {
						return errClockConfirmed
					}
					return nil
				}
			}
			got, err := searchSkewOn(context.Background(), attempt, SkewSearch{Spacing: time.Nanosecond, SlowSpacing: time.Nanosecond, Parallel: 1}, nil, sp, stop)
			if diagnosing {
				if !errors.Is(err, errClockConfirmed) || got.Attempts != 3 {
					t.Fatalf("got %+v, %v; want errClockConfirmed after 3 attempts", got, err)
				}
				return
			}
			if err != nil || !got.Found || math.Abs(got.Offset-5000) > got.Uncertainty {
				t.Fatalf("got %+v, %v; want the offset found", got, err)
			}
		})
	}
}

// TestScanOrder: after the ±20 min, whole hours come first, then half
// hours, then quarter hours (the skews of a wrong time zone).
func TestScanOrder(t *testing.T) {
	near, wide := scanOffsets(24 * time.Hour)
	if len(near) != 11 || near[0] != 0 {
		t.Fatalf("near %v", near)
	}
	if want := []int{3600, -3600, 7200, -7200}; !slices.Equal(wide[:4], want) {
		t.Fatalf("wide starts %v, want %v", wide[:4], want)
	}
	if wide[47] != -86400 || wide[48] != 1800 || wide[96] != 2700 {
		t.Fatalf("wide[47], [48], [96] = %d, %d, %d; want -86400 (the last hour), 1800, 2700 (±15 min is in the near part)", wide[47], wide[48], wide[96])
	}
}
