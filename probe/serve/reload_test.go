package serve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// reloads are the server's load counts: successful and failed.
func reloads(s *Server) (ok, failed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.reloadsOK, s.stats.reloadsFailed
}

// TestFailedReloadWaitsForAChange: a config that fails to load is tried
// once, not at every look of the watcher; it is tried again when it
// changes again, no sooner than a back-off that doubles with each failure
// in a row; a file that disappears is tried once too; a good file loads
// and ends the back-off.
func TestFailedReloadWaitsForAChange(t *testing.T) {
	dir := t.TempDir()
	writeLinks(t, dir, "links.txt", 2)
	cfg := filepath.Join(dir, "serve.yaml")
	good := "groups:\n  - name: a\n    targets: [links.txt]\n"
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(good)
	s, clock := newTestServer(t, Options{ConfigFile: cfg})
	ctx := context.Background()
	ticks := func(n int, step time.Duration) {
		for range n {
			clock.add(step)
			s.watchTick(ctx)
		}
	}
	expect := func(when string, wantOK, wantFailed uint64) {
		t.Helper()
		if ok, failed := reloads(s); ok != wantOK || failed != wantFailed {
			t.Fatalf("%s: %d loads, %d failed; want %d, %d", when, ok, failed, wantOK, wantFailed)
		}
	}
	expect("at start", 1, 0)

	write("groups:\n  - name: a\n    interval: soon\n    targets: [links.txt]\n")
	ticks(50, time.Second)
	expect("50 looks after a broken edit", 1, 1)

	// Edited again, still broken: tried at once (the back-off of one
	// failure, a second, is long over).
	write("groups:\n  - name: a\n    interval: later\n    targets: [links.txt]\n")
	ticks(1, time.Second)
	expect("after the second broken edit", 1, 2)
	// Two failures in a row: 2 s of back-off before a third try.
	write("groups:\n  - name: a\n    interval: tomorrow\n    targets: [links.txt]\n")
	ticks(1, time.Second)
	expect("a second into the back-off", 1, 2)
	ticks(1, time.Second)
	expect("after the back-off", 1, 3)

	// A file that disappears fails once.
	os.Remove(cfg)
	ticks(30, 5*time.Second)
	expect("30 looks after the file went", 1, 4)

	write(good)
	ticks(30, 5*time.Second)
	expect("after a good edit", 2, 4)
	s.mu.Lock()
	failures, retryAt := s.failures, s.retryAt
	s.mu.Unlock()
	if failures != 0 || !retryAt.IsZero() {
		t.Errorf("a good load left the back-off: %d failures, retry at %v", failures, retryAt)
	}
}

// TestReloadsSerialised: a reload that starts while another is still
// reading (a SIGHUP during the watcher's reload) waits for it, so the
// older read never replaces the newer one.
func TestReloadsSerialised(t *testing.T) {
	var (
		mu      sync.Mutex
		version = 1
		calls   int
		first   = make(chan struct{}) // the first fetch waits on it
	)
	fetch := func(ctx context.Context, u string, max int64) ([]byte, error) {
		mu.Lock()
		calls++
		n, v := calls, version
		mu.Unlock()
		if n == 2 {
			<-first // the first reload's read: slow
		}
		var b strings.Builder
		for i := range v {
			b.WriteString(v2rayNLink(fmt.Sprintf("s%d", i), "127.0.0.1", 20000+i, fakeID(i), "tcp", nil) + "\n")
		}
		return []byte(b.String()), nil
	}
	s, _ := newTestServer(t, Options{Sources: []string{"https://sub.example/s"}, Fetch: fetch})
	ctx := context.Background()
	slow := make(chan error, 1)
	go func() { slow <- s.Reload(ctx) }() // reads version 1, slowly
	waitFor(t, "the first reload to fetch", func() bool { mu.Lock(); defer mu.Unlock(); return calls == 2 })
	mu.Lock()
	version = 3 // the subscription changes
	mu.Unlock()
	fast := make(chan error, 1)
	go func() { fast <- s.Reload(ctx) }() // reads version 3
	// Without serialising, the second reload is done long before the
	// first; with it, it waits. Either way, let the first one finish.
	var errs []error
	select {
	case err := <-fast:
		errs = append(errs, err)
	case <-time.After(200 * time.Millisecond):
		t.Log("the second reload waits for the first")
	}
	close(first)
	errs = append(errs, <-slow)
	if len(errs) == 1 {
		errs = append(errs, <-fast)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.byKey); n != 3 {
		t.Fatalf("%d targets after both reloads, want the 3 of the newer read", n)
	}
}

// TestSubscriptionRetriedAfterAMinute: a subscription whose fetch fails
// at its hourly refresh keeps the running targets and is asked again a
// minute later, not at every look of the watcher; the fetch that works
// brings its servers in.
func TestSubscriptionRetriedAfterAMinute(t *testing.T) {
	var (
		mu      sync.Mutex
		fetches int
		down    bool
		servers = 1
	)
	fetch := func(ctx context.Context, u string, max int64) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		if down {
			return nil, fmt.Errorf("503 Service Unavailable")
		}
		var b strings.Builder
		for i := range servers {
			b.WriteString(v2rayNLink(fmt.Sprintf("s%d", i), "127.0.0.1", 20000+i, fakeID(i), "tcp", nil) + "\n")
		}
		return []byte(b.String()), nil
	}
	s, clock := newTestServer(t, Options{Sources: []string{"https://sub.example/s"}, Fetch: fetch, RefreshEvery: time.Hour})
	ctx := context.Background()
	count := func() int { mu.Lock(); defer mu.Unlock(); return fetches }
	mu.Lock()
	down, servers = true, 2
	mu.Unlock()

	clock.add(time.Hour)
	s.watchTick(ctx)
	if n := count(); n != 2 {
		t.Fatalf("%d fetches an hour in, want 2", n)
	}
	for range 5 { // 50 s of looks
		clock.add(10 * time.Second)
		s.watchTick(ctx)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d fetches within a minute of a failed one, want 2", n)
	}
	if n := len(s.byKey); n != 1 {
		t.Fatalf("%d targets after the failed fetch, want the 1 running", n)
	}
	clock.add(10 * time.Second)
	s.watchTick(ctx)
	if n := count(); n != 3 {
		t.Fatalf("%d fetches a minute after the failed one, want 3", n)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	clock.add(time.Minute)
	s.watchTick(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.byKey); count() != 4 || n != 2 {
		t.Fatalf("after the provider is back: %d fetches, %d targets; want 4, 2", count(), n)
	}
}
