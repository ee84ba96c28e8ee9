package serve

import (
	"context"
	"sync"
	"time"

	"github.com/xvmtools/xvm/probe"
)

// schedule runs each group's cycles until ctx is done.
func (s *Server) schedule(ctx context.Context) {
	for {
		next := s.dispatch(ctx, s.clock.Now())
		wait := next.Sub(s.clock.Now())
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-s.clock.After(max(wait, 0)):
		}
	}
}

// idleWait is how long the scheduler sleeps when there is nothing to
// schedule; a reload wakes it earlier.
const idleWait = time.Hour

// dispatch starts the cycles due at now and returns when the next one is
// due. A cycle probes the group's targets that are not still busy from an
// earlier cycle (or a /probe request), a probe run per plan, under the
// group's concurrency bound (startCycleLocked). A busy target is skipped,
// never probed twice at once.
func (s *Server) dispatch(ctx context.Context, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := now.Add(idleWait)
	for _, g := range s.groups {
		if !now.Before(g.next) {
			s.startCycleLocked(ctx, g, now)
			// base moves by whole intervals, so jitter never accumulates;
			// after a stall (a suspended machine) it restarts from now.
			g.base = g.base.Add(g.Settings.Interval)
			if !g.base.After(now) {
				g.base = now.Add(g.Settings.Interval)
			}
			g.next = g.base.Add(s.jitterLocked(g.Settings.Interval))
		}
		if g.next.Before(next) {
			next = g.next
		}
	}
	return next
}

// plan says how a target is probed in a cycle.
type plan int

const (
	// planPlain: a normal probe; a rejection gets the full clock search.
	planPlain plan = iota
	// planMeasure: a working server whose clock offset is due: probe with
	// the clock search (probe.Options.Skew).
	planMeasure
	// planRecheck: a server that rejected us at every offset at its last
	// full search, less than SkewEvery ago: the search only looks close to
	// our clock, so a wrong id does not cost a full search every cycle.
	planRecheck
	numPlans
)

// recheckRange is the clock search's reach under planRecheck: VMess's own
// ±120 s window, rounded up.
const recheckRange = 2 * time.Minute

// planFor chooses how t is probed at now.
func planFor(t *target, every time.Duration, now time.Time) plan {
	due := every > 0 && (t.searchedAt.IsZero() || now.Sub(t.searchedAt) >= every)
	switch {
	case !t.has:
		return planPlain
	case t.last.Error != nil && t.last.Error.Kind == probe.KindAuthRejected && !t.searchedAt.IsZero() && !due:
		return planRecheck
	case t.last.OK && due:
		return planMeasure
	}
	return planPlain
}

// startCycleLocked plans g's idle targets and starts probing them: one
// probe run per plan (a plain probe, an offset measurement, a short
// recheck; their options differ), the runs side by side in lanes that
// share the group's concurrency bound (planLanes), so that a slow batch,
// such as full clock searches of rejecting servers, does not hold back
// the others. A lane's first batch is claimed now; a later one (only when
// the bound is smaller than the number of batches) when it starts, so its
// targets stay free for the next cycle meanwhile.
func (s *Server) startCycleLocked(ctx context.Context, g *group, now time.Time) {
	g.cycles++
	var batches [numPlans][]*target
	for _, t := range g.targets {
		if t.busy {
			g.skipped++
			continue
		}
		p := planFor(t, g.Settings.SkewEvery, now)
		batches[p] = append(batches[p], t)
	}
	lanes := planLanes(batches, g.Settings.Concurrency)
	for _, l := range lanes {
		for _, t := range l.batches[0].targets {
			s.claimLocked(t)
		}
	}
	settings, since := g.Settings, s.claims
	s.cycles.Add(1)
	go func() {
		defer s.cycles.Done()
		start := s.clock.Now()
		var wg sync.WaitGroup
		for _, l := range lanes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, b := range l.batches {
					targets := b.targets
					if i > 0 {
						if ctx.Err() != nil {
							return
						}
						s.mu.Lock()
						targets = s.claimLaterLocked(g, targets, since)
						s.mu.Unlock()
					}
					if len(targets) > 0 {
						opts := s.probeOptions(settings, b.plan)
						opts.Concurrency = l.concurrency
						s.probeBatch(ctx, targets, opts, b.plan)
					}
				}
			}()
		}
		wg.Wait()
		s.mu.Lock()
		g.lastCycle = s.clock.Now().Sub(start)
		s.mu.Unlock()
	}()
}

// batch is the targets of one plan in a cycle: one probe run.
type batch struct {
	plan    plan
	targets []*target
}

// lane runs its batches one after the other, with its share of the
// group's concurrency.
type lane struct {
	concurrency int
	batches     []batch
}

