package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestSchedulerRetryWaitsForScreen: a retry counts among its server's
// running jobs, so while the server's reach is unknown a retry and a
// screen of it never run at once (the retry pool is separate from the
// run's slots, and used to start beside a screen).
func TestSchedulerRetryWaitsForScreen(t *testing.T) {
	s := &server{key: "h.example:1", budget: DefaultBudget, open: make(chan struct{}, DefaultPerServer)}
	jobs := &overlap{hold: 20 * time.Millisecond}
	sc := newScheduler(2, DefaultPerServer, 1, jobs.do, func() bool { return true })
	s.changed = sc.changed
	sc.add(&job{kind: jobScreen, e: &entry{srv: s}})
	sc.add(&job{kind: jobRetry, e: &entry{srv: s}})
	sc.add(&job{kind: jobRetry, e: &entry{srv: s}})
	sc.run(context.Background())
	if most := jobs.most(); most != 1 {
		t.Fatalf("%d jobs of a server with unknown reach ran at once, want 1", most)
	}
	if s.running != 0 {
		t.Fatalf("running = %d after the run, want 0", s.running)
	}
}

// TestSchedulerRetriesAtLowerConcurrency: the retries of first attempts
// that timed out run at the end on a pool of a quarter of the run's
// concurrency, so a second wait for dead hosts is gentler than the first.
func TestSchedulerRetriesAtLowerConcurrency(t *testing.T) {
	p, err := newProber(Options{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if p.sched.retryLimit != 2 {
		t.Fatalf("retry pool of %d at concurrency 8, want 2", p.sched.retryLimit)
	}
	jobs := &overlap{hold: 200 * time.Millisecond}
	sc := newScheduler(8, DefaultPerServer, 2, jobs.do, func() bool { return true })
	for i := range 6 {
		// Each on a server of its own, so nothing but the pool holds
		// them back.
		s := &server{key: fmt.Sprintf("h%d.example:1", i), budget: DefaultBudget, open: make(chan struct{}, DefaultPerServer)}
		s.changed = sc.changed
		sc.add(&job{kind: jobRetry, e: &entry{srv: s}})
	}
	sc.run(context.Background())
	if most := jobs.most(); most != 2 {
		t.Fatalf("%d retries ran at once, want the pool's 2", most)
	}
}

// overlap is a scheduler's job function that holds each job for hold
// (long enough for others to start, were they allowed) and counts how
// many ran at once.
type overlap struct {
	hold      time.Duration
	mu        sync.Mutex
	cur, peak int
}

func (o *overlap) do(ctx context.Context, j *job, sl *slot) {
	o.mu.Lock()
	o.cur++
	o.peak = max(o.peak, o.cur)
	o.mu.Unlock()
	time.Sleep(o.hold)
	o.mu.Lock()
	o.cur--
	o.mu.Unlock()
}

func (o *overlap) most() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.peak
}

// fakeDialer answers every dial with one end of a pipe after wait(n),
// where n counts the dials from 1.
type fakeDialer struct {
	n    atomic.Int64
	wait func(n int64)
}

func (d *fakeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.wait(d.n.Add(1))
	c, s := net.Pipe()
	go func() { io.Copy(io.Discard, s) }()
	return c, nil
}

// slotProber is a prober whose scheduler has one slot, held by the
// returned slot, and an entry on a server with budget to spare.
func slotProber(t *testing.T, d transport.ContextDialer, connectTimeout time.Duration) (*prober, *entry, *slot) {
	t.Helper()
	p, err := newProber(Options{NetDialer: d, ConnectTimeout: connectTimeout, Concurrency: 1, Budget: 1 << 20, Spacing: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	tg := Target{ID: vmesstest.NewUUID(), Stream: transport.Config{Address: "127.0.0.1", Port: 1}}
	e := &entry{t: &tg, srv: p.serverOf(&tg)}
	p.sched.active = 1
	return p, e, &slot{sc: p.sched, held: true}
}

// holds reports whether sl holds the run's one slot, as the scheduler
// counts it.
func holds(p *prober, sl *slot) bool {
	sl.mu.Lock()
	held := sl.held
	sl.mu.Unlock()
	p.sched.mu.Lock()
	defer p.sched.mu.Unlock()
	return held && p.sched.active == 1
}

// TestSlotAfterSlowConnect: a connect as slow as the moment it gives the
// job's slot back still holds the slot when connect returns, and the
// scheduler counts it once: the give-back cannot land after the take-back
// (a timer that fired could release it again).
func TestSlotAfterSlowConnect(t *testing.T) {
	d := &fakeDialer{wait: func(n int64) { time.Sleep(time.Millisecond + time.Duration(n%7)*50*time.Microsecond) }}
	p, e, sl := slotProber(t, d, 2*time.Millisecond) // gives the slot back after 1 ms
	for i := range 300 {
		conn, done, err := p.connect(context.Background(), e, sl, e.t.Stream, nil)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		done()
		time.Sleep(100 * time.Microsecond) // a late give-back would land here
		if !holds(p, sl) {
			t.Fatalf("connect %d: the job lost its slot (held %v, active %d)", i, sl.held, p.sched.active)
		}
	}
}

// TestTakeHeedsItsContext: a job waiting for a slot gives up when its
// context ends, though no slot comes free (it waited until one did).
func TestTakeHeedsItsContext(t *testing.T) {
	p, _, _ := slotProber(t, &fakeDialer{wait: func(int64) {}}, time.Second) // the one slot is held
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.sched.take(ctx, false) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("take: %v, want the context's deadline", err)
		}
	case <-time.After(20 * time.Second): // a hang catcher only
		t.Fatal("take is still waiting long after its context ended")
	}
}

// TestWaitForTheCapGivesTheSlotBack: a job whose attempt waits for its
// server's cap of open connections does not hold the run's only slot
// while it waits. Job Y's connect is slow (parked, its slot given back)
// and holds the cap; job X takes the slot and asks for a connection to
// the same server. When Y's connect lands it needs the slot: X used to
// keep it while it waited for Y's connection to close, and both waited
// until X's context ran out.
func TestWaitForTheCapGivesTheSlotBack(t *testing.T) {
	release := make(chan struct{})
	d := &fakeDialer{wait: func(n int64) {
		if n == 1 {
			<-release // Y's connect is slow
		}
	}}
	p, err := newProber(Options{NetDialer: d, ConnectTimeout: 40 * time.Millisecond, Concurrency: 1, PerServer: 1, Budget: 1 << 20, Spacing: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	tg := Target{ID: vmesstest.NewUUID(), Stream: transport.Config{Address: "127.0.0.1", Port: 1}}
	e := &entry{t: &tg, srv: p.serverOf(&tg)}
	p.sched.active = 1
	slY := &slot{sc: p.sched, held: true}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a hang catcher only
	defer cancel()
	y := make(chan error, 1)
	go func() {
		conn, done, err := p.connect(ctx, e, slY, e.t.Stream, nil)
		if err == nil {
			conn.Close()
			done()
		}
		slY.release() // Y's job is over
		y <- err
	}()
	// Y parks after 20 ms and gives the slot back; X takes it.
	slX := &slot{sc: p.sched}
	if err := slX.hold(ctx); err != nil {
		t.Fatal(err)
	}
	x := make(chan error, 1)
	go func() {
		conn, done, err := p.connect(ctx, e, slX, e.t.Stream, nil)
		if err == nil {
			conn.Close()
			done()
		}
		x <- err
	}()
	time.Sleep(50 * time.Millisecond) // X is waiting for the cap
	close(release)
	if err := <-y; err != nil {
		t.Fatalf("Y: %v", err)
	}
	if err := <-x; err != nil {
		t.Fatalf("X: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the two jobs waited for each other until the hang catcher")
	}
}

// TestSlotSharedByParallelAttempts: two attempts of one job (a
// diagnosis's parallel handshakes) share its slot. While one waits on a
// slow connect and the other works, the job keeps the slot; it gives it
// back only when every attempt in flight waits on a slow connect.
func TestSlotSharedByParallelAttempts(t *testing.T) {
	release := make(chan struct{})
	d := &fakeDialer{wait: func(n int64) {
		if n == 1 {
			<-release // the first connect is slow
		}
	}}
	p, e, sl := slotProber(t, d, 20*time.Millisecond) // gives the slot back after 10 ms
	slow := make(chan error, 1)
	go func() {
		conn, done, err := p.connect(context.Background(), e, sl, e.t.Stream, nil)
		if err == nil {
			conn.Close()
			done()
		}
		slow <- err
	}()
	for d.n.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	conn, done, err := p.connect(context.Background(), e, sl, e.t.Stream, nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		sl.mu.Lock()
		parked := sl.parked
		sl.mu.Unlock()
		if parked == 1 {
			break // the slow connect is due to give the slot back
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow connect never parked")
		}
	}
	if !holds(p, sl) {
		t.Fatalf("the job gave its slot back while one of its attempts worked (held %v, active %d)", sl.held, p.sched.active)
	}
	conn.Close()
	done() // now the only attempt in flight waits on a slow connect
	if holds(p, sl) || p.sched.active != 0 {
		t.Fatalf("the slot is still taken (held %v, active %d) while the only attempt waits on a slow connect", sl.held, p.sched.active)
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if !holds(p, sl) {
		t.Fatalf("the slow attempt went on without the slot (held %v, active %d)", sl.held, p.sched.active)
	}
}

// TestSlotFailedConnectNeedsNoSlot: a slow connect that fails (a dead
// host) ends its attempt without taking the job's slot back: with every
// slot taken by other work it returns at once rather than queue for one
// only to report the failure (that queue made a run of 10,000 entries,
// a quarter on dead hosts, half again as long).
func TestSlotFailedConnectNeedsNoSlot(t *testing.T) {
	release := make(chan struct{})
	d := failingDialer{wait: release}
	p, e, sl := slotProber(t, d, 20*time.Millisecond) // gives the slot back after 10 ms
	done := make(chan error, 1)
	go func() {
		_, _, err := p.connect(context.Background(), e, sl, e.t.Stream, nil)
		done <- err
	}()
	// Other work takes the slot the parked connect gave back.
	if err := p.sched.take(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	defer p.sched.put(false)
	close(release) // the connect fails
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the connect succeeded")
		}
	case <-time.After(10 * time.Second): // a hang catcher
		p.sched.put(false) // let it finish
		<-done
		t.Fatal("a failed connect waited for a slot to say so")
	}
}

// failingDialer fails every dial once wait is closed.
type failingDialer struct{ wait chan struct{} }

func (d failingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	<-d.wait
	return nil, errors.New("connection timed out")
}
