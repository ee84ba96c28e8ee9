package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// clientHello returns the bytes of a TLS ClientHello for serverName, as Go's
// crypto/tls would send it, without any network I/O. ctx bounds the
// handshake goroutine that produces it.
func clientHello(ctx context.Context, serverName string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rc := &recordConn{got: make(chan []byte, 1), closed: make(chan struct{})}
	defer rc.Close()
	tc := tls.Client(rc, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- tc.HandshakeContext(ctx) }()
	select {
	case b := <-rc.got:
		cancel()
		<-errc
		return b, nil
	case err := <-errc:
		return nil, err
	}
}

// recordConn is a net.Conn that keeps the first Write and blocks reads
// until closed.
type recordConn struct {
	got    chan []byte
	once   sync.Once
	closed chan struct{}
}

func (c *recordConn) Write(p []byte) (int, error) {
	select {
	case c.got <- append([]byte(nil), p...):
	default:
	}
	return len(p), nil
}
func (c *recordConn) Read(p []byte) (int, error) { <-c.closed; return 0, io.EOF }
func (c *recordConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
func (c *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// speaksTLS tells whether the server behind a RAW entry without TLS is in
// fact a TLS server (a common mistake: a link that lost its tls flag). It
// sends a ClientHello followed, in the same write, by padding past Xray's
// drain size: a TLS server answers the ClientHello with a handshake record
// before it reads further, while a VMess server on RAW reads the whole
// flight as a rejected request and closes at once. made says whether a
// connection was made (it counts against the server's budget).
func (p *prober) speaksTLS(ctx context.Context, e *entry, sl *slot) (tls, made bool) {
	hello, err := clientHello(ctx, e.t.Stream.Address)
	if err != nil || len(hello) == 0 {
		return false, false
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	// The entry is RAW without TLS or disguise: Dial is a plain TCP
	// connection to it.
	conn, done, err := p.connect(ctx, e, sl, e.t.Stream, nil)
	if err != nil {
		return false, !errors.Is(err, errBudget)
	}
	defer done()
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	flight := append(hello, make([]byte, padTo)...)
	if _, err := conn.Write(flight); err != nil {
		return false, true
	}
	var head [3]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		return false, true
	}
	// A TLS record: handshake (22) or alert (21), version 3.x.
	return (head[0] == 22 || head[0] == 21) && head[1] == 3, true
}
