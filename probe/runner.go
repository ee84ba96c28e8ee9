package probe

import (
	"context"
	"sync"
)

// slot is one call's share of a run's concurrency. A call that must wait
// on another target (its server's clock-search turn) parks its slot, so the
// wait does not hold up targets of other servers, and takes one back
// before it works again.
type slot struct {
	sem  chan struct{} // nil: unbounded (tests, direct calls)
	held bool
}

// park gives the slot back to the run.
func (s *slot) park() {
	if s != nil && s.sem != nil && s.held {
		<-s.sem
		s.held = false
	}
}

// unpark waits for a slot again; it fails only when ctx is done.
func (s *slot) unpark(ctx context.Context) error {
	if s == nil || s.sem == nil || s.held {
		return nil
	}
	select {
	case s.sem <- struct{}{}:
		s.held = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runOrdered calls do for the indexes 0..n-1, in order, with at most
// workers calls working at once (a call that parked its slot does not
// count). Each result is handed to emit as soon as it is ready (emit calls
// are serialised, in completion order), and the results come back in index
// order.
//
// do reports done=false when it was interrupted by ctx; such results are
// neither emitted nor returned. Once ctx is cancelled no new call starts, so
// the returned slice holds exactly the work that finished.
func runOrdered[R any](ctx context.Context, n, workers int, do func(ctx context.Context, i int, s *slot) (r R, done bool), emit func(i int, r R)) []R {
	workers = max(1, min(workers, n))
	results := make([]R, n)
	finished := make([]bool, n)
	sem := make(chan struct{}, workers)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break // a slot taken just now is left unused: no call starts
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &slot{sem: sem, held: true}
			defer s.park()
			r, done := do(ctx, i, s)
			if !done {
				return
			}
			mu.Lock()
			results[i], finished[i] = r, true
			if emit != nil {
				emit(i, r)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	out := make([]R, 0, n)
	for i := range results {
		if finished[i] {
			out = append(out, results[i])
		}
	}
	return out
}
