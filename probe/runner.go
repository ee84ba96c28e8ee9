package probe

import (
	"context"
	"sync"
)

// runOrdered calls do for the indexes 0..n-1 with at most workers calls in
// flight. Each result is handed to emit as soon as it is ready (emit calls
// are serialised, in completion order), and the results come back in index
// order.
//
// do reports done=false when it was interrupted by ctx; such results are
// neither emitted nor returned. Once ctx is cancelled no new call starts, so
// the returned slice holds exactly the work that finished.
func runOrdered[R any](ctx context.Context, n, workers int, do func(ctx context.Context, i int) (r R, done bool), emit func(i int, r R)) []R {
	if workers < 1 {
		workers = 1
	}
	if workers > n {
		workers = n
	}
	results := make([]R, n)
	finished := make([]bool, n)
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	// take hands out the next index, or -1 when there is none or ctx is done.
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if next >= n || ctx.Err() != nil {
			return -1
		}
		i := next
		next++
		return i
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := take()
				if i < 0 {
					return
				}
				r, done := do(ctx, i)
				if !done {
					continue
				}
				mu.Lock()
				results[i], finished[i] = r, true
				if emit != nil {
					emit(i, r)
				}
				mu.Unlock()
			}
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
