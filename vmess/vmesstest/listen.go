package vmesstest

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// StartTCP starts a loopback TCP server on 127.0.0.1 that calls handle for
// every connection in its own goroutine and closes the connection when
// handle returns. It returns the server's host:port. When the test ends it
// closes the listener and every connection still open, then waits for the
// accept loop and every handler to return, so no goroutine outlives the
// test.
func StartTCP(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("vmesstest: listen: %v", err)
	}
	Serve(tb, l, handle)
	return l.Addr().String()
}

// StartBlackhole starts a loopback TCP server that accepts connections and
// never reads or writes: a server that hangs every client. Connections stay
// open until the test ends. It returns the server's host:port.
func StartBlackhole(tb testing.TB) string {
	tb.Helper()
	done := make(chan struct{})
	addr := StartTCP(tb, func(net.Conn) { <-done })
	// Registered after StartTCP's cleanup, so it runs first (LIFO) and
	// releases the handlers that cleanup waits for.
	tb.Cleanup(func() { close(done) })
	return addr
}

// Serve runs the accept loop of StartTCP on a listener the caller made (a
// tls.Listen listener, an IPv6 one): handle runs for every connection in
// its own goroutine and the connection is closed when it returns. When the
// test ends Serve closes l and every open connection and waits for all the
// goroutines it started.
func Serve(tb testing.TB, l net.Listener, handle func(net.Conn)) {
	tb.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		done  bool
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if done {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = struct{}{}
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				handle(c)
			}()
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		done = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// Port returns the port of a host:port address such as StartTCP returns,
// failing the test if addr has none.
func Port(tb testing.TB, addr string) int {
	tb.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatalf("vmesstest: %v", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		tb.Fatalf("vmesstest: port of %q: %v", addr, err)
	}
	return port
}
