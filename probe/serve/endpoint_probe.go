package serve

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xvmtools/xvm/probe"
)

// The result label values of xvm_serve_probe_requests_total.
var probeRequestResults = []string{"success", "failure", "bad_request"}

// scrapeTimeoutMargin is kept back from Prometheus's scrape timeout so the
// answer arrives before Prometheus gives up (blackbox_exporter's default).
const scrapeTimeoutMargin = 500 * time.Millisecond

// handleProbe probes one target on demand and answers with its metrics,
// the blackbox_exporter pattern: Prometheus passes the target (and the
// module) as URL parameters, through relabel_configs.
//
// target is a name from the config (the name label) or, with LinkTargets,
// a share link. module, when given, is the group: it picks a name's group
// and a link's settings; a link without one gets the top-level settings.
// A configured target that is being probed already is not probed twice:
// the request waits for that probe's result.
func (s *Server) handleProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("target")
	name := strings.TrimSpace(raw)
	module := strings.TrimSpace(q.Get("module"))
	bad := func(format string, args ...any) {
		s.countProbeRequest("bad_request")
		http.Error(w, fmt.Sprintf(format, args...), http.StatusBadRequest)
	}
	if name == "" {
		bad("give target=NAME, a name from the config, or target=LINK, a share link")
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
			d := time.Duration(secs*float64(time.Second)) - scrapeTimeoutMargin
			ctx, cancel = context.WithTimeout(ctx, max(d, time.Second))
			defer cancel()
		}
	}

	s.mu.Lock()
	settings := s.topSettings
	if module != "" {
		g := s.groupLocked(module)
		if g == nil {
			s.mu.Unlock()
			bad("module %q is not a group of the config", module)
			return
		}
		settings = g.Settings
	}
	var (
		matches []*target
		labels  probeLabels
	)
	for _, want := range nameCandidates(raw) {
		for _, g := range s.groups {
			if module != "" && g.Name != module {
				continue
			}
			for _, t := range g.targets {
				if t.name == want {
					matches = append(matches, t)
					labels = probeLabels{name: t.name, server: t.server, transport: t.transport, group: labelValue(g.Name)}
				}
			}
		}
		if len(matches) > 0 {
			break
		}
	}
	s.mu.Unlock()

	var (
		res   probe.Result
		ok    bool
		start = time.Now()
	)
	switch {
	case len(matches) > 1:
		bad("%d targets are named %q; add module=GROUP", len(matches), name)
		return
	case len(matches) == 1:
		res, ok = s.probeNamed(ctx, matches[0])
	case sourceKind(name) == sourceLink && s.opts.LinkTargets:
		l, err := s.loader.load(ctx, name)
		if err == nil && len(l.targets) != 1 {
			err = fmt.Errorf("the link gave %d servers; give one link", len(l.targets))
			if len(l.problems) > 0 {
				err = fmt.Errorf("%s", l.problems[0])
			}
		}
		if err != nil {
			bad("%v", err)
			return
		}
		t := &l.targets[0]
		labels = probeLabels{group: labelValue(module)}
		labels.name, labels.server, labels.transport = seriesIdentity(t)
		res, ok = s.probeLink(ctx, t, settings)
	default:
		if sourceKind(name) == sourceLink {
			bad("link targets are turned off; give a name from the config")
		} else {
			bad("no target is named %q%s", name, inModule(module))
		}
		return
	}
	elapsed := time.Since(start)
	if ok && res.OK {
		s.countProbeRequest("success")
	} else {
		s.countProbeRequest("failure")
	}
	if !ok {
		s.log.Warn("on-demand probe did not finish in time", "name", labels.name, "group", labels.group)
	}
	extendWrite(w, s.limits.write) // the probe took its time; the answer gets the usual limit
	reg := prometheus.NewRegistry()
	reg.MustRegister(probeCollector{res: res, finished: ok, labels: labels, elapsed: elapsed})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}}).ServeHTTP(w, r)
}

