package probe

import (
	"context"
	"errors"
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
	budget int     // > 0: handshakes after this many fail with errBudget

	mu    sync.Mutex
	rng   *rand.Rand
	tries int
}

func (s *simServer) attempt(ctx context.Context, offset int) (bool, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	if s.budget > 0 && s.tries >= s.budget {
		return false, 0, errBudget
	}
	s.tries++
	// Our clock at sealing time: a random instant, so the fractional part
	// of the second varies from attempt to attempt as it does in reality.
	c := 1.7e9 + s.rng.Float64()*1000
	t := math.Floor(c + float64(offset))
	now := math.Floor(c + s.theta + s.delay)
	ok := !s.reject && now-windowHalf <= t && t <= now+windowHalf
	return ok, time.Duration(2 * s.delay * float64(time.Second)), nil
}

// search runs a whole search the way a diagnosis does: scan the grid,
// then measure the window around the offset found.
func search(t *testing.T, srv *simServer, ss SkewSearch, parallel int) (found bool, est skewEstimate, s *skewSearch) {
	t.Helper()
	s = newSkewSearch(srv.attempt, parallel)
	found, at, err := s.scan(context.Background(), ss.grid())
	if err != nil && !errors.Is(err, errBudget) {
		t.Fatal(err)
	}
	if !found {
		return false, skewEstimate{}, s
	}
	est, err = s.measure(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	return true, est, s
}

// TestSkewSearch: the bounded default finds the skews it is shaped for
// (minutes, whole and half hours) and the exhaustive one any other, each to
// within its uncertainty, in a bounded number of handshakes.
func TestSkewSearch(t *testing.T) {
	tests := []struct {
		name         string
		theta, delay float64
		exhaustive   bool
		maxTries     int
	}{
		{"in sync", 0, 0.0002, false, 17},
		{"small fraction", 0.4, 0.0002, false, 17},
		{"+60s", 60, 0.0002, false, 17},
		{"+200s", 200, 0.0002, false, 20},
		{"-200s", -200, 0.0002, false, 20},
		{"+5m", 300, 0.0002, false, 20},
		{"-13m", -780, 0.0002, false, 24},
		{"one hour ahead (time zone)", 3600, 0.0002, false, 26},
		{"8h behind (UTC+8 clock in local time)", -28800, 0.0002, false, 40},
		{"14h ahead", 50400, 0.0002, false, 52},
		{"5h30m behind (time zone)", -19800, 0.0002, false, 62},
		{"5h30m and a minute", 19860, 0.0002, false, 62},
		{"slow link", -500, 0.150, false, 21},
		{"-19m, exhaustive", -1140, 0.0002, true, 30},
		{"3h7m, exhaustive", 11220, 0.0002, true, 300},
		{"almost a day, exhaustive", 86000, 0.0002, true, 800},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := SkewSearch{}
			if tt.exhaustive {
				ss.Range = 24 * time.Hour
			}
			for seed := uint64(1); seed <= 20; seed++ {
				srv := &simServer{theta: tt.theta, delay: tt.delay, rng: rand.New(rand.NewPCG(seed, 7))}
				found, est, s := search(t, srv, ss, 1)
				if !found {
					t.Fatalf("seed %d: not found after %d tries", seed, s.handshakes())
				}
				if math.Abs(est.Offset-tt.theta) > est.Uncertainty {
					t.Fatalf("seed %d: offset %.2f ± %.2f, true %.2f", seed, est.Offset, est.Uncertainty, tt.theta)
				}
				if est.Uncertainty > 2 {
					t.Fatalf("seed %d: uncertainty %.2f > 2 s", seed, est.Uncertainty)
				}
				if s.handshakes() != srv.tries || s.handshakes() > tt.maxTries {
					t.Fatalf("seed %d: %d handshakes (server saw %d), want ≤ %d", seed, s.handshakes(), srv.tries, tt.maxTries)
				}
			}
		})
	}
}

