package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// openH2 starts HTTP/2 on conn and proves that the peer speaks it with
// a PING round trip, within ctx. (A stream's response headers cannot be
// awaited instead: Xray's gRPC server and sing-box's HTTP/2 transport
// send them only with their first data.)
func openH2(ctx context.Context, conn net.Conn, t *http2.Transport) (*http2.ClientConn, error) {
	var cc *http2.ClientConn
	err := withConnContext(ctx, conn, func() error {
		var err error
		if cc, err = t.NewClientConn(conn); err != nil {
			return err
		}
		return cc.Ping(ctx)
	})
	if err != nil && cc != nil {
		cc.Close()
	}
	return cc, err
}

// h2Stream is one HTTP/2 request on a connection of its own whose body
// carries the upload and whose response body the download: the shape of
// gRPC's gun tunnel and of the HTTP/2 transport. The request runs in the
// background; respReady closes when its response (or failure) is known.
//
// The stream's deadlines never reach the connection: HTTP/2 reads all
// frames in one goroutine and writes from several, and a deadline that
// passes there ends the whole session. Reads go through a streamReader
// instead, and a write deadline ends a Write blocked on the body pipe.
type h2Stream struct {
	cc     *http2.ClientConn
	raw    net.Conn
	cancel context.CancelFunc
	done   <-chan struct{} // closed by Close
	pw     *io.PipeWriter
	wmu    sync.Mutex // held by a Write in progress

	respReady chan struct{}
	resp      *http.Response
	respErr   error

	dl lazyReader // the download, once read

	streamDeadlines
	closeOnce sync.Once
}

// startH2Stream sends req on cc with a pipe as its body, in a context
// that outlives ctx (Dial's) until Close. check, when set, judges the
// response: an error it returns becomes respErr and also ends the body
// pipe, so that a Write says why.
func startH2Stream(ctx context.Context, cc *http2.ClientConn, conn net.Conn, req *http.Request, check func(*http.Response) error) *h2Stream {
	streamCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	pr, pw := io.Pipe()
	req.Body, req.ContentLength = pr, -1
	req = req.WithContext(streamCtx)
	s := &h2Stream{cc: cc, raw: conn, cancel: cancel, done: streamCtx.Done(), pw: pw, respReady: make(chan struct{})}
	// A write deadline interrupts only a Write that is still blocked
	// (by HTTP/2 flow control); the stream is then broken for good.
	s.write.onExpire = func() {
		if !s.wmu.TryLock() {
			s.pw.CloseWithError(os.ErrDeadlineExceeded)
			return
		}
		s.wmu.Unlock()
	}
	go func() {
		s.resp, s.respErr = cc.RoundTrip(req)
		if s.respErr == nil && check != nil {
			if err := check(s.resp); err != nil {
				s.resp.Body.Close()
				s.respErr = err
				pr.CloseWithError(err)
			}
		}
		close(s.respReady)
	}()
	return s
}

// readStream returns what download (the stream's payload decoder, which
// reads the response) gives, within the read deadline.
func (s *h2Stream) readStream(b []byte, download func() io.Reader) (int, error) {
	return s.dl.read(b, download, &s.read, s.done)
}

// respWait bounds how long a failed Write waits for the request's
// outcome. The HTTP/2 stack closes the request body only when the stream
// has ended, and the outcome follows at once, so this only keeps an
// unforeseen case from hanging a Write.
const respWait = 10 * time.Second

// awaitResponse waits, after the HTTP/2 stack closed the request body,
// until the request's outcome is known, and reports whether it is; it
// gives up at the write deadline, at Close, or after respWait.
func (s *h2Stream) awaitResponse() bool {
	t := time.NewTimer(respWait)
	defer t.Stop()
	select {
	case <-s.respReady:
		return true
	case <-s.write.wait():
	case <-s.done:
	case <-t.C:
	}
	return false
}

// mapErr marks failures after a passed deadline with
// os.ErrDeadlineExceeded.
func (s *h2Stream) mapErr(err error, write bool) error {
	if err == nil || err == io.EOF || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	dl := s.read.get()
	if write {
		dl = s.write.get()
	}
	if !dl.IsZero() && !time.Now().Before(dl) {
		return fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, err)
	}
	return err
}

// Close ends the request and closes the connection.
func (s *h2Stream) Close() error {
	s.closeOnce.Do(func() {
		s.pw.CloseWithError(net.ErrClosed)
		s.cancel()
		s.cc.Close()
		s.raw.Close()
		s.stop()
		s.dl.stop()
	})
	return nil
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.raw.LocalAddr() }
func (s *h2Stream) RemoteAddr() net.Addr { return s.raw.RemoteAddr() }
