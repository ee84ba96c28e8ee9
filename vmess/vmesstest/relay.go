package vmesstest

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// Relay is a loopback TCP relay in front of a server that counts the
// connections it accepted: a test sees how many connections a client
// opened (XHTTP's xmux moving uploads, a pool reusing one).
type Relay struct {
	// Addr is host:port of the relay.
	Addr  string
	conns atomic.Int64
}

// Conns returns how many connections the relay has accepted so far.
func (r *Relay) Conns() int64 { return r.conns.Load() }

// StartRelay starts a relay to target ("host:port") on 127.0.0.1; it
// stops when the test ends. Each direction is copied as it comes; the
// end of the client's stream reaches the server as a half close.
func StartRelay(tb testing.TB, target string) *Relay {
	tb.Helper()
	r := &Relay{}
	r.Addr = StartTCP(tb, func(c net.Conn) {
		r.conns.Add(1)
		up, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer up.Close()
		go func() {
			io.Copy(up, c)
			up.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(c, up)
	})
	return r
}
