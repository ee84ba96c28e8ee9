package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// scaleRTT is the round trip the relays put between xvm and every server
// of the scale benchmark.
const scaleRTT = 150 * time.Millisecond

// BenchmarkProbeSubscription runs the xvm binary, as a user would, with
// default flags (only --url, pointed at a loopback web server, and
// --output json) on a base64 subscription of N entries, every server
// behind a relay at 150 ms RTT: 60 % healthy (raw and ws, half each),
// 10 % on servers that do not hold the subscription's id, 25 % on dead
// hosts (SYNs unanswered) and 5 % on refused ports; each entry has a
// host:port of its own, the order is shuffled. It reports the wall time,
// the binary's peak RSS, the verdicts that were wrong and the most
// connections any rejecting server received.
//
// The binary is built from this tree unless XVM_BIN names one (e.g. an
// older xvm, for a before/after table); XVM_BENCH_ARGS adds flags.
//
//	go test ./cmd/xvm -run '^$' -bench ProbeSubscription/entries=3000 -benchtime 1x
func BenchmarkProbeSubscription(b *testing.B) {
	bin := os.Getenv("XVM_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "xvm")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
	}
	for _, n := range []int{300, 3000, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			sc := startScaleScenario(b, n)
			for range b.N {
				sc.run(b, bin)
			}
		})
	}
}

// scaleScenario is a subscription and the servers behind it.
type scaleScenario struct {
	file      string
	url       string
	want      map[string]string // entry name → "ok" or the error kind
	rejecting []*probetest.Relay
	all       []*probetest.Relay
}

func startScaleScenario(b *testing.B, n int) *scaleScenario {
	b.Helper()
	web := startScaleWeb(b)
	wsStream := `{"network":"ws","wsSettings":{"path":"/ws"}}`
	okRaw := vmesstest.StartServer(b, vmesstest.ServerOptions{})
	id := okRaw.ID
	okWS := vmesstest.StartServer(b, vmesstest.ServerOptions{IDs: []string{id}, StreamSettings: wsStream})
	badRaw := vmesstest.StartServer(b, vmesstest.ServerOptions{})
	badWS := vmesstest.StartServer(b, vmesstest.ServerOptions{StreamSettings: wsStream})
	sc := &scaleScenario{url: web, want: map[string]string{}}
	kinds := make([]string, n)
	for i := range n {
		switch p := i * 100 / n; {
		case p < 60:
			kinds[i] = "ok"
		case p < 70:
			kinds[i] = "reject"
		case p < 95:
			kinds[i] = "dead"
		default:
			kinds[i] = "refused"
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	relay := func(upstream string) *probetest.Relay {
		r, err := probetest.NewRelay(upstream, scaleRTT)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		sc.all = append(sc.all, r)
		return r
	}
	type entry struct {
		name, host, net string
		port            int
		extra           map[string]string
	}
	entries := make([]entry, n)
	for i, k := range kinds {
		e := entry{name: fmt.Sprintf("%s-raw-%05d", k, i), host: "127.0.0.1", net: "tcp"}
		ws := i%2 == 1
		if ws {
			e.name, e.net, e.extra = fmt.Sprintf("%s-ws-%05d", k, i), "ws", map[string]string{"path": "/ws"}
		}
		switch k {
		case "ok":
			up := okRaw.Addr
			if ws {
				up = okWS.Addr
			}
			e.port = relay(up).Port
			sc.want[e.name] = "ok"
		case "reject":
			up := badRaw.Addr
			if ws {
				up = badWS.Addr
			}
			r := relay(up)
			sc.rejecting = append(sc.rejecting, r)
			e.port = r.Port
			sc.want[e.name] = string(probe.KindAuthRejected)
		case "dead":
			d, err := probetest.NewDeadHost()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.Close() })
			e.port = d.Port
			sc.want[e.name] = string(probe.KindTimeout)
		case "refused":
			// Reserved, so no other program on the machine can listen
			// there during a long run.
			r, err := probetest.NewRefusedPort()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close() })
			e.port = r.Port
			sc.want[e.name] = string(probe.KindRefused)
		}
		entries[i] = e
	}
	links := make([]string, n)
	for i, e := range entries {
		links[i] = v2rayNLink(e.name, e.host, e.port, id, e.net, e.extra)
	}
	sc.file = filepath.Join(b.TempDir(), "sub.txt")
	sub := base64.StdEncoding.EncodeToString([]byte(strings.Join(links, "\n")))
	if err := os.WriteFile(sc.file, []byte(sub), 0o600); err != nil {
		b.Fatal(err)
	}
	return sc
}

// startScaleWeb is the URL fetched through the servers.
func startScaleWeb(b *testing.B) string {
	b.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	b.Cleanup(s.Close)
	return s.URL + "/generate_204"
}

// run probes the subscription once with the binary and reports.
func (sc *scaleScenario) run(b *testing.B, bin string) {
	b.Helper()
	before := map[*probetest.Relay]int64{}
	var sentBefore, recvBefore int64
	for _, r := range sc.all {
		before[r] = r.Conns()
		s, v := r.Bytes()
		sentBefore, recvBefore = sentBefore+s, recvBefore+v
	}
	args := []string{"probe", "--url", sc.url, "--output", "json"}
	args = append(args, strings.Fields(os.Getenv("XVM_BENCH_ARGS"))...)
	args = append(args, sc.file)
	cmd := exec.Command(bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		b.Fatalf("xvm did not run: %v", err)
	}
	var res []probe.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		b.Fatalf("output is not JSON (%v); stderr:\n%s", err, errOut.String())
	}
	wrong := map[string]int{}
	var examples []string
	for _, r := range res {
		got := "ok"
		if r.Error != nil {
			got = string(r.Error.Kind)
		}
		if want := sc.want[r.Name]; got != want {
			wrong[want+"→"+got]++
			if len(examples) < 5 {
				msg := ""
				if r.Error != nil {
					msg = r.Error.Message
				}
				examples = append(examples, fmt.Sprintf("%s: %s (%s)", r.Name, got, msg))
			}
		}
	}
	missing := len(sc.want) - len(res)
	var maxReject, total, sent, recv int64
	for _, r := range sc.all {
		total += r.Conns() - before[r]
		s, v := r.Bytes()
		sent, recv = sent+s, recv+v
	}
	sent, recv = sent-sentBefore, recv-recvBefore
	for _, r := range sc.rejecting {
		maxReject = max(maxReject, r.Conns()-before[r])
	}
	rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KiB → MiB
	nWrong := 0
	keys := make([]string, 0, len(wrong))
	for k, v := range wrong {
		nWrong += v
		keys = append(keys, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(keys)
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(rss, "peak-rss-MB")
	b.ReportMetric(float64(nWrong+missing), "wrong-verdicts")
	b.ReportMetric(float64(maxReject), "max-conns-rejecting")
	b.ReportMetric(float64(total), "conns-total")
	b.ReportMetric(float64(sent)/1e6, "sent-MB")
	b.Logf("%d entries: wall %.1fs, peak RSS %.0f MB, %d wrong verdicts %v, %d missing, most connections to a rejecting server %d, %d connections in all; %.1f MB sent, %.1f MB received (%.1f and %.1f Mbit/s)",
		len(sc.want), wall.Seconds(), rss, nWrong, keys, missing, maxReject, total, float64(sent)/1e6, float64(recv)/1e6,
		float64(sent)*8/1e6/wall.Seconds(), float64(recv)*8/1e6/wall.Seconds())
	for _, e := range examples {
		b.Logf("  e.g. %s", e)
	}
}
