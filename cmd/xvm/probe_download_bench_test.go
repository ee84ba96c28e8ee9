package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// BenchmarkProbeDownloadCLI puts `xvm probe --download` beside Xray's own
// client end to end, each as the program a user runs, through one
// in-process Xray VMess server (aes-128-gcm, raw TCP) to a loopback web
// server that sends XVM_BENCH_BYTES bytes (default 256 MiB):
//
//   - xvm: the xvm binary, `probe --count 1 --download URL`; its rate is
//     the download's bytes_per_s (request written → last byte);
//   - xray: the xray binary (built from the module cache) as a client with
//     a SOCKS inbound, and curl through it; its rate is the bytes over
//     curl's time_total − time_pretransfer (the same span).
//
// They alternate, XVM_BENCH_ROUNDS times (default 5); the metrics are the
// medians in MB/s and their ratio. It needs curl on PATH.
//
//	go test ./cmd/xvm -run '^$' -bench ProbeDownloadCLI -benchtime 1x
func BenchmarkProbeDownloadCLI(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Fatalf("this benchmark runs curl through Xray's client: %v", err)
	}
	size := envInt(b, "XVM_BENCH_BYTES", 256<<20)
	rounds := envInt(b, "XVM_BENCH_ROUNDS", 5)
	dir := b.TempDir()
	xvm := os.Getenv("XVM_BIN")
	if xvm == "" {
		xvm = filepath.Join(dir, "xvm")
		if out, err := exec.Command("go", "build", "-o", xvm, ".").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
	}
	xray := filepath.Join(dir, "xray")
	if out, err := exec.Command("go", "build", "-o", xray, "github.com/xtls/xray-core/main").CombinedOutput(); err != nil {
		b.Fatalf("go build xray: %v\n%s", err, out)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		buf := make([]byte, 256<<10)
		for n > 0 {
			k := min(n, len(buf))
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			n -= k
		}
	}))
	b.Cleanup(web.Close)
	srv := vmesstest.StartServer(b, vmesstest.ServerOptions{})
	target := fmt.Sprintf("%s/bytes?n=%d", web.URL, size)
	link := v2rayNLink("bench", srv.Host, srv.Port, srv.ID, "tcp", map[string]string{"scy": "aes-128-gcm"})

	socks := startXrayClient(b, xray, dir, srv, "aes-128-gcm")
	var xvmRates, xrayRates []float64
	for range b.N * rounds {
		out, err := exec.Command(xvm, "probe", "--url", web.URL+"/?n=0", "--count", "1", "--download", target, "--output", "json", link).Output()
		var res []probe.Result
		if json.Unmarshal(out, &res); len(res) != 1 || res[0].Download == nil || res[0].Download.Bytes != int64(size) {
			b.Fatalf("xvm: %v\n%s", err, out)
		}
		xvmRates = append(xvmRates, res[0].Download.BytesPerS/1e6)

		out, err = exec.Command(curl, "-s", "-o", "/dev/null", "--socks5-hostname", socks, "-w", "%{size_download} %{time_pretransfer} %{time_total}", target).Output()
		f := strings.Fields(string(out))
		if err != nil || len(f) != 3 || f[0] != strconv.Itoa(size) {
			b.Fatalf("curl through xray: %v: %q", err, out)
		}
		pre, _ := strconv.ParseFloat(f[1], 64)
		total, _ := strconv.ParseFloat(f[2], 64)
		xrayRates = append(xrayRates, float64(size)/(total-pre)/1e6)
	}
	mx, mr := median(xvmRates), median(xrayRates)
	// Each round's ratio, xvm's run beside the xray run that follows it:
	// their spread says how far one round can be trusted on this machine.
	ratios := make([]float64, len(xvmRates))
	for i := range ratios {
		ratios[i] = xvmRates[i] / xrayRates[i]
	}
	b.ReportMetric(mx, "xvm-MB/s")
	b.ReportMetric(mr, "xray-MB/s")
	b.ReportMetric(mx/mr, "ratio")
	b.ReportMetric(median(ratios), "round-ratio-median")
	b.ReportMetric(slices.Min(ratios), "round-ratio-min")
	b.ReportMetric(slices.Max(ratios), "round-ratio-max")
	b.Logf("%d MiB, %d rounds: xvm %v MB/s, xray+curl %v MB/s; medians %.0f and %.0f, ratio %.2f; round ratios %.2f (median %.2f)",
		size>>20, rounds, rounded(xvmRates), rounded(xrayRates), mx, mr, mx/mr, ratios, median(ratios))
}

// startXrayClient runs the xray binary as a client of srv with a SOCKS
// inbound and returns the inbound's host:port.
func startXrayClient(b *testing.B, xray, dir string, srv *vmesstest.Server, security string) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := map[string]any{
		"log":      map[string]any{"loglevel": "none"},
		"inbounds": []any{map[string]any{"listen": "127.0.0.1", "port": port, "protocol": "socks", "settings": map[string]any{"udp": false}}},
		"outbounds": []any{map[string]any{"protocol": "vmess", "settings": map[string]any{"vnext": []any{map[string]any{
			"address": srv.Host, "port": srv.Port, "users": []any{map[string]any{"id": srv.ID, "security": security}}}}}}},
	}
	raw, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "xray.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(xray, "run", "-c", path)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("xray client never listened:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rounded(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x + 0.5)
	}
	return out
}
