package probe

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestSchedulerRetryWaitsForScreen: a retry counts among its server's
// running jobs, so while the server's reach is unknown a retry and a
// screen of it never run at once (the retry pool is separate from the
// run's slots, and used to start beside a screen).
func TestSchedulerRetryWaitsForScreen(t *testing.T) {
	s := &server{key: "h.example:1", budget: DefaultBudget, open: make(chan struct{}, DefaultPerServer)}
	var (
		mu        sync.Mutex
		cur, most int
	)
	sc := newScheduler(2, DefaultPerServer, 1, func(ctx context.Context, j *job, sl *slot) {
		mu.Lock()
		cur++
		most = max(most, cur)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // long enough for the other to start, were it allowed
		mu.Lock()
		cur--
		mu.Unlock()
	}, func() bool { return true })
	s.changed = sc.changed
	sc.add(&job{kind: jobScreen, e: &entry{srv: s}})
	sc.add(&job{kind: jobRetry, e: &entry{srv: s}})
	sc.add(&job{kind: jobRetry, e: &entry{srv: s}})
	sc.run(context.Background())
	if most != 1 {
		t.Fatalf("%d jobs of a server with unknown reach ran at once, want 1", most)
	}
	if s.running != 0 {
		t.Fatalf("running = %d after the run, want 0", s.running)
	}
}
