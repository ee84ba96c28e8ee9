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
//     retryLimit slots of their own (a quarter of the concurrency); they
//     count among their server's running jobs, so a retry and a screen of
//     a server whose reach is unknown never run at once.
//
// A job holds its slot while it works, except while one of its TCP
// connects is slow (see connectDialer): then it gives the slot back, and a
// dead host costs a goroutine, not a share of the concurrency. A job
// taking its slot back goes before any new job. Servers take turns (round
// robin), so one server with many entries does not hold up the rest.
//
// One dispatcher (run) starts a goroutine per job when a slot is free;
// nothing waits for work while holding a slot.
type scheduler struct {
	do         func(ctx context.Context, j *job, s *slot)
	limit      int // slots
	retryLimit int // retry slots
	perServer  int
	// clockKnown reports whether the run has a reference for our clock.
	clockKnown func() bool

	mu   sync.Mutex
	wake *sync.Cond // the dispatcher waits here for work or a slot
	free *sync.Cond // jobs taking their slot back wait here
	// active and retryActive count the slots in use; waiting and
	// retryWaiting the jobs waiting to take theirs back.
	active, retryActive   int
	waiting, retryWaiting int

	first   []*server // servers whose next job is a screen
	later   []*server // servers whose next job is a sample or a diagnosis
	retries []*job
	pending int // jobs queued or running
	screens int // screen jobs queued or running, in the whole run
	// held are servers with a diagnosis waiting for the clock reference.
	held []*server
}

func newScheduler(concurrency, perServer, retryLimit int, do func(context.Context, *job, *slot), clockKnown func() bool) *scheduler {
	sc := &scheduler{do: do, limit: concurrency, retryLimit: retryLimit, perServer: perServer, clockKnown: clockKnown}
	sc.wake = sync.NewCond(&sc.mu)
	sc.free = sync.NewCond(&sc.mu)
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
	sc.wake.Signal()
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
	sc.wake.Signal()
}

// changed re-examines s after its reach changed.
func (sc *scheduler) changed(s *server) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.list(s)
	sc.wake.Signal()
}

// run dispatches jobs until every job is done or ctx is cancelled, and
// waits for the jobs it started; jobs may add jobs.
func (sc *scheduler) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		sc.mu.Lock()
		sc.wake.Broadcast()
		sc.free.Broadcast()
		sc.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	sc.mu.Lock()
	for ctx.Err() == nil {
		if j := sc.next(); j != nil {
			sl := &slot{sc: sc, retry: j.kind == jobRetry, held: true}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc.do(ctx, j, sl)
				sl.release()
				sc.finish(j)
			}()
			continue
		}
		if sc.pending == 0 {
			break
		}
		sc.wake.Wait()
	}
	sc.mu.Unlock()
	wg.Wait()
}

// next takes a job that may start now, with its slot, or returns nil.
func (sc *scheduler) next() *job {
	if sc.active+sc.waiting < sc.limit {
		if j := sc.pick(&sc.first); j != nil {
			sc.active++
			return j
		}
		if j := sc.pick(&sc.later); j != nil {
			sc.active++
			return j
		}
	}
	if len(sc.retries) > 0 && len(sc.first) == 0 && len(sc.later) == 0 && sc.retryActive+sc.retryWaiting < sc.retryLimit {
		for i, j := range sc.retries {
			s := j.e.srv
			if !sc.mayRun(s) {
				continue
			}
			sc.retries = slices.Delete(sc.retries, i, i+1)
			s.running++
			sc.retryActive++
			return j
		}
	}
	return nil
}

// mayRun reports whether s may start one more job of any kind: it has
// fewer than perServer running, and none while its reach is unknown (the
// first connect decides for every entry on it).
func (sc *scheduler) mayRun(s *server) bool {
	if s.running >= sc.perServer {
		return false
	}
	r, _ := s.reached()
	return r != reachUnknown || s.running == 0
}

// take waits for a slot of the kind given (a job taking its slot back).
func (sc *scheduler) take(ctx context.Context, retry bool) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	active, waiting, limit := &sc.active, &sc.waiting, sc.limit
	if retry {
		active, waiting, limit = &sc.retryActive, &sc.retryWaiting, sc.retryLimit
	}
	*waiting++
	defer func() { *waiting-- }()
	// A cancelled context wakes the wait: nothing else may (every slot
	// can be held by jobs that wait themselves).
	stop := context.AfterFunc(ctx, func() {
		sc.mu.Lock()
		sc.free.Broadcast()
		sc.mu.Unlock()
	})
	defer stop()
	for *active >= limit {
		if err := ctx.Err(); err != nil {
			return err
		}
		sc.free.Wait()
	}
	*active++
	return nil
}

// put gives a slot back.
func (sc *scheduler) put(retry bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if retry {
		sc.retryActive--
	} else {
		sc.active--
	}
	sc.free.Broadcast()
	sc.wake.Signal()
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
	if !sc.mayRun(s) {
		return -1 // at the cap, or waiting for the first connect
	}
	if r, _ := s.reached(); r == reachDead {
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
	// A retry may have settled a dead server whose other entries wait.
	sc.list(s)
	sc.wake.Signal()
}
