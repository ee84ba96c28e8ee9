package transport_test

import (
	"errors"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestWSEarlyDataReadDeadline: with early data the WebSocket upgrade waits
// for the first Write; a Read before it must still give up at the read
// deadline (however it was set, and when it is moved during the wait)
// with os.ErrDeadlineExceeded, and the stream stays usable afterwards.
func TestWSEarlyDataReadDeadline(t *testing.T) {
	addr := silentServer(t)
	const d = 200 * time.Millisecond
	tests := []struct {
		name string
		set  func(c net.Conn, start time.Time)
		want time.Duration // when Read should give up, after start
	}{
		{"SetReadDeadline", func(c net.Conn, s time.Time) { c.SetReadDeadline(s.Add(d)) }, d},
		{"SetDeadline", func(c net.Conn, s time.Time) { c.SetDeadline(s.Add(d)) }, d},
		{"moved-during-wait", func(c net.Conn, s time.Time) {
			c.SetReadDeadline(s.Add(d))
			time.AfterFunc(d/2, func() { c.SetReadDeadline(s.Add(2 * d)) })
		}, 2 * d},
		{"already-past", func(c net.Conn, s time.Time) { c.SetReadDeadline(s.Add(-time.Second)) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(addr.Port), Network: "ws",
				WS: transport.WSConfig{Path: "/ws?ed=2048"}}
			conn := dialTransport(t, cfg)
			var err error
			start := time.Now()
			tt.set(conn, start)
			done := make(chan error, 1)
			go func() {
				_, err := conn.Read(make([]byte, 10))
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(tt.want + 5*time.Second):
				t.Fatal("Read before the first Write ignored the read deadline")
			}
			el := time.Since(start)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Read error %v, want os.ErrDeadlineExceeded", err)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("Read error %v is not a net.Error timeout", err)
			}
			// The upper bound is loose: test machines are shared and busy.
			if el < tt.want-10*time.Millisecond || el > tt.want+1500*time.Millisecond {
				t.Errorf("Read gave up after %v, want %v", el, tt.want)
			}
			// A cleared deadline lets a later Read wait again.
			conn.SetReadDeadline(time.Time{})
			go func() {
				_, err := conn.Read(make([]byte, 10))
				done <- err
			}()
			select {
			case err := <-done:
				t.Errorf("Read with no deadline returned %v before any Write", err)
			case <-time.After(50 * time.Millisecond):
			}
			conn.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Read after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Close did not end a waiting Read")
			}
		})
	}
}

// stalledH2C serves h2c streams that never read their request body, so a
// client's writes end up blocked by HTTP/2 flow control.
func stalledH2C(t *testing.T) *net.TCPAddr {
	t.Helper()
	stop := make(chan struct{})
	addr := vmesstest.StartTCP(t, func(c net.Conn) {
		(&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		})})
	})
	// Registered after StartTCP's cleanup, so it runs first and releases
	// the handlers that cleanup waits for.
	t.Cleanup(func() { close(stop) })
	return loopbackAddr(t, addr)
}

// TestGRPCWriteDeadline: a gRPC Write blocked by flow control gives up at
// the write deadline, whether it was set before the Write or moved while
// the Write waits, with os.ErrDeadlineExceeded, and at once (it used to
// wait a second for a server response that could explain the failure).
func TestGRPCWriteDeadline(t *testing.T) {
	addr := stalledH2C(t)
	const d = 200 * time.Millisecond
	tests := []struct {
		name string
		set  func(c net.Conn, start time.Time)
		want time.Duration
	}{
		{"SetWriteDeadline", func(c net.Conn, s time.Time) { c.SetWriteDeadline(s.Add(d)) }, d},
		{"SetDeadline", func(c net.Conn, s time.Time) { c.SetDeadline(s.Add(d)) }, d},
		{"set-during-write", func(c net.Conn, s time.Time) {
			time.AfterFunc(d/2, func() { c.SetWriteDeadline(s.Add(2 * d)) })
		}, 2 * d},
		{"set-past-during-write", func(c net.Conn, s time.Time) {
			time.AfterFunc(d, func() { c.SetWriteDeadline(s) })
		}, d},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(addr.Port), Network: "grpc"}
			conn := dialTransport(t, cfg)
			var err error
			start := time.Now()
			tt.set(conn, start)
			done := make(chan error, 1)
			go func() {
				_, err := conn.Write(make([]byte, 16<<20)) // beyond any flow-control window
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(tt.want + 5*time.Second):
				t.Fatal("a Write blocked by flow control ignored the write deadline")
			}
			el := time.Since(start)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Write error %v, want os.ErrDeadlineExceeded", err)
			}
			// The upper bound is loose: test machines are shared and busy.
			if el < tt.want-10*time.Millisecond || el > tt.want+700*time.Millisecond {
				t.Errorf("Write gave up after %v, want %v", el, tt.want)
			}
		})
	}
}
