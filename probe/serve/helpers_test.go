package serve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe"
)

// fakeClock is a clock the test sets. Its After never fires: tests that
// use it drive the scheduler through dispatch.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(time.Duration) <-chan time.Time { return nil }

func (c *fakeClock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// v2rayNLink makes a v2rayN share link (base64 JSON).
func v2rayNLink(name, host string, port int, id, network string, extra map[string]string) string {
	m := map[string]string{"v": "2", "ps": name, "add": host, "port": fmt.Sprint(port), "id": id, "aid": "0", "scy": "auto", "net": network, "type": "none"}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return "vmess://" + base64.StdEncoding.EncodeToString(b)
}

// fakeID is a fixed-looking user id for fake targets.
func fakeID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

// writeLinks writes n links named s0…s(n-1) to a file and returns its path.
func writeLinks(t testing.TB, dir, file string, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(v2rayNLink(fmt.Sprintf("s%d", i), "127.0.0.1", 20000+i, fakeID(i), "tcp", nil) + "\n")
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeResult is what the fake prober reports for target i of a batch:
// every third server fails (refused, or rejected with a clock offset), the
// rest answer with plausible timings.
func fakeResult(i int, t probe.Target, rng *mrand.Rand) probe.Result {
	ms := func(v float64) *probe.Millis { m := probe.Millis(v); return &m }
	r := probe.Result{Index: i, Name: t.Name, Address: t.Stream.Address, Port: int(t.Stream.Port), Network: "raw", Security: "auto", Samples: 3}
	switch (t.Stream.Port - 20000) % 3 {
	case 1:
		r.Error = &probe.Failure{Kind: probe.KindRefused, Message: "nothing listens"}
		r.Timings = &probe.Timings{}
		r.Lost = 1
	case 2:
		r.Error = &probe.Failure{Kind: probe.KindClockSkew, Message: "server clock is behind"}
		r.Skew = &probe.Skew{OffsetS: -200 + rng.Float64(), UncertaintyS: 0.5}
		r.Timings = &probe.Timings{Connect: ms(0.2)}
		r.Lost = 1
	default:
		total := 20 + 80*rng.Float64()
		r.OK = true
		r.Timings = &probe.Timings{Connect: ms(1), Handshake: ms(total / 2), FirstByte: ms(total / 3), Total: ms(total)}
		r.Latency = &probe.Latency{Min: probe.Millis(total - 1), Median: probe.Millis(total), Max: probe.Millis(total + 1)}
	}
	return r
}

// instantRun is a prober that answers at once with fakeResult. Each
// target has a random source of its own, so its results do not depend on
// the order in which runs that go side by side call the prober.
func instantRun(seed uint64) RunFunc {
	type key struct {
		name string
		port uint16
	}
	var (
		mu   sync.Mutex
		rngs = map[key]*mrand.Rand{}
	)
	return func(ctx context.Context, targets []probe.Target, opts probe.Options) ([]probe.Result, error) {
		out := make([]probe.Result, 0, len(targets))
		for i, t := range targets {
			k := key{t.Name, uint16(t.Stream.Port)}
			mu.Lock()
			rng := rngs[k]
			if rng == nil {
				rng = mrand.New(mrand.NewPCG(seed, uint64(t.Stream.Port)))
				rngs[k] = rng
			}
			r := fakeResult(i, t, rng)
			mu.Unlock()
			if opts.OnResult != nil {
				opts.OnResult(r)
			}
			out = append(out, r)
		}
		return out, nil
	}
}

// newTestServer makes a Server over sources with a fake clock and prober.
func newTestServer(t testing.TB, opts Options) (*Server, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if opts.Defaults.Interval == 0 {
		opts.Defaults = DefaultSettings()
	}
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.Run == nil {
		opts.Run = instantRun(1)
	}
	if opts.Rand == nil {
		opts.Rand = mrand.NewPCG(1, 2)
	}
	opts.WatchEvery = -1
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, clock
}
