package vmesstest

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestStartTCP checks the accept loop: each connection reaches the
// handler, is closed when the handler returns, and when the test ends the
// listener is closed and every handler still running has returned.
func TestStartTCP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		conns int
	}{
		{"one", 1},
		{"several", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var running, finished atomic.Int32
			var addr string
			t.Run("serve", func(t *testing.T) {
				addr = StartTCP(t, func(c net.Conn) {
					running.Add(1)
					defer finished.Add(1)
					c.Write([]byte("hi"))
					io.Copy(io.Discard, c) // blocks until cleanup closes c
				})
				for range tt.conns {
					c, err := net.DialTimeout("tcp", addr, 2*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					buf := make([]byte, 2)
					if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
						t.Fatalf("read %q, %v", buf, err)
					}
				}
			})
			if got := finished.Load(); got != int32(tt.conns) || running.Load() != got {
				t.Fatalf("after cleanup %d of %d handlers returned", got, running.Load())
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Fatalf("listener %s still accepts after cleanup", addr)
			}
		})
	}
}

// TestStartBlackhole checks that the blackhole accepts and never answers,
// and that its connections are released when the test ends.
func TestStartBlackhole(t *testing.T) {
	t.Parallel()
	var c net.Conn
	t.Run("serve", func(t *testing.T) {
		addr := StartBlackhole(t)
		var err error
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); n != 0 || !ok || !ne.Timeout() {
			t.Fatalf("read %d, %v; want a timeout", n, err)
		}
	})
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after cleanup read error %v, want EOF (server closed)", err)
	}
}
