package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

const benchDownload = 256 << 20

// BenchmarkDownload256MiB fetches 256 MiB over HTTP from a loopback web
// server through one in-process Xray VMess server (aes-128-gcm), once with
// xvm's probe download path (dial, VMess handshake, GET, read to the end
// of the body) and once through Xray-core's own client (SOCKS5 inbound →
// VMess outbound) with Go's HTTP client. Both stop at the body's last
// byte (Content-Length), so neither pays Xray's close timers. Compare the
// MB/s of xvm and xray.
func BenchmarkDownload256MiB(b *testing.B) {
	web := startURL(b)
	srv := startServer(b, vmesstest.ServerOptions{})
	target := web.URL + fmt.Sprintf("/bytes?n=%d", benchDownload)
	for _, client := range []string{"xvm", "xray"} {
		b.Run(client, func(b *testing.B) {
			var fetch func() (int64, error)
			switch client {
			case "xvm":
				p, err := newProber(Options{URL: web.URL + "/generate_204", Timeout: 10 * time.Second, Download: target, Budget: 1 << 30})
				if err != nil {
					b.Fatal(err)
				}
				e := p.plan([]Target{spec{name: "bench", host: srv.Host, port: srv.Port, id: srv.ID, security: "aes-128-gcm"}.target(b)})[0]
				sl := &slot{sc: p.sched, held: true}
				p.sched.active++
				fetch = func() (int64, error) {
					s, err := p.fetchDownload(context.Background(), e, sl)
					return s.bytes, err
				}
			case "xray":
				cli := vmesstest.StartClient(b, vmesstest.ClientOptions{Server: srv, Security: "aes-128-gcm"})
				proxy, _ := url.Parse("socks5://" + cli.Addr)
				hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), DisableKeepAlives: true}}
				fetch = func() (int64, error) {
					resp, err := hc.Get(target)
					if err != nil {
						return 0, err
					}
					defer resp.Body.Close()
					return io.Copy(io.Discard, resp.Body)
				}
			}
			if n, err := fetch(); err != nil || n != benchDownload {
				b.Fatalf("warm-up: %d bytes, %v", n, err)
			}
			b.SetBytes(benchDownload)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if n, err := fetch(); err != nil || n != benchDownload {
					b.Fatalf("%d bytes, %v", n, err)
				}
			}
		})
	}
}

// Benchmark1000Targets probes 1,000 targets with the default options
// (3 samples each, concurrency 128) on loopback, spread over four Xray
// servers. It reports the wall time per run (ns/op), the peak heap in use
// during the run (peak-heap-MB, sampled every 5 ms) and the process's peak
// RSS (peak-rss-MB, servers included). Run it on its own
// (-bench 1000Targets) so the RSS is not the download benchmark's.
func Benchmark1000Targets(b *testing.B) {
	web := startURL(b)
	var srvs []*vmesstest.Server
	for range 4 {
		srvs = append(srvs, startServer(b, vmesstest.ServerOptions{}))
	}
	targets := make([]Target, 1000)
	for i := range targets {
		s := srvs[i%len(srvs)]
		targets[i] = spec{name: fmt.Sprintf("t%04d", i), host: s.Host, port: s.Port, id: s.ID}.target(b)
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// 250 entries a server: the budget is raised so all are probed,
		// and the pace (10 ms between connections to a server, 7.5 s for
		// 750) is lifted: this measures the engine, not the politeness.
		res, err := Run(context.Background(), targets, Options{URL: web.URL + "/generate_204", Budget: 1000, Spacing: time.Nanosecond})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if !r.OK {
				b.Fatalf("%s failed: %s", r.Name, jsonOf(r))
			}
		}
		if len(res) != len(targets) {
			b.Fatalf("%d results", len(res))
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	if hwm := peakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-rss-MB")
	}
}

// peakRSS is the process's resident-set high-water mark (Linux VmHWM), in
// bytes, or 0 where it cannot be read. It covers the whole test process,
// in-process Xray servers included.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
