package vmess

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/internal/codec"
)

// hostileClient accepts one connection on loopback, reads the request
// header, and replies with whatever reply(c) builds for the client's keys.
// It returns the connected client Conn.
func hostileClient(t *testing.T, acct Account, reply func(c *Conn) []byte, closeAfter bool) *Conn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	c, err := Client(raw, acct, Destination{Host: "example.com", Port: 80}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	go func() {
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadAtLeast(srv, make([]byte, 4096), 1) // the request
		if b := reply(c); len(b) > 0 {
			srv.Write(b)
		}
		if closeAfter {
			srv.Close()
		}
	}()
	return c
}

// TestHostileResponses feeds truncated, garbage, oversized and mismatched
// responses to the client: each ends in a typed error within the deadline.
func TestHostileResponses(t *testing.T) {
	acct := Account{ID: mustID(t, vecUUID), Security: SecurityAES128GCM}
	good := func(c *Conn) []byte { return serverReply(t, c, 3, 1000) }
	hdr := func(c *Conn) []byte { return codec.SealResponseHeader(nil, c.respKey, c.respIV, []byte{c.v, 0, 0, 0}) }
	tests := []struct {
		name  string
		reply func(c *Conn) []byte
		close bool
		want  error
	}{
		{"silence then close", func(*Conn) []byte { return nil }, true, ErrNoResponse},
		{"silence past the deadline", func(*Conn) []byte { return nil }, false, os.ErrDeadlineExceeded},
		{"garbage", func(*Conn) []byte { return bytes.Repeat([]byte("HTTP/1.1 400 Bad Request\r\n"), 10) }, true, ErrResponseMismatch},
		{"1 byte then close", func(*Conn) []byte { return []byte{1} }, true, ErrProtocol},
		{"header truncated", func(c *Conn) []byte { return hdr(c)[:30] }, true, ErrProtocol},
		{"wrong V", func(c *Conn) []byte {
			return codec.SealResponseHeader(nil, c.respKey, c.respIV, []byte{c.v + 1, 0, 0, 0})
		}, true, ErrResponseMismatch},
		{"short payload", func(c *Conn) []byte { return codec.SealResponseHeader(nil, c.respKey, c.respIV, []byte{c.v, 0}) }, true, ErrProtocol},
		{"oversize header length", func(c *Conn) []byte {
			return codec.SealResponseHeader(nil, c.respKey, c.respIV, make([]byte, 60000))
		}, true, ErrProtocol},
		{"command longer than payload", func(c *Conn) []byte {
			return codec.SealResponseHeader(nil, c.respKey, c.respIV, []byte{c.v, 0, 1, 200, 1, 2})
		}, true, ErrProtocol},
		{"keys of another request", func(c *Conn) []byte {
			k, iv := c.respKey, c.respIV
			k[0]++
			return codec.SealResponseHeader(nil, k, iv, []byte{c.v, 0, 0, 0})
		}, true, ErrResponseMismatch},
		{"body truncated mid-chunk", func(c *Conn) []byte { b := good(c); return b[:len(b)-500] }, true, ErrProtocol},
		{"body chunk corrupted", func(c *Conn) []byte { b := good(c); b[len(hdr(c))+10] ^= 1; return b }, true, ErrProtocol},
		{"body garbage after header", func(c *Conn) []byte { return append(hdr(c), bytes.Repeat([]byte{0xff}, 70000)...) }, true, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hostileClient(t, acct, tt.reply, tt.close)
			start := time.Now()
			c.SetDeadline(start.Add(700 * time.Millisecond))
			if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			_, err := io.ReadAll(c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("took %v", el)
			}
			if errors.Is(err, ErrResponseMismatch) || errors.Is(err, ErrProtocol) {
				if bytes.Contains([]byte(err.Error()), []byte(vecUUID[:8])) {
					t.Fatalf("error leaks the id: %v", err)
				}
			}
		})
	}
	t.Run("good reply", func(t *testing.T) {
		c := hostileClient(t, acct, good, true)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("x"))
		b, err := io.ReadAll(c)
		if err != nil || len(b) != 3000 {
			t.Fatalf("%d bytes, %v", len(b), err)
		}
	})
	t.Run("command section is skipped", func(t *testing.T) {
		c := hostileClient(t, acct, func(c *Conn) []byte {
			b := codec.SealResponseHeader(nil, c.respKey, c.respIV, []byte{c.v, 0, 1, 3, 7, 7, 7})
			return append(b, serverReply(t, c, 1, 10)[38:]...)
		}, true)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("x"))
		b, err := io.ReadAll(c)
		if err != nil || len(b) != 10 {
			t.Fatalf("%d bytes, %v", len(b), err)
		}
	})
	t.Run("handshake context cancel", func(t *testing.T) {
		c := hostileClient(t, acct, func(*Conn) []byte { return nil }, false)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		err := c.HandshakeContext(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// TestReadDuringLongWrite: a Read must not wait for a concurrent long
// Write to finish once that Write has sent the request header. Over an
// unbuffered pipe the server below answers only after taking part of the
// body and then blocks until the client reads, so a Read that waited for
// the Write would deadlock.
func TestReadDuringLongWrite(t *testing.T) {
	t.Parallel()
	cli, srv := net.Pipe()
	defer cli.Close()
	defer srv.Close()
	acct := Account{ID: mustID(t, vecUUID), Security: SecurityAES128GCM}
	written := make(chan struct{})
	cfg := &Config{Trace: &Trace{RequestWritten: func(time.Time) { close(written) }}}
	c, err := Client(cli, acct, Destination{Host: "example.com", Port: 80}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	go func() {
		io.ReadFull(srv, make([]byte, writeBufferSize+1000)) // past the first conn.Write
		srv.Write(serverReply(t, c, 1, 10))                  // blocks until the client reads
		io.Copy(io.Discard, srv)
	}()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 1<<20))
		werr <- err
	}()
	<-written // the Write has sent the header and still holds the write lock
	got := make([]byte, 10)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read during the write: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
}

// TestTimeoutThenResume: a read deadline that passes while nothing has
// arrived (before the response, or between chunks) leaves the Conn usable:
// extending the deadline lets the next Read continue.
func TestTimeoutThenResume(t *testing.T) {
	t.Parallel()
	cli, srv := net.Pipe()
	defer cli.Close()
	defer srv.Close()
	c, err := Client(cli, Account{ID: mustID(t, vecUUID), Security: SecurityAES128GCM}, Destination{Host: "a", Port: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reply := serverReply(t, c, 2, 10)
	go func() {
		io.ReadFull(srv, make([]byte, 16))
		io.Copy(io.Discard, srv)
	}()
	first := firstChunkEnd(t, c)
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 100)
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("before the response: %v", err)
	}
	go srv.Write(reply[:first])
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(buf); err != nil || n != 10 {
		t.Fatalf("first chunk after resuming: %d, %v", n, err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("between chunks: %v", err)
	}
	go srv.Write(reply[first:])
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(buf); err != nil || n != 10 {
		t.Fatalf("second chunk after resuming: %d, %v", n, err)
	}
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("after EOS: %v", err)
	}
}

// firstChunkEnd returns the length of the response header plus the first
// chunk of serverReply(t, c, n, 10), by framing the same chunks again.
func firstChunkEnd(t *testing.T, c *Conn) int {
	b, _ := respBodyWriter(t, c).AppendChunk(nil, bytes.Repeat([]byte{0xab}, 10))
	return 38 + len(b)
}
