package transport

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestHTTPHeaderResumesAfterTimeout: a read deadline that passes partway
// through the server's disguise response must not lose the bytes already
// read; once the deadline is moved, reading resumes inside the header.
// The split points put the end of the header (CRLFCRLF) across the
// timeout, where a reader that starts over cannot find it.
func TestHTTPHeaderResumesAfterTimeout(t *testing.T) {
	t.Parallel()
	const resp = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nBODY"
	tests := []struct {
		name  string
		split int // bytes sent before the timeout
	}{
		{"inside-status-line", 5},
		{"before-final-crlf", len(resp) - len("\r\nBODY")},
		{"after-first-cr", len(resp) - len("\n\r\nBODY")},
		{"three-of-four", len(resp) - len("\nBODY")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			defer server.Close()
			c := newHTTPHeaderConn(client, &HTTPRequest{})
			sent := make(chan error, 1)
			// A pipe write waits for a reader; the write deadline keeps a
			// badly scheduled run from hanging the whole test binary.
			server.SetWriteDeadline(time.Now().Add(5 * time.Second))
			go func() {
				_, err := server.Write([]byte(resp[:tt.split]))
				sent <- err
			}()
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("first Read = %d, %v; want a deadline error", n, err)
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			server.SetWriteDeadline(time.Now().Add(5 * time.Second))
			go server.Write([]byte(resp[tt.split:]))
			n, err = io.ReadFull(c, buf[:4])
			if err != nil || string(buf[:n]) != "BODY" {
				t.Fatalf("Read after the deadline moved = %q, %v; want \"BODY\"", buf[:n], err)
			}
		})
	}
}

// TestDeadline checks the shared deadline type: its channel is closed
// exactly while the deadline has passed, through every kind of move, and
// onExpire runs each time it passes.
func TestDeadline(t *testing.T) {
	t.Parallel()
	var d deadline
	fired := make(chan struct{}, 10)
	d.onExpire = func() { fired <- struct{}{} }
	closedNow := func() bool { return isClosed(d.wait()) }
	expectFired := func(want bool) {
		t.Helper()
		select {
		case <-fired:
			if !want {
				t.Error("onExpire ran, want not")
			}
		case <-time.After(100 * time.Millisecond):
			if want {
				t.Error("onExpire did not run")
			}
		}
	}
	steps := []struct {
		name   string
		set    func() time.Time
		after  time.Duration // wait before checking
		closed bool
		fired  bool
	}{
		{"none", func() time.Time { return time.Time{} }, 0, false, false},
		{"past", func() time.Time { return time.Now().Add(-time.Second) }, 0, true, true},
		{"cleared", func() time.Time { return time.Time{} }, 0, false, false},
		{"future-not-yet", func() time.Time { return time.Now().Add(time.Hour) }, 0, false, false},
		{"moved-near-timer", func() time.Time { return time.Now().Add(300 * time.Millisecond) }, 600 * time.Millisecond, true, true},
		{"moved-later-after-passing", func() time.Time { return time.Now().Add(time.Hour) }, 0, false, false},
		{"past-again", func() time.Time { return time.Unix(1, 0) }, 0, true, true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			at := s.set()
			d.set(at)
			if !d.get().Equal(at) {
				t.Errorf("get() = %v, want %v", d.get(), at)
			}
			// Only judge "not yet" while it really is not yet: a loaded
			// machine may preempt us past the deadline.
			if s.after > 0 && closedNow() && time.Now().Before(at) {
				t.Error("expired before its time")
			}
			time.Sleep(s.after)
			if got := closedNow(); got != s.closed {
				t.Errorf("expired = %v, want %v", got, s.closed)
			}
			expectFired(s.fired)
		})
	}
	at := time.Now().Add(time.Second)
	d.set(at)
	d.stop()
	stopped := time.Now()
	time.Sleep(1500 * time.Millisecond)
	if stopped.Before(at) { // else a preempted run stopped it too late to judge
		if closedNow() {
			t.Error("a stopped deadline expired")
		}
		expectFired(false)
	}
}
