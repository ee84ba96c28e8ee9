package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

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

// collector exports the exporter's own state at every scrape; the targets'
// series come from gatherTargets.
type collector struct{ s *Server }

// Describe sends nothing: the label names follow the config, so the
// collector is unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	subs, dropped := s.events.stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		group := labelValue(g.Name)
		ch <- constMetric(descTargets, prometheus.GaugeValue, float64(len(g.targets)), group)
		ch <- constMetric(descInvalid, prometheus.GaugeValue, float64(g.invalid), group)
		ch <- constMetric(descCycles, prometheus.CounterValue, float64(g.cycles), group)
		ch <- constMetric(descSkipped, prometheus.CounterValue, float64(g.skipped), group)
		if g.lastCycle > 0 {
			ch <- constMetric(descCycleTime, prometheus.GaugeValue, g.lastCycle.Seconds(), group)
		}
	}
	ch <- constMetric(descReloads, prometheus.CounterValue, float64(s.stats.reloadsOK), "success")
	ch <- constMetric(descReloads, prometheus.CounterValue, float64(s.stats.reloadsFailed), "failure")
	ok := 0.0
	if s.stats.lastReloadOK {
		ok = 1
	}
	ch <- constMetric(descReloadOK, prometheus.GaugeValue, ok)
	ch <- constMetric(descReloadAt, prometheus.GaugeValue, float64(s.stats.lastReloadOKAt.Unix()))
	for _, res := range probeRequestResults {
		ch <- constMetric(descProbeRequests, prometheus.CounterValue, float64(s.stats.probeRequests[res]), res)
	}
	ch <- constMetric(descSubscribers, prometheus.GaugeValue, float64(subs))
	ch <- constMetric(descDropped, prometheus.CounterValue, float64(dropped))
}

// constMetric is prometheus.NewConstMetric that never panics: a value it
// refuses becomes an invalid metric, which the handler reports as an
// error instead of a panic in the middle of a request.
func constMetric(d *prometheus.Desc, typ prometheus.ValueType, v float64, labelValues ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, typ, v, labelValues...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
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
	return promhttp.InstrumentMetricHandler(s.reg, promhttp.HandlerFor(prometheus.GathererFunc(s.gather), promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{s},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: false,
	}))
}

// slogPrinter gives promhttp's errors to the structured log.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("metrics", "err", v) }
