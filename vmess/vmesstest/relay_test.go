package vmesstest

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestRelayDropping: the connections drop chooses are hung up without a
// byte, the others echo through the relay, and Conns counts both.
func TestRelayDropping(t *testing.T) {
	t.Parallel()
	echo := StartEcho(t)
	r := StartRelayDropping(t, echo.Addr, func(n int64) bool { return n == 2 })
	for i, wantEcho := range []bool{true, false, true} {
		c, err := net.DialTimeout("tcp", r.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("hi"))
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		c.Close()
		if got := err == nil && string(buf) == "hi"; got != wantEcho {
			t.Fatalf("connection %d: read %q, %v; want echo %v", i+1, buf, err, wantEcho)
		}
	}
	if n := r.Conns(); n != 3 {
		t.Fatalf("Conns() = %d, want 3", n)
	}
}