// planLanes spreads a cycle's non-empty batches over lanes that run side
// by side: one lane per batch while the concurrency bound allows, else as
// many lanes as the bound (the batches taking turns). The bound is shared
// out so that the lanes together never exceed it: every lane gets one,
// and the rest goes by what each lane can use (its targets, up to the
// bound), so a small batch next to a large one still gets more than one.
func planLanes(batches [numPlans][]*target, concurrency int) []lane {
	var bs []batch
	for p, ts := range batches {
		if len(ts) > 0 {
			bs = append(bs, batch{plan: plan(p), targets: ts})
		}
	}
	if len(bs) == 0 {
		return nil
	}
	concurrency = max(concurrency, 1)
	lanes := make([]lane, min(len(bs), concurrency))
	for i, b := range bs {
		l := &lanes[i%len(lanes)]
		l.batches = append(l.batches, b)
	}
	demand := make([]int, len(lanes))
	total, extra := 0, 0
	for i, l := range lanes {
		n := 0
		for _, b := range l.batches {
			n += len(b.targets)
		}
		demand[i] = min(n, concurrency)
		total += demand[i]
		extra += demand[i] - 1
	}
	if total <= concurrency {
		for i := range lanes {
			lanes[i].concurrency = demand[i]
		}
		return lanes
	}
	spare, left := concurrency-len(lanes), concurrency
	for i := range lanes {
		lanes[i].concurrency = 1 + spare*(demand[i]-1)/extra
		left -= lanes[i].concurrency
	}
	for i := 0; left > 0; i = (i + 1) % len(lanes) { // what rounding down left over
		if lanes[i].concurrency < demand[i] {
			lanes[i].concurrency++
			left--
		}
	}
	return lanes
}

// claimLaterLocked claims the targets of a batch that starts after its
// cycle did: those still in the group, not busy (a busy one is skipped
// and counted), and not claimed since the cycle began (since: s.claims
// then), which a later cycle or a /probe request has probed already.
func (s *Server) claimLaterLocked(g *group, ts []*target, since uint64) []*target {
	out := ts[:0:0]
	for _, t := range ts {
		switch {
		case s.byKey[t.key] != t || t.claimed > since:
		case t.busy:
			g.skipped++
		default:
			s.claimLocked(t)
			out = append(out, t)
		}
	}
	return out
}

// claimLocked marks t busy.
func (s *Server) claimLocked(t *target) {
	s.claims++
	t.busy, t.claimed = true, s.claims
	t.done = make(chan struct{})
}

// releaseLocked marks t idle and wakes whoever waits for its probe.
func (s *Server) releaseLocked(t *target) {
	if t.busy {
		t.busy = false
		close(t.done)
	}
}

// probeOptions are the probe options of a group's settings under plan p.
func (s *Server) probeOptions(st Settings, p plan) probe.Options {
	o := s.opts.Probe
	o.URL, o.Count, o.Timeout, o.Concurrency = st.URL, st.Count, st.Timeout, st.Concurrency
	o.Skew = p == planMeasure
	if p == planRecheck {
		o.SkewSearch.Range = recheckRange
	}
	o.OnResult = nil
	return o
}

// probeBatch probes batch (all claimed) and records each result as it
// comes. Targets without a result (the run was cancelled) are released.
func (s *Server) probeBatch(ctx context.Context, batch []*target, opts probe.Options, p plan) {
	targets := make([]probe.Target, len(batch))
	for i, t := range batch {
		targets[i] = t.probe
	}
	got := make([]bool, len(batch))
	opts.OnResult = func(r probe.Result) {
		if r.Index < 0 || r.Index >= len(batch) || got[r.Index] {
			return
		}
		got[r.Index] = true
		s.record(batch[r.Index], r, p != planRecheck)
	}
	if _, err := s.run(ctx, targets, opts); err != nil {
		s.log.Error("probe run refused its options", "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range batch {
		if !got[i] {
			s.releaseLocked(t)
		}
	}
}

// record stores a result of t and publishes it. fullSearch tells whether a
// clock search in this probe could look its full range.
func (s *Server) record(t *target, r probe.Result, fullSearch bool) {
	now := s.clock.Now()
	r.Index = 0
	s.mu.Lock()
	before := t.verdict()
	t.has, t.last, t.lastAt = true, r, now
	t.samples += uint64(max(r.Samples, 0))
	t.lost += uint64(max(r.Lost, 0))
	if r.Timings != nil {
		for i, v := range phaseValues(r.Timings) {
			if v == v { // not NaN: the phase happened
				t.phases[i].observe(v)
			}
		}
	}
	lat := 0.0
	if r.OK && r.Latency != nil {
		lat = float64(r.Latency.Median)
	}
	t.history.add(now, r.OK, lat)
	after := t.verdict()
	switch {
	case r.Skew != nil:
		t.hasOffset, t.offset, t.uncertainty, t.offsetAt = true, r.Skew.OffsetS, r.Skew.UncertaintyS, now
	case before != "" && before != after:
		// The server changed (a clock fixed, a restart, another host behind
		// the name): the offset measured before describes what is gone.
		// Drop it, and measure a working server again at its next probe.
		t.hasOffset, t.offsetAt, t.searchedAt = false, time.Time{}, time.Time{}
	}
	if fullSearch && (r.Skew != nil || (r.Error != nil && r.Error.Kind == probe.KindAuthRejected)) {
		t.searchedAt = now
	}
	s.releaseLocked(t)
	ev := s.eventLocked(t)
	name, group := t.name, t.group.Name
	s.mu.Unlock()

	s.events.publish(ev)
	if before != after {
		attrs := []any{"group", group, "name", name, "verdict", after}
		if before != "" {
			attrs = append(attrs, "was", before)
		}
		if r.Error != nil {
			s.log.Warn("verdict changed", append(attrs, "message", r.Error.Message)...)
		} else {
			s.log.Info("verdict changed", attrs...)
		}
	}
	s.log.Debug("probed", "group", group, "name", name, "verdict", after, "latency_ms", lat)
}
