package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"sync"
	"time"
)

// packetUploader is packet-up's upload: writes are buffered and sent as
// POST bodies of at most maxPost bytes each, numbered by seq, at least
// minInterval apart (Xray's splithttp Dial upload loop). Writes wait
// while a whole POST's worth is buffered.
type packetUploader struct {
	c       *xhttpConn
	client  *xhttpClient
	maxPost int

	mu        sync.Mutex
	buf       []byte
	wclosed   bool // CloseWrite: take no more, send what is buffered
	err       error
	more      chan struct{} // signalled when bytes are added or on close
	space     chan struct{} // signalled when bytes are taken
	closed    chan struct{}
	closeOnce sync.Once
}

func newPacketUploader(c *xhttpConn, client *xhttpClient) *packetUploader {
	return &packetUploader{
		c: c, client: client,
		// Xray draws the POST size once per session.
		maxPost: int(c.plan.maxPost.draw()),
		more:    make(chan struct{}, 1),
		space:   make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (u *packetUploader) write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		u.mu.Lock()
		switch {
		case u.err != nil:
			err := u.err
			u.mu.Unlock()
			return written, err
		case u.wclosed:
			u.mu.Unlock()
			return written, fmt.Errorf("transport: write after CloseWrite: %w", net.ErrClosed)
		}
		if room := u.maxPost - len(u.buf); room > 0 {
			n := min(room, len(b)-written)
			u.buf = append(u.buf, b[written:written+n]...)
			written += n
			u.mu.Unlock()
			signal(u.more)
			continue
		}
		u.mu.Unlock()
		select {
		case <-u.space:
		case <-u.c.write.wait():
			return written, os.ErrDeadlineExceeded
		case <-u.closed:
			return written, net.ErrClosed
		}
	}
	return written, nil
}

func (u *packetUploader) closeWrite() error {
	u.mu.Lock()
	u.wclosed = true
	u.mu.Unlock()
	signal(u.more)
	return nil
}

func (u *packetUploader) close() {
	u.closeOnce.Do(func() { close(u.closed) })
}

// fail records the upload's first error; writes return it from now on.
func (u *packetUploader) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
	signal(u.space)
}

// take waits for buffered bytes and returns up to one POST's worth.
func (u *packetUploader) take() ([]byte, bool) {
	for {
		u.mu.Lock()
		if len(u.buf) > 0 && u.err == nil {
			n := min(len(u.buf), u.maxPost)
			chunk := bytes.Clone(u.buf[:n])
			u.buf = append(u.buf[:0], u.buf[n:]...)
			u.mu.Unlock()
			signal(u.space)
			return chunk, true
		}
		u.mu.Unlock()
		select {
		case <-u.more:
		case <-u.closed:
			return nil, false
		}
	}
}

func (u *packetUploader) run() {
	var lastWrite time.Time
	for seq := int64(0); ; seq++ {
		chunk, ok := u.take()
		if !ok {
			return
		}
		if d := time.Duration(u.c.plan.minInterval.draw())*time.Millisecond - time.Since(lastWrite); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-u.closed:
				t.Stop()
				return
			}
		}
		lastWrite = time.Now()
		if u.client.exhausted(lastWrite) {
			// xmux: this connection has carried its share of requests
			// (hMaxRequestTimes) or is too old (hMaxReusableSecs).
			if err := u.rotate(); err != nil {
				u.fail(err)
				return
			}
		}
		if err := u.post(chunk, strconv.FormatInt(seq, 10)); err != nil {
			u.fail(err)
			return
		}
	}
}

// dialTimeout bounds a connection the uploader opens after Dial: the
// write deadline when one is set, else this.
const dialTimeout = 30 * time.Second

func (u *packetUploader) dialContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(u.c.ctx, dialTimeout)
	if dl := u.c.write.get(); !dl.IsZero() {
		ctx2, cancel2 := context.WithDeadline(ctx, dl)
		return ctx2, func() { cancel2(); cancel() }
	}
	return ctx, cancel
}

