package vmesstest

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// LossyOptions describe what a lossy UDP relay does to the datagrams
// that pass it, in each direction.
type LossyOptions struct {
	// Drop is the share of datagrams dropped, from 0 to 1.
	Drop float64
	// Reorder is the share of datagrams held back and sent after the
	// next one (or after 20 ms when no other comes), from 0 to 1.
	Reorder float64
	// Seed makes the choices repeatable run to run.
	Seed uint64
}

// LossyRelay is a running lossy UDP relay.
type LossyRelay struct {
	// Addr is the relay's host:port; clients send to it instead of the
	// target.
	Addr string
	// Passed, Dropped and Reordered count datagrams, both directions.
	Passed, Dropped, Reordered atomic.Int64
}

// StartLossyUDPRelay relays UDP datagrams between clients and target
// (host:port on loopback), dropping and reordering a share of them in
// both directions, so that a protocol over UDP can be tested on a lossy
// path. Each client address gets its own socket towards target. The
// relay stops when the test ends.
func StartLossyUDPRelay(tb testing.TB, target string, opts LossyOptions) *LossyRelay {
	tb.Helper()
	taddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		tb.Fatalf("vmesstest: relay target: %v", err)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatalf("vmesstest: relay listen: %v", err)
	}
	r := &LossyRelay{Addr: pc.LocalAddr().String()}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		clients = map[string]*net.UDPConn{}
		done    = make(chan struct{})
	)
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	var rngMu sync.Mutex
	up := newLossyPath(r, opts, rng, &rngMu)
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			mu.Lock()
			uc, ok := clients[from.String()]
			if !ok {
				uc, err = net.DialUDP("udp", nil, taddr)
				if err != nil {
					mu.Unlock()
					continue
				}
				clients[from.String()] = uc
				down := newLossyPath(r, opts, rng, &rngMu)
				wg.Add(1)
				go func(from *net.UDPAddr) {
					defer wg.Done()
					b := make([]byte, 64<<10)
					for {
						n, err := uc.Read(b)
						if err != nil {
							select {
							case <-done:
								return
							default:
								continue // ICMP errors from a closed target
							}
						}
						down.send(b[:n], func(p []byte) { pc.WriteToUDP(p, from) })
					}
				}(from)
			}
			mu.Unlock()
			up.send(buf[:n], func(p []byte) { uc.Write(p) })
		}
	}()
	tb.Cleanup(func() {
		close(done)
		pc.Close()
		mu.Lock()
		for _, uc := range clients {
			uc.Close()
		}
		mu.Unlock()
		up.stop()
		wg.Wait()
	})
	return r
}

// lossyPath is one direction of the relay: it drops, holds back and
// passes datagrams.
type lossyPath struct {
	r     *LossyRelay
	opts  LossyOptions
	rng   *rand.Rand
	rngMu *sync.Mutex

	mu    sync.Mutex
	held  []byte
	write func([]byte)
	timer *time.Timer
}

func newLossyPath(r *LossyRelay, opts LossyOptions, rng *rand.Rand, rngMu *sync.Mutex) *lossyPath {
	return &lossyPath{r: r, opts: opts, rng: rng, rngMu: rngMu}
}

func (l *lossyPath) roll() float64 {
	l.rngMu.Lock()
	defer l.rngMu.Unlock()
	return l.rng.Float64()
}

// send passes p through write, or drops it, or holds it back.
func (l *lossyPath) send(p []byte, write func([]byte)) {
	if l.roll() < l.opts.Drop {
		l.r.Dropped.Add(1)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil && l.roll() < l.opts.Reorder {
		l.held = append([]byte(nil), p...)
		l.write = write
		l.r.Reordered.Add(1)
		l.timer = time.AfterFunc(20*time.Millisecond, l.flush)
		return
	}
	write(p)
	l.r.Passed.Add(1)
	if l.held != nil {
		l.timer.Stop()
		l.write(l.held)
		l.held = nil
	}
}

// flush sends a datagram held back for too long.
func (l *lossyPath) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held != nil {
		l.write(l.held)
		l.held = nil
	}
}

func (l *lossyPath) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
	}
	l.held = nil
}