// TestSkewSearchMisses: the bounded search does not find skews it is not
// shaped for; it says what it ruled out instead.
func TestSkewSearchMisses(t *testing.T) {
	srv := &simServer{theta: 11220, delay: 0.0002, rng: rand.New(rand.NewPCG(1, 1))} // 3h7m
	found, _, s := search(t, srv, SkewSearch{}, 4)
	if found || s.handshakes() != 61 {
		t.Fatalf("found %v after %d handshakes; want nothing after the grid's 61", found, s.handshakes())
	}
}

func TestSkewSearchMeasureFromKnown(t *testing.T) {
	srv := &simServer{theta: 37, delay: 0.0001, rng: rand.New(rand.NewPCG(3, 3))}
	s := newSkewSearch(srv.attempt, 4)
	est, err := s.measure(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(est.Offset-37) > est.Uncertainty || s.handshakes() > 16 || !est.includesOurs {
		t.Fatalf("got %+v after %d, want offset 37 within 16 handshakes, our clock inside", est, s.handshakes())
	}
}

// TestSkewSearchNothingAccepted: a wrong id costs the whole grid, and the
// coverage says what was ruled out.
func TestSkewSearchNothingAccepted(t *testing.T) {
	tests := []struct {
		name     string
		ss       SkewSearch
		parallel int
		want     int
		cov      Coverage
	}{
		{"bounded", SkewSearch{}, 6, 61, Coverage{WithinS: 840, HoursS: 14 * 3600, HalfHoursS: 12*3600 + 1800}},
		{"24h sequential", SkewSearch{Range: 24 * time.Hour}, 1, 769, Coverage{WithinS: 86520}},
		{"24h parallel", SkewSearch{Range: 24 * time.Hour}, 8, 769, Coverage{WithinS: 86520}},
		{"10 minutes", SkewSearch{Range: 10 * time.Minute}, 4, 7, Coverage{WithinS: 795}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &simServer{reject: true, rng: rand.New(rand.NewPCG(1, 1))}
			found, _, s := search(t, srv, tt.ss, tt.parallel)
			if found || s.handshakes() != tt.want {
				t.Fatalf("found %v after %d handshakes, want not found after %d", found, s.handshakes(), tt.want)
			}
			if got := *s.coverage(); got != tt.cov {
				t.Fatalf("coverage %+v, want %+v", got, tt.cov)
			}
		})
	}
}

// TestSkewSearchBudget: a search the budget cuts short stops at once,
// says what it did rule out, and a measurement it cuts still brackets the
// true offset.
func TestSkewSearchBudget(t *testing.T) {
	srv := &simServer{reject: true, budget: 20, rng: rand.New(rand.NewPCG(1, 1))}
	found, _, s := search(t, srv, SkewSearch{}, 1)
	if found || s.handshakes() != 20 || !s.budgetSpent() {
		t.Fatalf("found %v, %d handshakes, spent %v; want 20 and spent", found, s.handshakes(), s.budgetSpent())
	}
	// The first 20 of the grid: the near ones (±14 min) and hours 1–6.
	if got, want := *s.coverage(), (Coverage{WithinS: 840, HoursS: 6 * 3600}); got != want {
		t.Fatalf("coverage %+v, want %+v", got, want)
	}

	for _, budget := range []int{1, 4, 9} {
		srv := &simServer{theta: 3650, delay: 0.0002, budget: budget, rng: rand.New(rand.NewPCG(2, 2))}
		s := newSkewSearch(srv.attempt, 2)
		est, err := s.measure(context.Background(), 3600)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(est.Offset-3650) > est.Uncertainty || est.Uncertainty > 122 {
			t.Fatalf("budget %d: %+v does not bracket 3650", budget, est)
		}
	}
}

