package serve

import (
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// targetLabels are the labels of every per-target series, before the
// config's extra labels. Never the user id.
var targetLabels = []string{"name", "server", "transport", "group"}

// targetDescs describe the per-target series for one set of extra label
// names (they change only when a reload changes the label names).
type targetDescs struct {
	success, verdict, latency   *prometheus.Desc
	offset, uncertainty, lastAt *prometheus.Desc
	samples, lost               *prometheus.Desc
	phases                      [numPhases]*prometheus.Desc
}

func newTargetDescs(extra []string) *targetDescs {
	labels := append(slices.Clone(targetLabels), extra...)
	d := func(name, help string, more ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(slices.Clone(labels), more...), nil)
	}
	td := &targetDescs{
		success:     d("xvm_probe_success", "1 if the last probe of the server succeeded (the server accepted us and the URL answered), else 0."),
		verdict:     d("xvm_probe_verdict", "1 for the kind of the last probe's verdict (ok or why it failed), 0 for the other kinds.", "kind"),
		latency:     d("xvm_probe_latency_seconds", "Median total time of the last probe's successful samples; absent when it failed."),
		offset:      d("xvm_probe_clock_offset_seconds", "The server's clock minus ours at the last measurement (> 0: the server is ahead)."),
		uncertainty: d("xvm_probe_clock_offset_uncertainty_seconds", "The true clock offset is within xvm_probe_clock_offset_seconds plus or minus this."),
		lastAt:      d("xvm_probe_last_timestamp_seconds", "Unix time when the last probe of the server finished."),
		samples:     d("xvm_probe_samples_total", "Requests made through the server by probes."),
		lost:        d("xvm_probe_samples_lost_total", "Requests through the server that failed."),
	}
	for i, p := range phaseNames {
		td.phases[i] = d("xvm_probe_"+p+"_seconds", "Time of the "+p+" phase of each probe's representative sample.")
	}
	return td
}

// The exporter's own series.
var (
	descTargets       = prometheus.NewDesc("xvm_serve_targets", "Targets of the group.", []string{"group"}, nil)
	descInvalid       = prometheus.NewDesc("xvm_serve_invalid_entries", "Entries of the group's sources that could not be probed at the last load.", []string{"group"}, nil)
	descCycles        = prometheus.NewDesc("xvm_serve_cycles_total", "Probe cycles started for the group.", []string{"group"}, nil)
	descSkipped       = prometheus.NewDesc("xvm_serve_probes_skipped_total", "Probes not started because the target's previous probe was still running.", []string{"group"}, nil)
	descCycleTime     = prometheus.NewDesc("xvm_serve_last_cycle_duration_seconds", "How long the group's last finished cycle took.", []string{"group"}, nil)
	descReloads       = prometheus.NewDesc("xvm_serve_config_reloads_total", "Loads of the config and sources, by result.", []string{"result"}, nil)
	descReloadOK      = prometheus.NewDesc("xvm_serve_config_last_reload_successful", "1 if the last load of the config and sources succeeded.", nil, nil)
	descReloadAt      = prometheus.NewDesc("xvm_serve_config_last_reload_success_timestamp_seconds", "Unix time of the last successful load.", nil, nil)
	descProbeRequests = prometheus.NewDesc("xvm_serve_probe_requests_total", "Requests to /probe, by result.", []string{"result"}, nil)
	descSubscribers   = prometheus.NewDesc("xvm_serve_event_streams", "Open /events streams.", nil, nil)
	descDropped       = prometheus.NewDesc("xvm_serve_events_dropped_total", "Events not sent to a stream that did not keep up.", nil, nil)
)

// collector exports the server's state at every scrape.
type collector struct{ s *Server }