// rotate moves the uploads to a new connection with a fresh xmux budget.
func (u *packetUploader) rotate() error {
	ctx, cancel := u.dialContext()
	defer cancel()
	conn, err := u.c.dialCtx(ctx)
	if err != nil {
		return fmt.Errorf("xhttp: new upload connection: %w", err)
	}
	if u.client.h2 == nil {
		client := u.c.newBudget()
		client.upload = newH1UploadConn(u, conn)
		u.client = client
		return nil
	}
	client, err := u.c.newClient(conn, nil)
	if err != nil {
		return err
	}
	u.client = client
	return nil
}

// post sends one POST carrying chunk, as Xray's FillPacketRequest builds
// it. Over HTTP/2 the response is awaited in the background once the
// request is written; over HTTP/1.1 the request is written on the upload
// connection, whose responses a reader drains.
func (u *packetUploader) post(chunk []byte, seq string) error {
	c := u.c
	req := c.request(http.MethodPost, nil, seq)
	req.Body = io.NopCloser(bytes.NewReader(chunk))
	req.ContentLength = int64(len(chunk))
	if u.client.h2 == nil {
		return u.client.postH1(req)
	}
	wrote := make(chan struct{})
	var once sync.Once
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) },
	}))
	cc := u.client.h2
	go func() {
		resp, err := cc.RoundTrip(req)
		once.Do(func() { close(wrote) })
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("%w: an upload POST was answered with %s", ErrXHTTPStatus, statusText(resp))}
			}
		}
		if err != nil {
			u.fail(c.mapErr(err, &c.write))
		}
	}()
	select {
	case <-wrote:
	case <-u.closed:
	}
	return nil
}

// h1UploadConn is an HTTP/1.1 connection carrying serialized upload
// requests (Xray's H1Conn): requests are written back to back, and a
// reader takes the responses off so they never pile up.
type h1UploadConn struct {
	net.Conn
}

// openUploadConn dials the first HTTP/1.1 upload connection.
func (cl *xhttpClient) openUploadConn(ctx context.Context) error {
	conn, err := cl.c.dialCtx(ctx)
	if err != nil {
		return err
	}
	cl.upload = newH1UploadConn(cl.c.up, conn)
	return nil
}

func newH1UploadConn(u *packetUploader, conn net.Conn) *h1UploadConn {
	go func() {
		// Each answer's header gets maxXHTTPResponseHeader bytes, so a
		// server sending one without end cannot grow the parser.
		budget := &limitedReader{r: conn}
		br := bufio.NewReader(budget)
		for {
			budget.n = maxXHTTPResponseHeader
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return // closed, or the session ended
			}
			budget.n = 1 << 62
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				u.fail(&Error{Phase: PhaseUpgrade, Err: fmt.Errorf("%w: an upload POST was answered with %s", ErrXHTTPStatus, statusText(resp))})
				return
			}
		}
	}()
	return &h1UploadConn{Conn: conn}
}

// postH1 writes req on the upload connection; when that fails it tries
// once more on a new connection, as Xray's pool does.
func (cl *xhttpClient) postH1(req *http.Request) error {
	var b bytes.Buffer
	b.Grow(512 + int(req.ContentLength))
	if err := req.Write(&b); err != nil {
		return err
	}
	if _, err := cl.upload.Write(b.Bytes()); err == nil {
		return nil
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	u := cl.c.up
	ctx, cancel := u.dialContext()
	defer cancel()
	if err := cl.openUploadConn(ctx); err != nil {
		return fmt.Errorf("xhttp: new upload connection: %w", err)
	}
	_, err := cl.upload.Write(b.Bytes())
	return err
}

// limitedReader reads from r until n bytes have passed, then fails; n
// may be reset between uses.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("xhttp: answer header too long")
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	return n, err
}
