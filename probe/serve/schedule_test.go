package serve

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe"
)

// gatedRun is a prober whose probes block until the test opens their
// target's gate. It records how many probes of each target run at once.
type gatedRun struct {
	mu      sync.Mutex
	gates   map[string]chan struct{}
	active  map[string]int
	worst   int // most probes of one target at once
	started map[string]int
}

func newGatedRun() *gatedRun {
	return &gatedRun{gates: map[string]chan struct{}{}, active: map[string]int{}, started: map[string]int{}}
}

func (g *gatedRun) gate(name string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := g.gates[name]
	if ch == nil {
		ch = make(chan struct{})
		g.gates[name] = ch
	}
	return ch
}

// open lets the running and future probes of name finish.
func (g *gatedRun) open(name string) { close(g.gate(name)) }

func (g *gatedRun) run(ctx context.Context, targets []probe.Target, opts probe.Options) ([]probe.Result, error) {
	var (
		wg   sync.WaitGroup
		emit sync.Mutex
	)
	rng := mrand.New(mrand.NewPCG(1, 1))
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.mu.Lock()
			g.active[t.Name]++
			g.started[t.Name]++
			g.worst = max(g.worst, g.active[t.Name])
			g.mu.Unlock()
			defer func() {
				g.mu.Lock()
				g.active[t.Name]--
				g.mu.Unlock()
			}()
			select {
			case <-g.gate(t.Name):
			case <-ctx.Done():
				return
			}
			emit.Lock()
			defer emit.Unlock()
			opts.OnResult(fakeResult(i, t, rng))
		}()
	}
	wg.Wait()
	return nil, nil
}

// TestCycleSkipsBusyTargets: a cycle that comes while a target's probe
// still runs skips that target (and counts it) and probes the others.
func TestCycleSkipsBusyTargets(t *testing.T) {
	dir := t.TempDir()
	g := newGatedRun()
	s, clock := newTestServer(t, Options{Sources: []string{writeLinks(t, dir, "links.txt", 3)}, Run: g.run})
	ctx := context.Background()
	g.open("s1")
	g.open("s2")
	now := clock.Now()
	s.dispatch(ctx, now) // the first cycle is due at once (within the jitter)
	s.dispatch(ctx, clock.add(2*time.Second))
	waitFor(t, "s1 and s2 to finish", func() bool { return hasResult(s, "s1") && hasResult(s, "s2") })

	// Three more intervals: s0 is still busy every time.
	for range 3 {
		s.dispatch(ctx, clock.add(40*time.Second))
		waitFor(t, "the cycle's probes to finish", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return !targetByName0(s, "s1").busy && !targetByName0(s, "s2").busy
		})
	}
	g.open("s0")
	s.cycles.Wait()

	s.mu.Lock()
	grp := s.groups[0]
	cycles, skipped := grp.cycles, grp.skipped
	s.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.worst != 1 {
		t.Errorf("up to %d probes of one target ran at once, want 1", g.worst)
	}
	if cycles != 4 || skipped != 3 || g.started["s0"] != 1 || g.started["s1"] != 4 {
		t.Errorf("cycles %d, skipped %d, s0 started %d, s1 started %d; want 4, 3, 1, 4", cycles, skipped, g.started["s0"], g.started["s1"])
	}
}

