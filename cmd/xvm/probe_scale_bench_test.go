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
	"slices"
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
// behind a relay at 150 ms RTT: 60 % healthy (raw and ws), 10 % on
// servers that do not hold the entry's id, 25 % on dead hosts (SYNs
// unanswered) and 5 % on refused ports. Entries come in servers of 1, 2,
// 3, 1 and 5 entries in turn (2.4 on average; the ids of one server's
// entries differ), as providers list one server several times: so a
// server's budget is shared by all its entries, and a dead or refusing
// host's verdict by the entries on it. The order is shuffled. It reports
// the wall time, the binary's peak RSS, the verdicts that were wrong, the
// most connections any rejecting server received and the connections
// in all.
//
// The binary is built from this tree unless XVM_BIN names one (e.g. an
// older xvm, for a before/after table); XVM_BENCH_ARGS adds flags.
//
//	go test ./cmd/xvm -run '^$' -bench ProbeSubscription/entries=3000 -benchtime 1x
func BenchmarkProbeSubscription(b *testing.B) {
	bin := os.Getenv("XVM_BIN")
	if bin == "" {
		bin = builtXVM(b)
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

// scaleGroups are the sizes of the scenario's servers, in turn.
var scaleGroups = []int{1, 2, 3, 1, 5}

func startScaleScenario(b *testing.B, n int) *scaleScenario {
	b.Helper()
	web := startScaleWeb(b)
	wsStream := `{"network":"ws","wsSettings":{"path":"/ws"}}`
	// The healthy servers hold as many ids as a server has entries.
	var ids []string
	for range slices.Max(scaleGroups) {
		ids = append(ids, vmesstest.NewUUID())
	}
	okRaw := vmesstest.StartServer(b, vmesstest.ServerOptions{IDs: ids})
	okWS := vmesstest.StartServer(b, vmesstest.ServerOptions{IDs: ids, StreamSettings: wsStream})
	badRaw := vmesstest.StartServer(b, vmesstest.ServerOptions{})
	badWS := vmesstest.StartServer(b, vmesstest.ServerOptions{StreamSettings: wsStream})
	sc := &scaleScenario{url: web, want: map[string]string{}}
	relay := func(upstream string) *probetest.Relay {
		r, err := probetest.NewRelay(upstream, scaleRTT)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		sc.all = append(sc.all, r)
		return r
	}
	// server starts one server of kind k and says where it is and what
	// its entries should come out as.
	server := func(k string, ws bool) (port int, want string) {
		switch k {
		case "ok":
			up := okRaw.Addr
			if ws {
				up = okWS.Addr
			}
			return relay(up).Port, "ok"
		case "reject":
			up := badRaw.Addr
			if ws {
				up = badWS.Addr
			}
			r := relay(up)
			sc.rejecting = append(sc.rejecting, r)
			return r.Port, string(probe.KindAuthRejected)
		case "dead":
			d, err := probetest.NewDeadHost()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.Close() })
			return d.Port, string(probe.KindTimeout)
		}
		// Reserved, so no other program on the machine can listen there
		// during a long run.
		r, err := probetest.NewRefusedPort()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		return r.Port, string(probe.KindRefused)
	}
	var links []string
	servers := 0
	for _, kind := range []struct {
		name    string
		percent int
		heldID  bool // its entries carry ids the server holds
	}{{"ok", 60, true}, {"reject", 10, false}, {"dead", 25, false}, {"refused", 5, false}} {
		left := n * kind.percent / 100
		for g := 0; left > 0; g++ {
			size := min(scaleGroups[g%len(scaleGroups)], left)
			left -= size
			ws := servers%2 == 1
			servers++
			port, want := server(kind.name, ws)
			for j := range size {
				name := fmt.Sprintf("%s-%d-%d", kind.name, servers, j)
				id := vmesstest.NewUUID() // not held by any server
				if kind.heldID {
					id = ids[j]
				}
				net, extra := "tcp", map[string]string(nil)
				if ws {
					name, net, extra = name+"-ws", "ws", map[string]string{"path": "/ws"}
				}
				sc.want[name] = want
				links = append(links, v2rayNLink(name, "127.0.0.1", port, id, net, extra))
			}
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(links), func(i, j int) { links[i], links[j] = links[j], links[i] })
	sc.file = filepath.Join(b.TempDir(), "sub.txt")
	sub := base64.StdEncoding.EncodeToString([]byte(strings.Join(links, "\n")))
	if err := os.WriteFile(sc.file, []byte(sub), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d entries on %d servers", len(links), servers)
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