// Describe sends nothing: the label names follow the config, so the
// collector is unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	subs, dropped := s.events.stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.descs
	values := make([]string, 0, len(targetLabels)+len(s.labelKeys)+1)
	for _, g := range s.groups {
		group := g.Name
		ch <- prometheus.MustNewConstMetric(descTargets, prometheus.GaugeValue, float64(len(g.targets)), group)
		ch <- prometheus.MustNewConstMetric(descInvalid, prometheus.GaugeValue, float64(g.invalid), group)
		ch <- prometheus.MustNewConstMetric(descCycles, prometheus.CounterValue, float64(g.cycles), group)
		ch <- prometheus.MustNewConstMetric(descSkipped, prometheus.CounterValue, float64(g.skipped), group)
		if g.lastCycle > 0 {
			ch <- prometheus.MustNewConstMetric(descCycleTime, prometheus.GaugeValue, g.lastCycle.Seconds(), group)
		}
		for _, t := range g.targets {
			if !t.has {
				continue
			}
			values = append(values[:0], t.name, t.server, t.transport, group)
			for _, k := range s.labelKeys {
				values = append(values, g.Settings.Labels[k])
			}
			success := 0.0
			if t.last.OK {
				success = 1
			}
			ch <- prometheus.MustNewConstMetric(d.success, prometheus.GaugeValue, success, values...)
			verdict := t.verdict()
			known := false
			for _, k := range knownVerdicts {
				v := 0.0
				if k == verdict {
					v, known = 1, true
				}
				ch <- prometheus.MustNewConstMetric(d.verdict, prometheus.GaugeValue, v, append(values, k)...)
			}
			if !known {
				// A kind newer than this list still shows, as itself.
				ch <- prometheus.MustNewConstMetric(d.verdict, prometheus.GaugeValue, 1, append(values, verdict)...)
			}
			if t.last.OK && t.last.Latency != nil {
				ch <- prometheus.MustNewConstMetric(d.latency, prometheus.GaugeValue, float64(t.last.Latency.Median)/1000, values...)
			}
			if t.hasOffset {
				ch <- prometheus.MustNewConstMetric(d.offset, prometheus.GaugeValue, t.offset, values...)
				ch <- prometheus.MustNewConstMetric(d.uncertainty, prometheus.GaugeValue, t.uncertainty, values...)
			}
			ch <- prometheus.MustNewConstMetric(d.lastAt, prometheus.GaugeValue, float64(t.lastAt.UnixMilli())/1000, values...)
			ch <- prometheus.MustNewConstMetric(d.samples, prometheus.CounterValue, float64(t.samples), values...)
			ch <- prometheus.MustNewConstMetric(d.lost, prometheus.CounterValue, float64(t.lost), values...)
			for i := range t.phases {
				h := &t.phases[i]
				if h.count == 0 {
					continue // a phase this server never has (TLS without TLS, …)
				}
				// A map per histogram: the registry reads it after Collect
				// has moved on.
				buckets := make(map[float64]uint64, len(bucketBounds))
				var cum uint64
				for j, b := range bucketBounds {
					cum += h.buckets[j]
					buckets[b] = cum
				}
				ch <- prometheus.MustNewConstHistogram(d.phases[i], h.count, h.sum, buckets, values...)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(s.stats.reloadsOK), "success")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(s.stats.reloadsFailed), "failure")
	ok := 0.0
	if s.stats.lastReloadOK {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(descReloadOK, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(descReloadAt, prometheus.GaugeValue, float64(s.stats.lastReloadOKAt.Unix()))
	for _, res := range probeRequestResults {
		ch <- prometheus.MustNewConstMetric(descProbeRequests, prometheus.CounterValue, float64(s.stats.probeRequests[res]), res)
	}
	ch <- prometheus.MustNewConstMetric(descSubscribers, prometheus.GaugeValue, float64(subs))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(dropped))
}

// newRegistry is the /metrics registry: the targets, the exporter's own
// series, and the Go runtime's and process's.
func (s *Server) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "xvm_serve_build_info",
			Help:        "Always 1; the version label is xvm's version.",
			ConstLabels: prometheus.Labels{"version": s.opts.Version},
		}, func() float64 { return 1 }),
	)
	return reg
}

// metricsHandler serves the registry, counting its own scrapes.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.InstrumentMetricHandler(s.reg, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{s},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: false,
	}))
}

// slogPrinter gives promhttp's errors to the structured log.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("metrics", "err", v) }