// TestNoOverlapUnderPressure: cycles come faster than probes finish, and
// /probe asks for the same targets meanwhile; no target is ever probed
// twice at once, and every request gets an answer.
func TestNoOverlapUnderPressure(t *testing.T) {
	dir := t.TempDir()
	var (
		mu     sync.Mutex
		active = map[string]int{}
		worst  int
		probes atomic.Int64
	)
	rng := mrand.New(mrand.NewPCG(3, 3))
	var rngMu sync.Mutex
	run := func(ctx context.Context, targets []probe.Target, opts probe.Options) ([]probe.Result, error) {
		var wg sync.WaitGroup
		var emit sync.Mutex
		for i, tg := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				active[tg.Name]++
				worst = max(worst, active[tg.Name])
				mu.Unlock()
				rngMu.Lock()
				d := time.Duration(rng.IntN(3000)) * time.Microsecond
				r := fakeResult(i, tg, rng)
				rngMu.Unlock()
				time.Sleep(d)
				mu.Lock()
				active[tg.Name]--
				mu.Unlock()
				probes.Add(1)
				emit.Lock()
				opts.OnResult(r)
				emit.Unlock()
			}()
		}
		wg.Wait()
		return nil, nil
	}
	s, clock := newTestServer(t, Options{Sources: []string{writeLinks(t, dir, "links.txt", 20)}, Run: run})
	h := s.Handler()
	ctx := context.Background()
	var reqs sync.WaitGroup
	for i := range 200 {
		// A tenth of an interval per step: most cycles find busy targets.
		s.dispatch(ctx, clock.add(3*time.Second+time.Duration(i%7)*time.Second))
		if i%10 == 0 {
			reqs.Add(1)
			go func() {
				defer reqs.Done()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("/probe?target=s%d", i%20), nil))
				if rec.Code != http.StatusOK {
					t.Errorf("/probe answered %d: %s", rec.Code, rec.Body)
				}
			}()
		}
		time.Sleep(200 * time.Microsecond)
	}
	reqs.Wait()
	s.cycles.Wait()
	mu.Lock()
	defer mu.Unlock()
	if worst != 1 {
		t.Fatalf("up to %d probes of one target ran at once, want 1", worst)
	}
	if probes.Load() < 20 {
		t.Fatalf("only %d probes ran", probes.Load())
	}
}

