package serve

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// benchServer is serve watching n fake targets (a third failing, a third
// with a clock offset) after warm cycles, so every series exists.
func benchServer(b *testing.B, n, warm int) (*Server, *fakeClock) {
	b.Helper()
	s, clock := newTestServer(b, Options{Sources: []string{writeLinks(b, b.TempDir(), "links.txt", n)}})
	for range warm {
		s.dispatch(context.Background(), clock.add(30*time.Second))
		s.cycles.Wait()
	}
	return s, clock
}

// BenchmarkCycle1000 is one 30 s cycle of 1,000 targets with a prober
// that answers at once: the CPU and memory serve itself spends per cycle
// (scheduling, recording, histograms, history, events).
func BenchmarkCycle1000(b *testing.B) {
	s, clock := benchServer(b, 1000, 3)
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		s.dispatch(ctx, clock.add(30*time.Second))
		s.cycles.Wait()
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(rssMiB(), "RSS-MiB")
}

// BenchmarkScrape1000 is one /metrics scrape of 1,000 targets (about
// 75,000 series), beside the same series held in client_golang's own
// GaugeVec and HistogramVec, the usual way to write an exporter.
func BenchmarkScrape1000(b *testing.B) {
	s, _ := benchServer(b, 1000, 3)
	xvm := s.metricsHandler()
	peer := vecRegistry(s)
	for _, side := range []struct {
		name string
		h    http.Handler
		gzip bool
	}{{"xvm", xvm, false}, {"client_golang-vecs", peer, false}, {"xvm-gzip", xvm, true}, {"client_golang-vecs-gzip", peer, true}} {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			cpu := cpuTime()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/metrics", nil)
				if side.gzip {
					req.Header.Set("Accept-Encoding", "gzip") // as Prometheus asks
				}
				side.h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
				size = rec.Body.Len()
				io.Copy(io.Discard, rec.Body)
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(size)/(1<<20), "body-MiB")
			b.ReportMetric(float64(strings.Count(mustScrape(b, side.h), "\n")), "lines")
		})
	}
}

// vecRegistry copies s's per-target state into client_golang vectors.
func vecRegistry(s *Server) http.Handler {
	labels := append([]string{}, targetLabels...)
	success := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "xvm_probe_success"}, labels)
	verdict := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "xvm_probe_verdict"}, append(labels, "kind"))
	offset := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "xvm_probe_clock_offset_seconds"}, labels)
	offsetAt := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "xvm_probe_clock_offset_timestamp_seconds"}, labels)
	lastAt := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "xvm_probe_last_timestamp_seconds"}, labels)
	samples := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "xvm_probe_samples_total"}, labels)
	lost := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "xvm_probe_samples_lost_total"}, labels)
	var phases [numPhases]*prometheus.HistogramVec
	reg := prometheus.NewRegistry()
	reg.MustRegister(success, verdict, offset, offsetAt, lastAt, samples, lost)
	for i, p := range phaseNames {
		phases[i] = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "xvm_probe_" + p + "_seconds", Buckets: bucketBounds[:]}, labels)
		reg.MustRegister(phases[i])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		for _, t := range g.targets {
			lv := []string{t.name, t.server, t.transport, g.Name}
			success.WithLabelValues(lv...).Set(1)
			for _, k := range knownVerdicts {
				verdict.WithLabelValues(append(lv, k)...).Set(0)
			}
			if t.hasOffset {
				offset.WithLabelValues(lv...).Set(t.offset)
				offsetAt.WithLabelValues(lv...).Set(float64(t.offsetAt.Unix()))
			}
			lastAt.WithLabelValues(lv...).Set(float64(t.lastAt.Unix()))
			samples.WithLabelValues(lv...).Add(float64(t.samples))
			lost.WithLabelValues(lv...).Add(float64(t.lost))
			for i := range t.phases {
				if t.phases[i].count > 0 {
					phases[i].WithLabelValues(lv...).Observe(t.phases[i].sum / float64(t.phases[i].count))
				}
			}
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func mustScrape(b *testing.B, h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// BenchmarkSteadyState runs 1,000 targets for b.N × 120 cycles (an hour
// at 30 s) with a scrape every cycle and reports the process's resident
// memory at the end: the steady state of the exporter with its 24 h
// history allocated.
func BenchmarkSteadyState(b *testing.B) {
	s, clock := benchServer(b, 1000, 1)
	h := s.metricsHandler()
	ctx := context.Background()
	for b.Loop() {
		for range 120 {
			s.dispatch(ctx, clock.add(30*time.Second))
			s.cycles.Wait()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		}
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(rssMiB(), "RSS-MiB")
}

// cpuTime is the CPU time (user and system) the process has used: unlike
// ns/op it does not grow when other work shares the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMiB is the process's resident set size (Linux), or 0.
func rssMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkCycleXray1000 is one cycle of 1,000 real probes (one sample
// each) of ten in-process Xray-core servers with 100 users each: what a
// cycle costs when every probe is a VMess session. The CPU time includes
// Xray's side of every session, which runs in this process.
func BenchmarkCycleXray1000(b *testing.B) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer web.Close()
	var links strings.Builder
	for i := range 10 {
		ids := make([]string, 100)
		for j := range ids {
			ids[j] = vmesstest.NewUUID()
		}
		srv := vmesstest.StartServer(b, vmesstest.ServerOptions{IDs: ids})
		for j, id := range ids {
			links.WriteString(v2rayNLink(fmt.Sprintf("x%d-%d", i, j), srv.Host, srv.Port, id, "tcp", nil) + "\n")
		}
	}
	path := filepath.Join(b.TempDir(), "links.txt")
	os.WriteFile(path, []byte(links.String()), 0o644)
	settings := DefaultSettings()
	settings.URL, settings.Count, settings.SkewEvery = web.URL+"/generate_204", 1, 0
	s, clock := newTestServer(b, Options{Defaults: settings, Sources: []string{path}, Run: probe.Run})
	ctx := context.Background()
	cycle := func() {
		s.dispatch(ctx, clock.add(30*time.Second))
		s.cycles.Wait()
	}
	cycle() // warm: connections, Xray's user tables
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		cycle()
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(rssMiB(), "RSS-MiB")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		for _, t := range g.targets {
			if !t.has || !t.last.OK {
				b.Fatalf("%s: %+v", t.name, t.last.Error)
			}
		}
	}
}
