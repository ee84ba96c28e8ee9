package serve

import (
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// The per-target series are built straight into client_model's metric
// families rather than through prometheus.Collector and const metrics:
// with 1,000 targets a scrape has some 40,000 series, and the collector
// path (a label-pair slice made and checked per series, then every family
// sorted again) cost as much as the encoding. Here the label pairs of a
// target are made once per load and shared by its series, and series come
// out in a fixed order (group, then target, as loaded).

// targetLabels are the labels of every per-target series, before the
// config's extra labels. Never the user id.
var targetLabels = []string{"name", "server", "transport", "group"}

// familyInfo are a per-target family's name, help and type.
type familyInfo struct {
	name, help string
	typ        dto.MetricType
}

var (
	famSuccess     = familyInfo{"xvm_probe_success", "1 if the last probe of the server succeeded (the server accepted us and the URL answered), else 0.", dto.MetricType_GAUGE}
	famVerdict     = familyInfo{"xvm_probe_verdict", "1 for the kind of the last probe's verdict (ok or why it failed), 0 for the other kinds.", dto.MetricType_GAUGE}
	famLatency     = familyInfo{"xvm_probe_latency_seconds", "Median total time of the last probe's successful samples; absent when it failed.", dto.MetricType_GAUGE}
	famOffset      = familyInfo{"xvm_probe_clock_offset_seconds", "The server's clock minus ours at the last measurement (> 0: the server is ahead).", dto.MetricType_GAUGE}
	famUncertainty = familyInfo{"xvm_probe_clock_offset_uncertainty_seconds", "The true clock offset is within xvm_probe_clock_offset_seconds plus or minus this.", dto.MetricType_GAUGE}
	famOffsetAt    = familyInfo{"xvm_probe_clock_offset_timestamp_seconds", "Unix time when xvm_probe_clock_offset_seconds was measured.", dto.MetricType_GAUGE}
	famLastAt      = familyInfo{"xvm_probe_last_timestamp_seconds", "Unix time when the last probe of the server finished.", dto.MetricType_GAUGE}
	famSamples     = familyInfo{"xvm_probe_samples_total", "Requests made through the server by probes.", dto.MetricType_COUNTER}
	famLost        = familyInfo{"xvm_probe_samples_lost_total", "Requests through the server that failed.", dto.MetricType_COUNTER}
	famPhases      = func() (f [numPhases]familyInfo) {
		for i, p := range phaseNames {
			f[i] = familyInfo{"xvm_probe_" + p + "_seconds", "Time of the " + p + " phase of each probe's representative sample.", dto.MetricType_HISTOGRAM}
		}
		return f
	}()
)

func (f familyInfo) family(capacity int) *dto.MetricFamily {
	typ := f.typ
	return &dto.MetricFamily{Name: proto.String(f.name), Help: proto.String(f.help), Type: &typ, Metric: make([]*dto.Metric, 0, capacity)}
}

// seriesLabels are a target's label pairs, sorted by name: the base set,
// and the base set with each known verdict kind.
type seriesLabels struct {
	base    []*dto.LabelPair
	verdict [][]*dto.LabelPair // by knownVerdicts index
}

// labelTarget builds t's label pairs (under Server.mu, at load): name,
// server, transport, group and every extra label name (empty when t's
// group does not set it). Every value is safe (labelValue): these series
// pass no registry's checks.
func labelTarget(t *target, extra []string) {
	pair := func(k, v string) *dto.LabelPair { return &dto.LabelPair{Name: proto.String(k), Value: proto.String(v)} }
	base := []*dto.LabelPair{pair("name", t.name), pair("server", t.server), pair("transport", t.transport), pair("group", labelValue(t.group.Name))}
	for _, k := range extra {
		base = append(base, pair(k, labelValue(t.group.Settings.Labels[k])))
	}
	byName := func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) }
	slices.SortFunc(base, byName)
	t.labels.base = base
	t.labels.verdict = make([][]*dto.LabelPair, len(knownVerdicts))
	for i, k := range knownVerdicts {
		t.labels.verdict[i] = withLabel(base, pair("kind", k))
	}
}