// TestMemoryFlat: 1,000 cycles of 100 targets, with scrapes and page
// renders between them, leave the heap where it was after the first 100:
// history, histograms and counters live in fixed-size storage.
func TestMemoryFlat(t *testing.T) {
	dir := t.TempDir()
	s, clock := newTestServer(t, Options{Sources: []string{writeLinks(t, dir, "links.txt", 100)}})
	h := s.Handler()
	ctx := context.Background()
	cycle := func(i int) {
		s.dispatch(ctx, clock.add(31*time.Second))
		s.cycles.Wait()
		if i%50 == 0 {
			for _, path := range []string{"/metrics", "/"} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != 200 {
					t.Fatalf("%s: %d", path, rec.Code)
				}
				io.Copy(io.Discard, rec.Body)
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for i := range 100 {
		cycle(i)
	}
	before, goroutines := heap(), runtime.NumGoroutine()
	for i := 100; i < 1000; i++ {
		cycle(i)
	}
	after := heap()
	s.mu.Lock()
	cycles := s.groups[0].cycles
	results := targetByName0(s, "s0").samples
	s.mu.Unlock()
	if cycles < 990 || results < 990*3 {
		t.Fatalf("%d cycles, %d samples of s0: the schedule did not run", cycles, results)
	}
	t.Logf("heap after 100 cycles %d KiB, after 1000 %d KiB", before>>10, after>>10)
	// A leak of one small object per target and cycle would be 90,000
	// objects, several MiB; allow noise well below that.
	if after > before+512<<10 {
		t.Errorf("heap grew from %d KiB to %d KiB over 900 cycles", before>>10, after>>10)
	}
	if g := runtime.NumGoroutine(); g > goroutines+5 {
		t.Errorf("goroutines grew from %d to %d", goroutines, g)
	}
}

// TestReloadKeepsResults: a reload that changes the group's interval and
// adds a server keeps the results, counters and history of the servers
// that stayed, drops the one removed, and probes the new one soon.
func TestReloadKeepsResults(t *testing.T) {
	dir := t.TempDir()
	links := writeLinks(t, dir, "links.txt", 3)
	cfg := filepath.Join(dir, "serve.yaml")
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("groups:\n  - name: a\n    interval: 30s\n    targets: [links.txt]\n")
	s, clock := newTestServer(t, Options{ConfigFile: cfg})
	ctx := context.Background()
	for range 3 {
		s.dispatch(ctx, clock.add(31*time.Second))
		s.cycles.Wait()
	}
	s.mu.Lock()
	kept := targetByName0(s, "s0")
	samples, lastAt := kept.samples, kept.lastAt
	s.mu.Unlock()

	// s2 goes, s9 comes, the interval changes.
	data, _ := os.ReadFile(links)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	os.WriteFile(links, []byte(lines[0]+"\n"+lines[1]+"\n"+v2rayNLink("s9", "127.0.0.1", 20009, fakeID(9), "tcp", nil)+"\n"), 0o644)
	write("groups:\n  - name: a\n    interval: 1m\n    labels: {region: eu}\n    targets: [links.txt]\n")
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	after := targetByName0(s, "s0")
	if after != kept || after.samples != samples || !after.lastAt.Equal(lastAt) {
		t.Errorf("s0 lost its results across the reload: %d samples, want %d", after.samples, samples)
	}
	if targetByName0(s, "s2") != nil {
		t.Error("s2 is still watched after it left the file")
	}
	s9 := targetByName0(s, "s9")
	g := s.groups[0]
	if s9 == nil || s9.has || g.Settings.Interval != time.Minute || g.Settings.Labels["region"] != "eu" {
		t.Fatalf("after reload: s9 %v, interval %s, labels %v", s9, g.Settings.Interval, g.Settings.Labels)
	}
	firstAt := g.next
	s.mu.Unlock()
	if wait := firstAt.Sub(clock.Now()); wait > 6*time.Second {
		t.Errorf("the new server's first probe is %s away, want within the jitter", wait)
	}
	s.dispatch(ctx, clock.add(6*time.Second))
	s.cycles.Wait()
	if !hasResult(s, "s9") {
		t.Error("s9 was not probed in the first cycle after the reload")
	}

	// A broken config changes nothing.
	write("groups:\n  - name: a\n    interval: soon\n    targets: [links.txt]\n")
	if err := s.Reload(ctx); err == nil {
		t.Fatal("a broken config reloaded")
	}
	if targetByName(s, "s9") == nil || targetByName(s, "s0") != kept {
		t.Error("a failed reload changed the targets")
	}
}

// TestWatchReloadsOnChange: with the real clock, editing the config file
// reloads it without a signal.
func TestWatchReloadsOnChange(t *testing.T) {
	dir := t.TempDir()
	writeLinks(t, dir, "links.txt", 2)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("groups:\n  - name: a\n    targets: [links.txt]\n"), 0o644)
	s, err := New(context.Background(), Options{Defaults: DefaultSettings(), ConfigFile: cfg, Run: instantRun(1), WatchEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.watch(ctx)
	os.WriteFile(cfg, []byte("groups:\n  - name: a\n    targets: [links.txt]\n  - name: b\n    targets: [links.txt]\n"), 0o644)
	waitFor(t, "the watcher to load group b", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.groups) == 2 && len(s.byKey) == 4
	})
}

func TestJitterStaysWithinFivePercent(t *testing.T) {
	s, _ := newTestServer(t, Options{Sources: []string{writeLinks(t, t.TempDir(), "l.txt", 1)}})
	s.mu.Lock()
	defer s.mu.Unlock()
	lo, hi := time.Duration(0), time.Duration(0)
	for range 10000 {
		j := s.jitterLocked(30 * time.Second)
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo < -1500*time.Millisecond || hi > 1500*time.Millisecond || lo > -1400*time.Millisecond || hi < 1400*time.Millisecond {
		t.Fatalf("jitter ranged %s to %s, want about ±1.5s", lo, hi)
	}
}

// targetByName finds a target by its name label (locking).
func targetByName(s *Server, name string) *target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return targetByName0(s, name)
}

// hasResult reports whether the target named name has a result.
func hasResult(s *Server, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := targetByName0(s, name)
	return t != nil && t.has
}

// targetByName0 is targetByName under s.mu.
func targetByName0(s *Server, name string) *target {
	for _, g := range s.groups {
		for _, t := range g.targets {
			if t.name == name {
				return t
			}
		}
	}
	return nil
}

// waitFor polls cond until it holds; the bound only catches hangs.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSubscriptionsRefetched: subscription URLs are fetched again every
// RefreshEvery, and what they list now is what is watched.
func TestSubscriptionsRefetched(t *testing.T) {
	var (
		mu      sync.Mutex
		fetches int
	)
	fetch := func(ctx context.Context, u string, max int64) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		var b strings.Builder
		for i := range min(fetches, 5) { // the provider adds a server each time
			b.WriteString(v2rayNLink(fmt.Sprintf("s%d", i), "127.0.0.1", 20000+i, fakeID(i), "tcp", nil) + "\n")
		}
		return []byte(b.String()), nil
	}
	s, err := New(context.Background(), Options{Defaults: DefaultSettings(), Sources: []string{"https://sub.example/s?token=x"}, Fetch: fetch,
		Run: instantRun(1), WatchEvery: 5 * time.Millisecond, RefreshEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.byKey); n != 1 {
		t.Fatalf("%d targets after the first fetch, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.watch(ctx)
	waitFor(t, "three more fetches", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.byKey) >= 4
	})
}

// scriptedRun is a prober that answers each target with the next result
// its script holds for the target's name (the last one again when the
// script runs out), and records each probe's options.
type scriptedRun struct {
	mu     sync.Mutex
	script map[string][]probe.Result
	opts   map[string][]probe.Options
	// hold makes the probes of a name wait until its channel is closed.
	hold map[string]chan struct{}
}

func (sr *scriptedRun) run(ctx context.Context, targets []probe.Target, opts probe.Options) ([]probe.Result, error) {
	var out []probe.Result
	for i, t := range targets {
		sr.mu.Lock()
		hold := sr.hold[t.Name]
		sr.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
				return out, nil
			}
		}
		sr.mu.Lock()
		q := sr.script[t.Name]
		r := q[0]
		if len(q) > 1 {
			sr.script[t.Name] = q[1:]
		}
		if sr.opts == nil {
			sr.opts = map[string][]probe.Options{}
		}
		sr.opts[t.Name] = append(sr.opts[t.Name], opts)
		sr.mu.Unlock()
		r.Index, r.Name = i, t.Name
		opts.OnResult(r)
		out = append(out, r)
	}
	return out, nil
}

