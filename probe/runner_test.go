package probe

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunOrdered(t *testing.T) {
	tests := []struct {
		name       string
		n, workers int
	}{
		{"empty", 0, 4},
		{"one", 1, 4},
		{"fewer workers than work", 300, 64},
		{"more workers than work", 5, 64},
		{"zero workers means one", 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inFlight, peak atomic.Int32
			seen := make(map[int]int)
			got := runOrdered(context.Background(), tt.n, tt.workers, func(ctx context.Context, i int, _ *slot) (int, bool) {
				cur := inFlight.Add(1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
				inFlight.Add(-1)
				return i * 10, true
			}, func(i, r int) { seen[i]++ })
			if len(got) != tt.n {
				t.Fatalf("got %d results, want %d", len(got), tt.n)
			}
			for i, r := range got {
				if r != i*10 {
					t.Fatalf("result %d = %d, want %d (order lost)", i, r, i*10)
				}
				if seen[i] != 1 {
					t.Fatalf("result %d emitted %d times", i, seen[i])
				}
			}
			limit := max(tt.workers, 1)
			if int(peak.Load()) > limit {
				t.Fatalf("peak concurrency %d exceeds %d", peak.Load(), limit)
			}
		})
	}
}

func TestRunOrderedCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	got := runOrdered(ctx, 100, 4, func(ctx context.Context, i int, _ *slot) (int, bool) {
		if started.Add(1) == 3 {
			cancel()
		}
		if i%2 == 1 {
			// Odd targets are slow and get interrupted.
			<-ctx.Done()
			return 0, false
		}
		return i, true
	}, nil)
	if n := started.Load(); n > 3+4 {
		t.Fatalf("%d calls started after cancel at the 3rd; want no new work", n)
	}
	for _, r := range got {
		if r%2 != 0 {
			t.Fatalf("interrupted result %d returned", r)
		}
	}
	if len(got) == 0 {
		t.Fatal("no finished results returned")
	}
}

// TestRunOrderedPark: a call that parks its slot (waiting on another
// target) lets the next target start; it counts again once it unparks.
func TestRunOrderedPark(t *testing.T) {
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	got := runOrdered(context.Background(), 6, 2, func(ctx context.Context, i int, s *slot) (int, bool) {
		if i < 2 {
			// The first two wait on something that only the last target
			// releases: without parking, nothing else could start.
			s.park()
			<-release
			if err := s.unpark(ctx); err != nil {
				t.Error(err)
			}
		}
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		if i == 5 {
			close(release)
		}
		time.Sleep(time.Millisecond)
		return i, true
	}, nil)
	if len(got) != 6 {
		t.Fatalf("%d results, want 6", len(got))
	}
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d calls worked at once, want at most 2", p)
	}
}