// nameCandidates are the name labels a /probe target may mean, in the
// order tried: the target as given, as a label value (a name that is not
// UTF-8 or holds control characters is exported escaped, and one over
// MaxLabelValueLen bytes cut), and both again without surrounding spaces.
// So a target can be given as its name in the links or as the name label
// Prometheus shows.
func nameCandidates(target string) []string {
	var out []string
	for _, c := range []string{target, labelValue(target), strings.TrimSpace(target), labelValue(strings.TrimSpace(target))} {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func inModule(m string) string {
	if m == "" {
		return ""
	}
	return fmt.Sprintf(" in group %q", m)
}

func (s *Server) countProbeRequest(result string) {
	s.mu.Lock()
	s.stats.probeRequests[result]++
	s.mu.Unlock()
}

// groupLocked finds a group by name.
func (s *Server) groupLocked(name string) *group {
	for _, g := range s.groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// probeNamed probes a configured target now, or waits for the probe of it
// that is running. ok is false when ctx ended first.
func (s *Server) probeNamed(ctx context.Context, t *target) (probe.Result, bool) {
	asked := s.clock.Now()
	s.mu.Lock()
	if t.busy {
		done := t.done
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return probe.Result{}, false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !t.has || t.lastAt.Before(asked) {
			return probe.Result{}, false // that probe was abandoned
		}
		return t.last, true
	}
	s.claimLocked(t)
	settings := t.group.Settings
	p := planFor(t, settings.SkewEvery, asked)
	s.mu.Unlock()

	if !s.takeTurn(ctx) {
		s.mu.Lock()
		s.releaseLocked(t)
		s.mu.Unlock()
		return probe.Result{}, false
	}
	defer s.endTurn()
	opts := s.probeOptions(settings, p)
	opts.Concurrency = 1
	s.probeBatch(ctx, []*target{t}, opts, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.has || t.lastAt.Before(asked) {
		return probe.Result{}, false
	}
	return t.last, true
}

// probeLink probes a target that is not in the config; nothing of it is
// kept.
func (s *Server) probeLink(ctx context.Context, t *probe.Target, settings Settings) (probe.Result, bool) {
	if !s.takeTurn(ctx) {
		return probe.Result{}, false
	}
	defer s.endTurn()
	opts := s.probeOptions(settings, planPlain)
	opts.Concurrency = 1
	res, err := s.run(ctx, []probe.Target{*t}, opts)
	if err != nil || len(res) != 1 {
		return probe.Result{}, false
	}
	return res[0], true
}

// takeTurn waits for one of the maxOnDemand on-demand slots.
func (s *Server) takeTurn(ctx context.Context) bool {
	select {
	case s.onDemand <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) endTurn() { <-s.onDemand }

// probeLabels identify the target of a /probe answer, in xvm_probe_info.
type probeLabels struct{ name, server, transport, group string }

// probeCollector is the answer of one /probe request. Phase times are
// gauges here (one probe, one value), not the histograms of /metrics.
type probeCollector struct {
	res      probe.Result
	finished bool
	labels   probeLabels
	elapsed  time.Duration
}

var (
	descPSuccess  = prometheus.NewDesc("xvm_probe_success", "1 if the probe succeeded (the server accepted us and the URL answered), else 0.", nil, nil)
	descPVerdict  = prometheus.NewDesc("xvm_probe_verdict", "1 for the kind of the probe's verdict (ok or why it failed), 0 for the other kinds.", []string{"kind"}, nil)
	descPPhase    = prometheus.NewDesc("xvm_probe_phase_seconds", "Time of each phase of the probe's representative sample.", []string{"phase"}, nil)
	descPLatency  = prometheus.NewDesc("xvm_probe_latency_seconds", "Median total time of the probe's successful samples.", nil, nil)
	descPOffset   = prometheus.NewDesc("xvm_probe_clock_offset_seconds", "The server's clock minus ours (> 0: the server is ahead).", nil, nil)
	descPUncert   = prometheus.NewDesc("xvm_probe_clock_offset_uncertainty_seconds", "The true clock offset is within xvm_probe_clock_offset_seconds plus or minus this.", nil, nil)
	descPSamples  = prometheus.NewDesc("xvm_probe_samples", "Requests the probe made through the server.", nil, nil)
	descPLost     = prometheus.NewDesc("xvm_probe_samples_lost", "Requests of the probe that failed.", nil, nil)
	descPDuration = prometheus.NewDesc("xvm_probe_duration_seconds", "How long answering this request took.", nil, nil)
	descPInfo     = prometheus.NewDesc("xvm_probe_info", "Always 1; the labels name the target probed.", targetLabels, nil)
)

func (probeCollector) Describe(chan<- *prometheus.Desc) {}

func (c probeCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.res
	verdict := string(probe.KindTimeout) // the scrape's time ran out first
	if c.finished {
		verdict = verdictOK
		if !r.OK {
			verdict = string(probe.KindProtocol)
			if r.Error != nil {
				verdict = string(r.Error.Kind)
			}
		}
	}
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- constMetric(d, prometheus.GaugeValue, v, lv...)
	}
	success := 0.0
	if c.finished && r.OK {
		success = 1
	}
	gauge(descPSuccess, success)
	known := false
	for _, k := range knownVerdicts {
		v := 0.0
		if k == verdict {
			v, known = 1, true
		}
		gauge(descPVerdict, v, k)
	}
	if !known {
		gauge(descPVerdict, 1, verdict)
	}
	if r.Timings != nil {
		for i, v := range phaseValues(r.Timings) {
			if v == v {
				gauge(descPPhase, v, phaseNames[i])
			}
		}
	}
	if r.OK && r.Latency != nil {
		gauge(descPLatency, float64(r.Latency.Median)/1000)
	}
	if r.Skew != nil {
		gauge(descPOffset, r.Skew.OffsetS)
		gauge(descPUncert, r.Skew.UncertaintyS)
	}
	gauge(descPSamples, float64(r.Samples))
	gauge(descPLost, float64(r.Lost))
	gauge(descPDuration, c.elapsed.Seconds())
	gauge(descPInfo, 1, c.labels.name, c.labels.server, c.labels.transport, c.labels.group)
}
