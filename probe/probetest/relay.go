// Package probetest puts loopback servers far away or makes them dead, for
// tests and benchmarks of probing at real-world scale (in the spirit of
// net/http/httptest): a relay that delays each direction by half a round
// trip and counts the connections its server receives, and a host that
// never answers a TCP SYN.
//
// Everything listens on 127.0.0.1 only. Nothing outside tests may import
// this package.
package probetest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Relay is a loopback TCP relay in front of one server: every connection
// it accepts is forwarded to the server, and the bytes of each direction
// arrive RTT/2 after they were sent, so a request and its answer take one
// RTT more than on loopback. The TCP handshake with the relay itself is
// not delayed (the kernel completes it before the relay sees the
// connection), so a real server at this RTT costs one more round trip per
// connection than the relay shows.
//
// The relay counts the connections it accepted and the most that were
// open at once: what a server at that address would have seen.
type Relay struct {
	// Addr is the relay's host:port; Host and Port are Addr split.
	Addr string
	Host string
	Port int

	upstream string
	half     time.Duration
	l        net.Listener

	conns   atomic.Int64
	open    atomic.Int64
	maxOpen atomic.Int64
	sent    atomic.Int64 // client → server bytes
	recv    atomic.Int64 // server → client bytes

	mu     sync.Mutex
	closed bool
	active map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// StartRelay starts a relay to upstream (host:port) with the given round
// trip time and closes it when the test ends.
func StartRelay(tb testing.TB, upstream string, rtt time.Duration) *Relay {
	tb.Helper()
	r, err := NewRelay(upstream, rtt)
	if err != nil {
		tb.Fatalf("probetest: %v", err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// NewRelay starts a relay to upstream with the given round trip time; the
// caller closes it.
func NewRelay(upstream string, rtt time.Duration) (*Relay, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := l.Addr().(*net.TCPAddr)
	r := &Relay{
		Addr: l.Addr().String(), Host: a.IP.String(), Port: a.Port,
		upstream: upstream, half: rtt / 2, l: l, active: map[net.Conn]struct{}{},
	}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Conns is the number of connections the relay has accepted.
func (r *Relay) Conns() int64 { return r.conns.Load() }

// MaxOpen is the most connections that were open through the relay at
// once.
func (r *Relay) MaxOpen() int64 { return r.maxOpen.Load() }

// Bytes is what went through the relay: sent by the clients to the
// server, and received by them from it.
func (r *Relay) Bytes() (sent, received int64) { return r.sent.Load(), r.recv.Load() }

// Close stops the relay and every connection through it, and waits for
// its goroutines.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	for c := range r.active {
		c.Close()
	}
	r.mu.Unlock()
	err := r.l.Close()
	r.wg.Wait()
	return err
}

// track registers c so Close can stop it; false when the relay is closed.
func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.active[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.active, c)
	r.mu.Unlock()
	c.Close()
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		r.conns.Add(1)
		n := r.open.Add(1)
		for {
			m := r.maxOpen.Load()
			if n <= m || r.maxOpen.CompareAndSwap(m, n) {
				break
			}
		}
		if !r.track(c) {
			c.Close()
			r.open.Add(-1)
			continue
		}
		r.wg.Add(1)
		go r.serve(c)
	}
}

// serve relays one connection. The upstream is dialled at once, so the
// server sees the connection when the relay does.
func (r *Relay) serve(c net.Conn) {
	defer r.wg.Done()
	defer r.open.Add(-1)
	defer r.untrack(c)
	up, err := net.DialTimeout("tcp", r.upstream, 5*time.Second)
	if err != nil {
		return
	}
	if !r.track(up) {
		up.Close()
		return
	}
	defer r.untrack(up)
	done := make(chan struct{}, 2)
	go func() { r.pipe(up, c, &r.sent); done <- struct{}{} }()
	go func() { r.pipe(c, up, &r.recv); done <- struct{}{} }()
	<-done
	<-done
}

// chunk is data read at one moment, or the end of the stream (eof) or a
// failure (err) seen then.
type chunk struct {
	at   time.Time
	data []byte
	eof  bool
	err  bool
}

// pipe copies src to dst, holding every chunk until half the round trip
// after it was read, and adds the bytes to count. The end of src is passed on (as a half close) after
// the same delay, and a failure of either side closes both.
func (r *Relay) pipe(dst, src net.Conn, count *atomic.Int64) {
	q := make(chan chunk, 64)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			now := time.Now()
			count.Add(int64(n))
			if n > 0 {
				q <- chunk{at: now, data: buf[:n]}
			}
			if err != nil {
				q <- chunk{at: now, eof: errors.Is(err, io.EOF), err: !errors.Is(err, io.EOF)}
				return
			}
		}
	}()
	for ch := range q {
		if d := time.Until(ch.at.Add(r.half)); d > 0 {
			time.Sleep(d)
		}
		switch {
		case ch.err:
			dst.Close()
			src.Close()
		case ch.eof:
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			} else {
				dst.Close()
			}
		default:
			if _, err := dst.Write(ch.data); err != nil {
				src.Close()
				dst.Close()
			}
		}
	}
}

// Dialer dials TCP with one round trip of delay before each connection,
// which a relay cannot add (the kernel completes the handshake with it at
// once): with a Relay of the same RTT, a connection costs what it would
// to a server that far.
type Dialer struct {
	RTT time.Duration
}

// DialContext waits RTT, or until ctx is done, and dials.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	t := time.NewTimer(d.RTT)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}
