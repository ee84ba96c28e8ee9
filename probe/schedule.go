package probe

import (
	"context"
	"slices"
	"sync"
)

// jobKind is a stage of one entry's probe.
type jobKind int

const (
	// jobScreen is the entry's first attempt: does the server work at all?
	jobScreen jobKind = iota
	// jobSample takes the rest of the samples of an entry that worked, its
	// clock offset (Options.Skew) and its download.
	jobSample
	// jobDiagnose explains a rejection.
	jobDiagnose
	// jobRetry repeats a first attempt that timed out, at the end of the
	// run and at lower concurrency.
	jobRetry
)

// job is one stage of one entry.
type job struct {
	kind jobKind
	e    *entry
}

// scheduler runs jobs on a bounded number of slots:
//
//   - every entry is screened (one attempt) before any entry's samples or
//     diagnosis, so what the first attempts show — a server that accepts
//     our clock, a dead host, the Date of a working server's response —
//     is known before anything is diagnosed;
//   - a server whose reach is unknown gets one job at a time, so the
//     entries of a dead or refusing host wait for the first connect and
//     share its verdict instead of each paying for it;
//   - a server has at most perServer jobs running; its samples and
//     diagnoses start only after all its screens, and its diagnoses run
//     one at a time, each starting from what the previous ones learnt;
//   - diagnoses start only once the run has a reference for our own
//     clock (the Date of a working server's response) or every entry has
//     been screened, so that a diagnosis can say when our clock is off;
//   - retries start only when nothing else is ready, and work on a pool of
//     retryMax slots of their own (a quarter of the concurrency); like
//     every slot, a retry's is given back while its connect is slow, so a
//     dead host's retry costs a goroutine, not a share of the pool.
//
// Servers take turns (round robin) so one server with many entries does
// not hold up the rest.
type scheduler struct {
	do         func(ctx context.Context, j *job, s *slot)
	slots      chan struct{}
	retrySlots chan struct{}
	perServer  int
	// clockKnown reports whether the run has a reference for our clock.
	clockKnown func() bool

	mu      sync.Mutex
	cond    *sync.Cond
	first   []*server // servers whose next job is a screen
	later   []*server // servers whose next job is a sample or a diagnosis
	retries []*job
	pending int // jobs queued or running
	screens int // screen jobs queued or running, in the whole run
	// held are servers with a diagnosis waiting for the clock reference.
	held []*server
}

func newScheduler(concurrency, perServer, retryMax int, do func(context.Context, *job, *slot), clockKnown func() bool) *scheduler {
	sc := &scheduler{do: do, slots: make(chan struct{}, concurrency), retrySlots: make(chan struct{}, retryMax), perServer: perServer, clockKnown: clockKnown}
	sc.cond = sync.NewCond(&sc.mu)
	return sc
}

// add queues a job.
func (sc *scheduler) add(j *job) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.pending++
	if j.kind == jobRetry {
		sc.retries = append(sc.retries, j)
	} else {
		s := j.e.srv
		s.queue = append(s.queue, j)
		if j.kind == jobScreen {
			s.screens++
			sc.screens++
		}
		sc.list(s)
	}
	sc.cond.Broadcast()
}

// clockChanged re-examines the servers whose diagnoses wait for the
// clock reference, which the run now has.
func (sc *scheduler) clockChanged() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.release()
}

// release lists the held servers again.
func (sc *scheduler) release() {
	held := sc.held
	sc.held = nil
	for _, s := range held {
		sc.list(s)
	}
	sc.cond.Broadcast()
}

// changed re-examines s after its reach changed.
func (sc *scheduler) changed(s *server) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.list(s)
	sc.cond.Broadcast()
}

// run works until every job is done or ctx is cancelled, with workers
// goroutines; jobs may add jobs.
func (sc *scheduler) run(ctx context.Context, workers int) {
	stop := context.AfterFunc(ctx, func() {
		sc.mu.Lock()
		sc.cond.Broadcast()
		sc.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// The slot first: a job is picked only when it can
				// run, so the order of picking is the order of work.
				sl := &slot{sem: sc.slots}
				if sl.acquire(ctx) != nil {
					return
				}
				j := sc.next(ctx)
				if j == nil {
					sl.release()
					return
				}
				if j.kind == jobRetry {
					sl.release()
					sl.sem = sc.retrySlots
					if sl.acquire(ctx) != nil {
						sc.finish(j)
						return
					}
				}
				sc.do(ctx, j, sl)
				sl.release()
				sc.finish(j)
			}
		}()
	}
	wg.Wait()
}

// next waits for a job that may start; nil when there is none left or ctx
// is done.
func (sc *scheduler) next(ctx context.Context) *job {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if j := sc.pick(&sc.first); j != nil {
			return j
		}
		if j := sc.pick(&sc.later); j != nil {
			return j
		}
		if len(sc.retries) > 0 {
			j := sc.retries[0]
			sc.retries = sc.retries[1:]
			return j
		}
		if sc.pending == 0 {
			return nil
		}
		sc.cond.Wait()
	}
}

// pick takes the first startable job of the servers in list, round robin.
func (sc *scheduler) pick(list *[]*server) *job {
	for len(*list) > 0 {
		s := (*list)[0]
		*list = (*list)[1:]
		s.listed = false
		i := sc.startable(s)
		if i < 0 {
			continue
		}
		j := s.queue[i]
		s.queue = append(s.queue[:i], s.queue[i+1:]...)
		s.running++
		if j.kind == jobDiagnose {
			s.diagnosing = true
		}
		sc.list(s)
		return j
	}
	return nil
}

// startable is the index of the job s may start now, or -1.
func (sc *scheduler) startable(s *server) int {
	if s.running >= sc.perServer {
		return -1
	}
	switch r, _ := s.reached(); {
	case r == reachUnknown && s.running > 0:
		return -1 // wait for the first connect
	case r == reachDead:
		return -1 // wait for the retry at the end
	}
	for i, j := range s.queue {
		switch {
		case j.kind == jobScreen:
			return i
		case s.screens > 0:
			// Samples and diagnoses wait for the server's screens.
		case j.kind == jobDiagnose && s.diagnosing:
			// One diagnosis at a time per server.
		case j.kind == jobDiagnose && sc.screens > 0 && !sc.clockKnown():
			// Wait for a clock reference, or for every screen.
			if !slices.Contains(sc.held, s) {
				sc.held = append(sc.held, s)
			}
		default:
			return i
		}
	}
	return -1
}

// list puts s on the ready list of its next job, unless it is listed or
// has nothing to start.
func (sc *scheduler) list(s *server) {
	if s.listed {
		return
	}
	i := sc.startable(s)
	if i < 0 {
		return
	}
	s.listed = true
	if s.queue[i].kind == jobScreen {
		sc.first = append(sc.first, s)
	} else {
		sc.later = append(sc.later, s)
	}
}

// finish records that j is done.
func (sc *scheduler) finish(j *job) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.pending--
	if j.kind != jobRetry {
		s := j.e.srv
		s.running--
		switch j.kind {
		case jobScreen:
			s.screens--
			if sc.screens--; sc.screens == 0 {
				sc.release()
			}
		case jobDiagnose:
			s.diagnosing = false
		}
		sc.list(s)
	}
	// A retry may have settled a dead server whose other entries wait.
	if j.kind == jobRetry {
		sc.list(j.e.srv)
	}
	sc.cond.Broadcast()
}
