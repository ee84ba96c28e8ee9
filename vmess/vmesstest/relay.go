package vmesstest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Relay is a loopback TCP relay in front of a server that counts the
// connections it accepted and can cut one: a test sees how many
// connections a client opened (XHTTP's xmux moving uploads) and what
// happens when one of them dies.
type Relay struct {
	// Addr is host:port of the relay.
	Addr string

	mu    sync.Mutex
	conns []net.Conn // the client side of each accepted connection
}

// Conns returns how many connections the relay has accepted so far.
func (r *Relay) Conns() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(len(r.conns))
}

// Cut closes the i-th accepted connection (from 0) at both ends, as a
// path that dies would; false when there is no such connection yet.
func (r *Relay) Cut(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < 0 || i >= len(r.conns) {
		return false
	}
	r.conns[i].Close()
	return true
}

// StartRelay starts a relay to target ("host:port") on 127.0.0.1; it
// stops when the test ends. Each direction is copied as it comes; the
// end of the client's stream reaches the server as a half close.
func StartRelay(tb testing.TB, target string) *Relay {
	tb.Helper()
	return StartRelayDropping(tb, target, nil)
}

// StartRelayDropping is StartRelay that hangs up the n-th accepted
// connection (from 1) at once, without a byte and without dialing target,
// when drop(n) is true: a server that rejects chosen sessions, or a path
// that fails now and then. Dropped connections count in Conns. A nil drop
// keeps every connection.
func StartRelayDropping(tb testing.TB, target string, drop func(n int64) bool) *Relay {
	tb.Helper()
	r := &Relay{}
	r.Addr = StartTCP(tb, func(c net.Conn) {
		r.mu.Lock()
		r.conns = append(r.conns, c)
		n := int64(len(r.conns))
		r.mu.Unlock()
		if drop != nil && drop(n) {
			return
		}
		up, err := net.DialTimeout("tcp", target, 10*time.Second)
		if err != nil {
			return
		}
		defer up.Close()
		go func() {
			io.Copy(up, c)
			// A cut (c closed) ends the server's side too; a client's
			// end of stream is passed on as a half close.
			up.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(c, up)
	})
	return r
}