// TestGridCoversRange: the grids leave no gap where they claim coverage.
// Every offset within the exhaustive range is within 119 s of a scan point
// (surely accepted, whatever the truncation of the two clocks); the
// bounded grid's near points are one window (240 s) apart, so the server's
// timestamp check itself is simulated for every offset (whole and half
// seconds, several clock phases) within its ±14 min.
func TestGridCoversRange(t *testing.T) {
	grid := exhaustiveGrid(24 * time.Hour)
	seen := map[int]bool{}
	for _, o := range grid {
		if seen[o] {
			t.Fatalf("offset %d twice", o)
		}
		seen[o] = true
	}
	for theta := -86400; theta <= 86400; theta++ {
		covered := false
		for _, o := range grid {
			if o-theta <= windowHalf-1 && theta-o <= windowHalf-1 {
				covered = true
				break
			}
		}
		if !covered {
			t.Fatalf("exhaustive: offset %d s is not covered by any window", theta)
		}
	}
	near := boundedGrid()[:2*nearPoints+1]
	for theta := -840.0; theta <= 840; theta += 0.5 {
		for seed := uint64(1); seed <= 4; seed++ {
			srv := &simServer{theta: theta, delay: 0.0002, rng: rand.New(rand.NewPCG(seed, 9))}
			found, _, err := newSkewSearch(srv.attempt, 1).scan(context.Background(), near)
			if err != nil || !found {
				t.Fatalf("bounded: offset %.1f s not found by the near points (seed %d, %v)", theta, seed, err)
			}
		}
	}
}

// TestGridOrder: the bounded grid tries the near offsets, then whole hours
// nearest first, then half hours; the exhaustive one, after its ±20 min,
// whole hours, then half hours, then quarter hours.
func TestGridOrder(t *testing.T) {
	b := boundedGrid()
	if want := []int{0, 240, -240, 480, -480, 720, -720, 3600, -3600, 7200}; !slices.Equal(b[:10], want) {
		t.Fatalf("bounded grid starts %v, want %v", b[:10], want)
	}
	if len(b) != 61 || b[34] != -50400 || b[35] != 1800 || b[60] != -45000 {
		t.Fatalf("bounded grid: %d offsets, [34..35] = %v, last %d", len(b), b[34:36], b[60])
	}
	e := exhaustiveGrid(24 * time.Hour)
	near, wide := e[:11], e[11:]
	if near[0] != 0 {
		t.Fatalf("near %v", near)
	}
	if want := []int{3600, -3600, 7200, -7200}; !slices.Equal(wide[:4], want) {
		t.Fatalf("wide starts %v, want %v", wide[:4], want)
	}
	if wide[47] != -86400 || wide[48] != 1800 || wide[96] != 2700 {
		t.Fatalf("wide[47], [48], [96] = %d, %d, %d; want -86400 (the last hour), 1800, 2700", wide[47], wide[48], wide[96])
	}
}

func TestCoverageDescribe(t *testing.T) {
	for _, tt := range []struct {
		c    Coverage
		want string
	}{
		{Coverage{WithinS: 840, HoursS: 50400, HalfHoursS: 45000}, "within ±14m, or within 2m of a whole hour up to ±14h or of a half hour up to ±12h30m"},
		{Coverage{WithinS: 86520}, "within ±24h2m"},
		{Coverage{WithinS: 840, HoursS: 21600}, "within ±14m, or within 2m of a whole hour up to ±6h"},
		{Coverage{WithinS: 120}, "within ±2m"},
	} {
		if got := tt.c.describe(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestSkewSearchErrors(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	s := newSkewSearch(func(ctx context.Context, offset int) (bool, time.Duration, error) {
		calls++
		return false, 0, boom
	}, 1)
	_, _, err := s.scan(context.Background(), boundedGrid())
	if !errors.Is(err, errInconclusive) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want inconclusive wrapping boom", err)
	}
	if calls != 2 {
		t.Fatalf("%d calls, want one retry then give up", calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s = newSkewSearch((&simServer{reject: true, rng: rand.New(rand.NewPCG(1, 1))}).attempt, 4)
	if _, _, err = s.scan(ctx, boundedGrid()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