// TestOffsetDroppedWhenVerdictChanges: a server 200 s behind (clock_skew,
// offset measured) whose clock gets fixed (ok, nothing measured) no
// longer exports the old offset, even when working servers are never
// measured (skew_every 0); with skew_every on, it is measured again at
// its next probe. The offset's series carry when it was measured.
func TestOffsetDroppedWhenVerdictChanges(t *testing.T) {
	skewed := probe.Result{Error: &probe.Failure{Kind: probe.KindClockSkew, Message: "behind"}, Skew: &probe.Skew{OffsetS: -200, UncertaintyS: 0.5}, Samples: 1, Lost: 1}
	ok := probe.Result{OK: true, Samples: 1, Latency: &probe.Latency{Median: 20}}
	measured := ok
	measured.Skew = &probe.Skew{OffsetS: 0.2, UncertaintyS: 0.1}
	for _, tt := range []struct {
		name      string
		skewEvery time.Duration
		script    []probe.Result
		// after the fix: the offset series, and whether the third probe
		// measured the clock
		wantOffset  string
		wantMeasure bool
	}{
		{"never measured", 0, []probe.Result{skewed, ok, ok}, "", false},
		{"measured again", 10 * time.Minute, []probe.Result{skewed, ok, measured}, "xvm_probe_clock_offset_seconds{group=\"default\",name=\"s0\",server=\"127.0.0.1:20000\",transport=\"raw\"} 0.2", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sr := &scriptedRun{script: map[string][]probe.Result{"s0": tt.script}}
			defaults := DefaultSettings()
			defaults.SkewEvery = tt.skewEvery
			s, clock := newTestServer(t, Options{Defaults: defaults, Sources: []string{writeLinks(t, t.TempDir(), "l.txt", 1)}, Run: sr.run})
			ctx := context.Background()
			cycle := func() string {
				s.dispatch(ctx, clock.add(31*time.Second))
				s.cycles.Wait()
				return get(t, s.Handler(), "/metrics").Body.String()
			}
			first := cycle()
			measuredAt := clock.Now()
			at, found := seriesValue(first, "xvm_probe_clock_offset_timestamp_seconds")
			if !strings.Contains(first, "xvm_probe_clock_offset_seconds{") || !found || at != float64(measuredAt.Unix()) {
				t.Fatalf("no offset, or not its time, after the clock_skew result:\n%s", grepLines(first, "clock_offset"))
			}
			fixed := cycle()
			if strings.Contains(fixed, "xvm_probe_clock_offset") {
				t.Errorf("the offset of the clock_skew verdict is still exported after the server works:\n%s", grepLines(fixed, "clock_offset"))
			}
			third := cycle()
			if tt.wantOffset != "" && !strings.Contains(third, tt.wantOffset) {
				t.Errorf("after the third probe, want %s:\n%s", tt.wantOffset, grepLines(third, "clock_offset"))
			}
			sr.mu.Lock()
			defer sr.mu.Unlock()
			if got := sr.opts["s0"][2].Skew; got != tt.wantMeasure {
				t.Errorf("the probe after the fix measured the clock: %v, want %v", got, tt.wantMeasure)
			}
		})
	}
}

