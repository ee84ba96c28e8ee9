package serve

import (
	"context"
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
// earlier cycle (or a /probe request) in one probe run, so the group gets
// the run's concurrency bound and per-server politeness, as with
// xvm probe. A busy target is skipped, never probed twice at once.
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

// startCycleLocked marks g's idle targets busy and starts probing them.
func (s *Server) startCycleLocked(ctx context.Context, g *group, now time.Time) {
	g.cycles++
	var batches [numPlans][]*target
	for _, t := range g.targets {
		if t.busy {
			g.skipped++
			continue
		}
		s.claimLocked(t)
		p := planFor(t, g.Settings.SkewEvery, now)
		batches[p] = append(batches[p], t)
	}
	settings := g.Settings
	s.cycles.Add(1)
	go func() {
		defer s.cycles.Done()
		start := s.clock.Now()
		// One plan after the other: the group's concurrency bound holds
		// across the cycle.
		for p, batch := range batches {
			if len(batch) > 0 {
				s.probeBatch(ctx, batch, s.probeOptions(settings, plan(p)), plan(p))
			}
		}
		s.mu.Lock()
		g.lastCycle = s.clock.Now().Sub(start)
		s.mu.Unlock()
	}()
}

// claimLocked marks t busy.
func (s *Server) claimLocked(t *target) {
	t.busy = true
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
