package probetest

import (
	"encoding/binary"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// DeadHost is a loopback address whose TCP SYNs go unanswered, like a
// server that is down or behind a firewall that drops: a listening socket
// with an accept backlog of 0 that never accepts, its queue filled by one
// connection of its own. Linux drops a SYN that arrives while the accept
// queue is full (tcp_conn_request), so a client's connect hangs until its
// own timeout.
type DeadHost struct {
	// Addr is host:port; Host and Port are Addr split.
	Addr string
	Host string
	Port int

	fd      int
	fillers []net.Conn
}

// StartDeadHost starts a dead host and closes it when the test ends.
func StartDeadHost(tb testing.TB) *DeadHost {
	tb.Helper()
	d, err := NewDeadHost()
	if err != nil {
		tb.Fatalf("probetest: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// NewDeadHost starts a dead host; the caller closes it.
func NewDeadHost() (*DeadHost, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dead host: socket: %w", err)
	}
	d := &DeadHost{fd: fd}
	fail := func(what string, err error) (*DeadHost, error) {
		d.Close()
		return nil, fmt.Errorf("dead host: %s: %w", what, err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail("bind", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		return fail("listen", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	d.Host, d.Port = "127.0.0.1", sa.(*syscall.SockaddrInet4).Port
	d.Addr = net.JoinHostPort(d.Host, fmt.Sprint(d.Port))
	// Fill the queue with connections of our own until the kernel reports
	// it full (with a backlog of 0, after the first).
	for range 4 {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err != nil {
			return fail("fill the accept queue", err)
		}
		d.fillers = append(d.fillers, c)
		for range 100 {
			if queued, limit, err := acceptQueue(fd); err != nil {
				return fail("read the accept queue", err)
			} else if queued > limit {
				return d, nil
			} else if queued == uint32(len(d.fillers)) {
				break // room for one more
			}
			time.Sleep(time.Millisecond) // the last ACK is still on its way
		}
	}
	return fail("fill the accept queue", fmt.Errorf("%d connections completed and the queue is still open", len(d.fillers)))
}

// acceptQueue reads a listening socket's accept queue length and limit:
// for a socket in LISTEN state Linux reports them in TCP_INFO's
// tcpi_unacked and tcpi_sacked (tcp_get_info), the u32 fields at byte
// offsets 24 and 28 of struct tcp_info.
func acceptQueue(fd int) (queued, limit uint32, err error) {
	var info [104]byte
	n := uint32(len(info))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&n)), 0)
	if errno != 0 {
		return 0, 0, errno
	}
	if n < 32 {
		return 0, 0, fmt.Errorf("TCP_INFO of %d bytes", n)
	}
	return binary.NativeEndian.Uint32(info[24:]), binary.NativeEndian.Uint32(info[28:]), nil
}

// Close releases the listening socket and the connections that fill it.
func (d *DeadHost) Close() error {
	for _, c := range d.fillers {
		c.Close()
	}
	d.fillers = nil
	if d.fd >= 0 {
		err := syscall.Close(d.fd)
		d.fd = -1
		return err
	}
	return nil
}

// RefusedPort is a loopback port that refuses connections: a socket bound
// to it that never listens, so no other program can take the port while
// it exists (a port merely closed may be reused by another listener), and
// a SYN to it is answered with a reset.
type RefusedPort struct {
	// Addr is host:port; Host and Port are Addr split.
	Addr string
	Host string
	Port int

	fd int
}

// StartRefusedPort reserves a refusing port until the test ends.
func StartRefusedPort(tb testing.TB) *RefusedPort {
	tb.Helper()
	r, err := NewRefusedPort()
	if err != nil {
		tb.Fatalf("probetest: %v", err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// NewRefusedPort reserves a refusing port; the caller closes it.
func NewRefusedPort() (*RefusedPort, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("refused port: socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("refused port: bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("refused port: getsockname: %w", err)
	}
	r := &RefusedPort{Host: "127.0.0.1", Port: sa.(*syscall.SockaddrInet4).Port, fd: fd}
	r.Addr = net.JoinHostPort(r.Host, fmt.Sprint(r.Port))
	return r, nil
}

// Close releases the port.
func (r *RefusedPort) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := syscall.Close(r.fd)
	r.fd = -1
	return err
}