// grepLines are the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// seriesValue is the value of the first series of family in an
// exposition, and whether there is one.
func seriesValue(body, family string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, family+"{") || strings.HasPrefix(l, family+" ") {
			v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// probes is how many times the target named name was probed.
func (sr *scriptedRun) probes(name string) int {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return len(sr.opts[name])
}

// TestSlowBatchDoesNotStarveOthers: a server whose probe hangs (its batch,
// plain probes, does not end) does not keep a healthy server of another
// batch (an offset measurement) from being probed every cycle: with room
// for both batches at once, from the cycle the hang starts; with a bound
// of one, from the next cycle on, and the hung cycle does not probe it
// again late.
func TestSlowBatchDoesNotStarveOthers(t *testing.T) {
	for _, tt := range []struct {
		name        string
		concurrency int
		// probes of "healthy" after each of cycles 2, 3, 4 (the first
		// cycle probed it once)
		want [3]int
	}{
		{"side by side", 32, [3]int{2, 3, 4}},
		{"bound of one", 1, [3]int{1, 2, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "l.txt")
			os.WriteFile(path, []byte(v2rayNLink("slow", "127.0.0.1", 20001, fakeID(1), "tcp", nil)+"\n"+v2rayNLink("healthy", "127.0.0.1", 20000, fakeID(0), "tcp", nil)+"\n"), 0o644)
			sr := &scriptedRun{script: map[string][]probe.Result{
				"slow":    {{Error: &probe.Failure{Kind: probe.KindRefused, Message: "refused"}}},
				"healthy": {{OK: true, Samples: 1, Latency: &probe.Latency{Median: 10}}},
			}}
			defaults := DefaultSettings()
			defaults.Concurrency = tt.concurrency
			s, clock := newTestServer(t, Options{Defaults: defaults, Sources: []string{path}, Run: sr.run})
			ctx := context.Background()
			s.dispatch(ctx, clock.add(time.Minute))
			s.cycles.Wait()
			// From now on the plain probe of "slow" hangs; "healthy" is due
			// for an offset measurement, another batch.
			release := make(chan struct{})
			sr.mu.Lock()
			sr.hold = map[string]chan struct{}{"slow": release}
			sr.mu.Unlock()
			for i, want := range tt.want {
				s.dispatch(ctx, clock.add(31*time.Second))
				waitFor(t, fmt.Sprintf("probe %d of healthy (cycle %d)", want, i+2), func() bool { return sr.probes("healthy") >= want })
			}
			close(release)
			s.cycles.Wait()
			if got := sr.probes("healthy"); got != tt.want[2] {
				t.Errorf("healthy was probed %d times, want %d: a late batch probed it again", got, tt.want[2])
			}
			if got := sr.probes("slow"); got != 2 {
				t.Errorf("slow was probed %d times, want 2 (the later cycles skip it)", got)
			}
		})
	}
}

