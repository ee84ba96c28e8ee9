package probetest

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestRelayDelaysEachDirection: an echo through a relay of 200 ms RTT
// takes at least 200 ms, and the relay counts the connection.
func TestRelayDelaysEachDirection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	const rtt = 200 * time.Millisecond
	r := StartRelay(t, l.Addr().String(), rtt)
	c, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < rtt {
		t.Fatalf("echo took %v, want at least the %v round trip", el, rtt)
	}
	if string(buf) != "ping" {
		t.Fatalf("echo %q", buf)
	}
	// A half close travels too: the echo server closes after our FIN.
	c.(*net.TCPConn).CloseWrite()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after CloseWrite: %d, %v; want EOF", n, err)
	}
	if r.Conns() != 1 || r.MaxOpen() != 1 {
		t.Fatalf("conns %d, max open %d; want 1 and 1", r.Conns(), r.MaxOpen())
	}
}

// TestDeadHostDropsSYN: a connect to a dead host does not complete; it
// runs into the dialer's timeout.
func TestDeadHostDropsSYN(t *testing.T) {
	d := StartDeadHost(t)
	const timeout = 300 * time.Millisecond
	start := time.Now()
	c, err := net.DialTimeout("tcp", d.Addr, timeout)
	if err == nil {
		c.Close()
		t.Fatal("connected to a dead host")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("dial: %v; want a timeout", err)
	}
	if el := time.Since(start); el < timeout {
		t.Fatalf("failed after %v, before the %v timeout: %v", el, timeout, err)
	}
}

// TestRefusedPortRefuses: a connect to a reserved port is refused at
// once, and no one else can listen on it.
func TestRefusedPortRefuses(t *testing.T) {
	r := StartRefusedPort(t)
	if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("connected to a refusing port")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial: %v; want connection refused", err)
	}
	if l, err := net.Listen("tcp", r.Addr); err == nil {
		l.Close()
		t.Fatal("another listener took the reserved port")
	}
}