// withLabel is base with p inserted in name order.
func withLabel(base []*dto.LabelPair, p *dto.LabelPair) []*dto.LabelPair {
	i, _ := slices.BinarySearchFunc(base, p.GetName(), func(e *dto.LabelPair, name string) int { return strings.Compare(e.GetName(), name) })
	return slices.Insert(slices.Clone(base), i, p)
}

// gatherTargets builds the per-target families.
func (s *Server) gatherTargets() []*dto.MetricFamily {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.byKey)
	success, verdict, latency := famSuccess.family(n), famVerdict.family(n*len(knownVerdicts)), famLatency.family(n)
	offset, uncertainty, offsetAt, lastAt := famOffset.family(n), famUncertainty.family(n), famOffsetAt.family(n), famLastAt.family(n)
	samples, lost := famSamples.family(n), famLost.family(n)
	var phases [numPhases]*dto.MetricFamily
	for i := range phases {
		phases[i] = famPhases[i].family(n)
	}
	gauge := func(f *dto.MetricFamily, labels []*dto.LabelPair, v float64) {
		f.Metric = append(f.Metric, &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: proto.Float64(v)}})
	}
	counter := func(f *dto.MetricFamily, labels []*dto.LabelPair, v uint64) {
		f.Metric = append(f.Metric, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: proto.Float64(float64(v))}})
	}
	for _, g := range s.groups {
		for _, t := range g.targets {
			if !t.has {
				continue
			}
			l := t.labels.base
			success.Metric = append(success.Metric, &dto.Metric{Label: l, Gauge: &dto.Gauge{Value: proto.Float64(boolValue(t.last.OK))}})
			v := t.verdict()
			known := false
			for i, k := range knownVerdicts {
				known = known || k == v
				gauge(verdict, t.labels.verdict[i], boolValue(k == v))
			}
			if !known {
				// A kind newer than this list still shows, as itself.
				gauge(verdict, withLabel(l, &dto.LabelPair{Name: proto.String("kind"), Value: proto.String(v)}), 1)
			}
			if t.last.OK && t.last.Latency != nil {
				gauge(latency, l, float64(t.last.Latency.Median)/1000)
			}
			if t.hasOffset {
				gauge(offset, l, t.offset)
				gauge(uncertainty, l, t.uncertainty)
				gauge(offsetAt, l, float64(t.offsetAt.UnixMilli())/1000)
			}
			gauge(lastAt, l, float64(t.lastAt.UnixMilli())/1000)
			counter(samples, l, t.samples)
			counter(lost, l, t.lost)
			for i := range t.phases {
				if h := &t.phases[i]; h.count > 0 { // a phase this server never has (TLS without TLS, …) has no series
					phases[i].Metric = append(phases[i].Metric, &dto.Metric{Label: l, Histogram: h.proto()})
				}
			}
		}
	}
	out := []*dto.MetricFamily{success, verdict, latency, offset, uncertainty, offsetAt, lastAt, samples, lost}
	out = append(out, phases[:]...)
	return slices.DeleteFunc(out, func(f *dto.MetricFamily) bool { return len(f.Metric) == 0 })
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// proto is h as a client_model histogram, with cumulative buckets.
func (h *histogram) proto() *dto.Histogram {
	buckets := make([]dto.Bucket, len(bucketBounds))
	ptrs := make([]*dto.Bucket, len(bucketBounds))
	var cum uint64
	for i := range bucketBounds {
		cum += h.buckets[i]
		b := &buckets[i] // set in place: a proto message must not be copied
		b.CumulativeCount, b.UpperBound = proto.Uint64(cum), &bucketBounds[i]
		ptrs[i] = b
	}
	return &dto.Histogram{SampleCount: proto.Uint64(h.count), SampleSum: proto.Float64(h.sum), Bucket: ptrs}
}

// gather is the /metrics gatherer: the exporter's registry (its own
// series, Go's and the process's) and the targets' families, sorted by
// name as a registry sorts them.
func (s *Server) gather() ([]*dto.MetricFamily, error) {
	own, err := s.reg.Gather()
	fams := append(own, s.gatherTargets()...)
	slices.SortFunc(fams, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return fams, err
}