func TestPlanLanes(t *testing.T) {
	ts := func(n int) []*target { return make([]*target, n) }
	type laneSpec struct {
		concurrency int
		plans       []plan
	}
	tests := []struct {
		name        string
		sizes       [numPlans]int
		concurrency int
		want        []laneSpec
	}{
		{"nothing", [numPlans]int{}, 32, nil},
		{"one batch", [numPlans]int{100, 0, 0}, 32, []laneSpec{{32, []plan{planPlain}}}},
		{"small batches get what they can use", [numPlans]int{3, 2, 0}, 32, []laneSpec{{3, []plan{planPlain}}, {2, []plan{planMeasure}}}},
		{"the bound is shared", [numPlans]int{1000, 10, 0}, 32, []laneSpec{{25, []plan{planPlain}}, {7, []plan{planMeasure}}}},
		{"three", [numPlans]int{100, 100, 100}, 32, []laneSpec{{11, []plan{planPlain}}, {11, []plan{planMeasure}}, {10, []plan{planRecheck}}}},
		{"bound of one: one lane in turn", [numPlans]int{5, 5, 5}, 1, []laneSpec{{1, []plan{planPlain, planMeasure, planRecheck}}}},
		{"bound of two", [numPlans]int{5, 5, 5}, 2, []laneSpec{{1, []plan{planPlain, planRecheck}}, {1, []plan{planMeasure}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var batches [numPlans][]*target
			for p, n := range tt.sizes {
				batches[p] = ts(n)
			}
			lanes := planLanes(batches, tt.concurrency)
			var got []laneSpec
			sum := 0
			for _, l := range lanes {
				ls := laneSpec{concurrency: l.concurrency}
				for _, b := range l.batches {
					ls.plans = append(ls.plans, b.plan)
				}
				got = append(got, ls)
				sum += l.concurrency
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lanes %+v, want %+v", got, tt.want)
			}
			if sum > tt.concurrency {
				t.Errorf("the lanes' concurrency adds up to %d, over the bound %d", sum, tt.concurrency)
			}
		})
	}
}

// TestRunsAsPoliteAsProbe: every probe run serve makes — a cycle's
// plans and a /probe request — leaves the connection budget, the
// connections open to one server, their spacing and the connect timeout
// to the probe library's defaults, the same as `xvm probe`'s.
func TestRunsAsPoliteAsProbe(t *testing.T) {
	dir := t.TempDir()
	writeLinks(t, dir, "links.txt", 3)
	cfg := filepath.Join(dir, "serve.yaml")
	os.WriteFile(cfg, []byte("groups:\n  - name: a\n    targets: [links.txt]\n"), 0o644)
	var (
		mu   sync.Mutex
		seen []probe.Options
	)
	inner := instantRun(1)
	s, clock := newTestServer(t, Options{ConfigFile: cfg, Run: func(ctx context.Context, targets []probe.Target, opts probe.Options) ([]probe.Result, error) {
		mu.Lock()
		seen = append(seen, opts)
		mu.Unlock()
		return inner(ctx, targets, opts)
	}})
	s.dispatch(context.Background(), clock.add(time.Minute))
	s.cycles.Wait()
	if rec := get(t, s.Handler(), "/probe?target=s0"); rec.Code != 200 {
		t.Fatalf("/probe: %d %s", rec.Code, rec.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("%d probe runs, want a cycle's and /probe's", len(seen))
	}
	for _, o := range seen {
		if o.Budget != 0 || o.PerServer != 0 || o.Spacing != 0 || o.ConnectTimeout != 0 {
			t.Errorf("a run with budget %d, per server %d, spacing %v, connect timeout %v; want probe's defaults (0)", o.Budget, o.PerServer, o.Spacing, o.ConnectTimeout)
		}
	}
}
