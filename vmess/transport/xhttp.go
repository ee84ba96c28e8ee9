package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// XHTTP (Xray's splithttp) carries the stream in ordinary HTTP requests:
// a GET whose response body is the download and POSTs whose bodies are
// the upload (packet-up), a GET download plus one streaming POST upload
// (stream-up), or one streaming POST for both (stream-one). Requests are
// built as Xray's client builds them (splithttp Config.FillStreamRequest
// and FillPacketRequest) and sent through the same Go HTTP stacks Xray
// uses: net/http's HTTP/1.1 transport with keep-alives off for streams,
// serialized requests on a raw connection for HTTP/1.1 uploads, and
// x/net/http2 for HTTP/2. Unlike Xray, Dial owns its connections (one
// session per Dial), so each phase is timed and bounded by ctx.

// maxXHTTPResponseHeader bounds the header of every answer, HTTP/1.1 or
// HTTP/2 (net/http's and x/net's defaults are 10 MB): Xray's answers
// carry at most ~1 KB of X-Padding.
const maxXHTTPResponseHeader = 64 << 10

// ErrXHTTPStatus is the cause when an XHTTP request is answered with a
// status other than 200.
var ErrXHTTPStatus = errors.New("xhttp: server refused the request")

// ErrXHTTPUploadEnded is the cause when a Write fails because the
// streaming upload request (stream-up, stream-one) ended under it: its
// connection closed or the server reset it. Xray's server ends the whole
// session then (the upload is its request reader), so the download ends
// too.
var ErrXHTTPUploadEnded = errors.New("xhttp: the upload request ended (its connection closed or the server ended it)")

// xhttpConn is one XHTTP session as a net.Conn.
type xhttpConn struct {
	plan    *xhttpPlan
	base    url.URL // scheme, host, normalised path and query
	session string  // "" for stream-one
	dialCtx func(ctx context.Context) (net.Conn, error)

	cancel context.CancelFunc // ends every request of the session
	ctx    context.Context    // the requests' context (not Dial's)

	// HTTP/2 (TLS or h2c): the connection carrying the requests, and the
	// current one for packet-up uploads (xmux may move them).
	h2 *http2.Transport

	mu    sync.Mutex
	raws  []net.Conn // every connection of the session, for Close
	first net.Conn

	download io.ReadCloser
	dl       lazyReader // the download, once read

	// Streaming upload (stream-up, stream-one).
	pw      *io.PipeWriter
	wmu     sync.Mutex
	wclosed bool
	upErr   chan error // the streaming upload's response, when it fails

	// packet-up
	up *packetUploader

	// The session's deadlines never reach its connections: HTTP/2 reads
	// every stream's frames in one goroutine (a deadline passing there
	// ends the session), and net/http takes a timed-out read of an
	// HTTP/1.1 body for a broken connection.
	streamDeadlines
	closeOnce sync.Once
}

// newSessionID is a random (version 4) UUID, as Xray's uuid.New.
func newSessionID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

func dialXHTTP(ctx context.Context, cfg *Config, p *plan, trace *Trace) (net.Conn, error) {
	x := p.xhttp
	first, err := dialTLS(ctx, cfg, p, trace)
	if err != nil {
		return nil, err
	}
	c := &xhttpConn{plan: x, first: first, raws: []net.Conn{first}, upErr: make(chan error, 1)}
	c.base = url.URL{Scheme: "http", Host: x.host, Path: x.path, RawQuery: x.query}
	if p.tls != nil {
		c.base.Scheme = "https"
	}
	c.dialCtx = func(ctx context.Context) (net.Conn, error) {
		conn, err := dialTLS(ctx, cfg, p, nil)
		if err != nil {
			return nil, err
		}
		c.adopt(conn)
		return conn, nil
	}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if x.mode != "stream-one" {
		if c.session, err = newSessionID(); err != nil {
			return nil, &Error{Phase: PhaseConfig, Err: err}
		}
	}
	if x.version != httpVersion1 {
		c.h2 = &http2.Transport{AllowHTTP: true, ReadIdleTimeout: x.keepAlive, IdleConnTimeout: 300 * time.Second,
			MaxHeaderListSize: maxXHTTPResponseHeader}
	}
	// A write deadline interrupts only a Write that is still blocked
	// (by HTTP/2 flow control, or a slow HTTP/1.1 peer); the upload is
	// then broken for good.
	c.write.onExpire = func() {
		if c.pw == nil || c.wmu.TryLock() {
			if c.pw != nil {
				c.wmu.Unlock()
			}
			return
		}
		c.pw.CloseWithError(os.ErrDeadlineExceeded)
	}

	start := time.Now()
	if proto := negotiatedProtocol(first); x.version == httpVersion2 && proto != "" && proto != "h2" {
		return nil, &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("xhttp: the server chose %q by ALPN, not h2; if it serves XHTTP over HTTP/1.1, set tlsSettings.alpn to [\"http/1.1\"]", proto)}
	}
	// The download: stream-one's single POST, or the GET of the others.
	var body io.Reader
	var ub *uploadBody
	if x.mode == "stream-one" {
		ub, c.pw = newUploadBody()
		body = ub
	}
	client, err := c.newClient(first, ub)
	if err != nil {
		return nil, &Error{Phase: PhaseUpgrade, Err: c.explain(err)}
	}
	req := c.streamRequest(body)
	resp, err := c.awaitResponse(ctx, first, func() (*http.Response, error) { return client.roundTrip(req) })
	if err != nil {
		return nil, &Error{Phase: PhaseUpgrade, Err: c.explain(err)}
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("%w: %s answered the %s with %s; check xhttpSettings.path, host and mode", ErrXHTTPStatus, x.host, requestName(req), statusText(resp))}
	}
	c.download = resp.Body

	switch x.mode {
	case "stream-up":
		if err := c.startStreamUpload(ctx, client); err != nil {
			return nil, err
		}
	case "packet-up":
		c.up = newPacketUploader(c, client)
		if x.version == httpVersion1 {
			// HTTP/1.1 uploads go on a connection of their own; open the
			// first within Dial so that ctx bounds it.
			if err := c.up.client.openUploadConn(ctx); err != nil {
				return nil, &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("xhttp: upload connection: %w", c.explain(err))}
			}
		}
		go c.up.run()
	}
	trace.done(PhaseUpgrade, start)
	ok = true
	return c, nil
}

// requestName names a request in errors without its path, which may hold
// the user id.
func requestName(req *http.Request) string {
	if req.Method == http.MethodGet {
		return "download GET"
	}
	return "stream POST"
}

// explain adds a hint to a failed HTTP exchange.
func (c *xhttpConn) explain(err error) error {
	switch c.plan.version {
	case httpVersion2:
		return fmt.Errorf("xhttp over HTTP/2: %w (does the server speak HTTP/2 over TLS?)", err)
	case httpVersionC:
		return fmt.Errorf("xhttp over h2c: %w (does the server accept HTTP/2 without TLS?)", err)
	}
	return fmt.Errorf("xhttp over HTTP/1.1: %w", err)
}

// adopt records a connection of the session, to be closed with it.
func (c *xhttpConn) adopt(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raws = append(c.raws, conn)
}

// awaitResponse runs rt, which sends a request on conn, and waits for its
// response headers within ctx; when ctx ends first, the session's
// connections are cut.
func (c *xhttpConn) awaitResponse(ctx context.Context, conn net.Conn, rt func() (*http.Response, error)) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := rt()
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		// Cut everything the request may wait on: its context, its
		// connection, and the body pipe its writer reads.
		c.cancel()
		conn.SetDeadline(aLongTimeAgo)
		if c.pw != nil {
			c.pw.CloseWithError(ctx.Err())
		}
		r := <-done
		if r.resp != nil {
			r.resp.Body.Close()
		}
		return nil, ctxErr(ctx, errors.New("no response headers"))
	}
}

// xhttpClient is one HTTP connection of the session with Xray's xmux
// request budget: HTTP/2 streams, or for HTTP/1.1 a stream transport
// plus a raw connection for serialized upload requests.
type xhttpClient struct {
	c            *xhttpConn
	h2           *http2.ClientConn
	h1           *http.Transport
	leftRequests int64
	unreusableAt time.Time

	upload *h1UploadConn // HTTP/1.1 packet-up only
}

// newBudget is a client with a fresh xmux budget (Xray's
// XmuxManager.newXmuxClient) and no connection yet.
func (c *xhttpConn) newBudget() *xhttpClient {
	cl := &xhttpClient{c: c, leftRequests: 1<<31 - 1}
	if n := c.plan.maxRequests.draw(); n > 0 {
		cl.leftRequests = int64(n)
	}
	if s := c.plan.maxReusable.draw(); s > 0 {
		cl.unreusableAt = time.Now().Add(time.Duration(s) * time.Second)
	}
	return cl
}

// newClient wraps conn (already dialed) as an HTTP client with a fresh
// xmux budget. body, when set, is the streaming request body that will
// be sent on conn over HTTP/1.1: it ends when net/http closes the
// connection, because net/http's writer would otherwise wait on it for
// ever after a failed exchange.
func (c *xhttpConn) newClient(conn net.Conn, body *uploadBody) (*xhttpClient, error) {
	cl := c.newBudget()
	if c.plan.version != httpVersion1 {
		cc, err := c.h2.NewClientConn(conn)
		if err != nil {
			return nil, err
		}
		cl.h2 = cc
		return cl, nil
	}
	// Stream requests over HTTP/1.1 go through net/http with keep-alives
	// off, as in Xray; each takes a connection given to it here.
	conns := make(chan net.Conn, 1)
	if body != nil {
		conns <- &h1Conn{Conn: conn, onClose: body.connClosed}
	} else {
		conns <- conn
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		select {
		case conn := <-conns:
			return conn, nil
		default:
		}
		return c.dialCtx(ctx)
	}
	cl.h1 = &http.Transport{DialContext: dial, DialTLSContext: dial, DisableKeepAlives: true, IdleConnTimeout: 300 * time.Second,
		MaxResponseHeaderBytes: maxXHTTPResponseHeader}
	return cl, nil
}

// h1Conn is a connection handed to net/http that runs onClose when
// net/http closes it.
type h1Conn struct {
	net.Conn
	once    sync.Once
	onClose func()
}

func (c *h1Conn) Close() error {
	c.once.Do(c.onClose)
	return c.Conn.Close()
}

// uploadBody is a streaming request body fed through a pipe.
type uploadBody struct {
	pr       *io.PipeReader
	connGone atomic.Bool
}

func newUploadBody() (*uploadBody, *io.PipeWriter) {
	pr, pw := io.Pipe()
	return &uploadBody{pr: pr}, pw
}

// Read reads the pipe. Once the HTTP/1.1 connection is gone the body
// ends: net/http then reports the exchange's own failure (a response
// header over the limit, say) rather than the body's "read/write on
// closed pipe".
func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	if err != nil && b.connGone.Load() {
		return n, io.EOF
	}
	return n, err
}

// Close is the HTTP stack's when it is done with the body (the exchange
// failed or ended): Writes feeding it fail from then on, with
// ErrXHTTPUploadEnded unless something said why first.
func (b *uploadBody) Close() error { return b.pr.CloseWithError(ErrXHTTPUploadEnded) }

// connClosed ends the body and the Writes that feed it: net/http closed
// the connection.
func (b *uploadBody) connClosed() {
	b.connGone.Store(true)
	b.pr.CloseWithError(ErrXHTTPUploadEnded)
}

// fail ends the body and the Writes that feed it with err.
func (b *uploadBody) fail(err error) { b.pr.CloseWithError(err) }

// roundTrip sends a stream request (its connection was given to
// newClient, or is dialed).
func (cl *xhttpClient) roundTrip(req *http.Request) (*http.Response, error) {
	cl.leftRequests--
	if cl.h2 != nil {
		return cl.h2.RoundTrip(req)
	}
	return cl.h1.RoundTrip(req)
}

// exhausted reports whether xmux retires this client before the next
// request (Xray: LeftRequests.Add(-1) <= 0, or past UnreusableAt).
func (cl *xhttpClient) exhausted(now time.Time) bool {
	cl.leftRequests--
	return cl.leftRequests <= 0 || (!cl.unreusableAt.IsZero() && now.After(cl.unreusableAt))
}

// request builds a request as Xray's client does: the configured headers
// and the browser's fetch headers, x_padding in the Referer, then the
// session id and sequence number appended to the path.
func (c *xhttpConn) request(method string, body io.Reader, seq string) *http.Request {
	u := c.base
	req, err := http.NewRequestWithContext(c.ctx, method, u.String(), body)
	if err != nil {
		// The URL came from a url.URL; it parses.
		panic(err)
	}
	req.Header = http.Header{}
	for k, v := range c.plan.headers {
		req.Header.Add(k, v)
	}
	addBrowserHeaders(req.Header, fetchRequest, time.Now())
	ref := *req.URL
	ref.RawQuery = "x_padding=" + strings.Repeat("X", int(c.plan.padding.draw()))
	req.Header.Set("Referer", ref.String())
	if c.session != "" {
		req.URL.Path = appendPath(req.URL.Path, c.session)
	}
	if seq != "" {
		req.URL.Path = appendPath(req.URL.Path, seq)
	}
	return req
}

// streamRequest is the download GET, or the streaming POST when body is
// set (Xray's FillStreamRequest).
func (c *xhttpConn) streamRequest(body io.Reader) *http.Request {
	method := http.MethodGet
	if body != nil {
		method = http.MethodPost
	}
	req := c.request(method, body, "")
	if body != nil && !c.plan.noGRPCHeader {
		req.Header.Set("Content-Type", "application/grpc")
	}
	return req
}

// appendPath is Xray's appendToPath.
func appendPath(path, value string) string {
	if strings.HasSuffix(path, "/") {
		return path + value
	}
	return path + "/" + value
}

// startStreamUpload opens stream-up's streaming POST. Xray does not wait
// for its response; a refusal ends the upload pipe and shows in Write.
func (c *xhttpConn) startStreamUpload(ctx context.Context, client *xhttpClient) error {
	ub, pw := newUploadBody()
	c.pw = pw
	req := c.streamRequest(ub)
	if client.h1 != nil {
		// A connection of its own, dialed within Dial.
		conn, err := c.dialCtx(ctx)
		if err != nil {
			return &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("xhttp: upload connection: %w", err)}
		}
		var err2 error
		if client, err2 = c.newClient(conn, ub); err2 != nil {
			return &Error{Phase: PhaseUpgrade, Err: err2}
		}
	}
	go func() {
		resp, err := client.roundTrip(req)
		if err == nil {
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("%w: the upload POST was answered with %s", ErrXHTTPStatus, statusText(resp))
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		if err != nil {
			err = &Error{Phase: PhaseUpgrade, Err: c.explain(err)}
			c.upErr <- err
			ub.fail(err)
		}
	}()
	return nil
}

// Read returns the download's bytes.
func (c *xhttpConn) Read(b []byte) (int, error) {
	return c.dl.read(b, func() io.Reader { return xhttpDownload{c} }, &c.read, c.ctx.Done())
}

// xhttpDownload reads the download's body, marking a failure after
// Close.
type xhttpDownload struct{ c *xhttpConn }

func (d xhttpDownload) Read(b []byte) (int, error) {
	n, err := d.c.download.Read(b)
	if err != nil && err != io.EOF {
		err = d.c.mapErr(err, &d.c.read)
	}
	return n, err
}

// mapErr marks a failure after a passed deadline with
// os.ErrDeadlineExceeded and one after Close with net.ErrClosed.
func (c *xhttpConn) mapErr(err error, d *deadline) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	if dl := d.get(); !dl.IsZero() && !time.Now().Before(dl) {
		return fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, err)
	}
	if c.ctx.Err() != nil {
		return fmt.Errorf("%w: %w", net.ErrClosed, err)
	}
	return err
}

func (c *xhttpConn) Write(b []byte) (int, error) {
	if c.up != nil {
		return c.up.write(b)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed {
		return 0, fmt.Errorf("transport: write after CloseWrite: %w", net.ErrClosed)
	}
	if isClosed(c.write.wait()) {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.pw.Write(b)
	if err != nil {
		select {
		case uerr := <-c.upErr:
			c.upErr <- uerr
			return n, uerr
		default:
		}
		return n, c.mapErr(err, &c.write)
	}
	return n, nil
}

// CloseWrite ends the upload. Over HTTP/2 the streaming upload ends
// with END_STREAM. Over HTTP/1.1 the chunked body is left open and only
// further writes are refused: Xray's server loses the last bytes of an
// HTTP/1.1 upload whose end arrives together with them (measured: a
// 33 KB echo came back empty when the end followed the data at once),
// and Xray's own client never ends the body either; the VMess
// end-of-stream chunk tells the server. With packet-up, whose requests
// have no end marker, CloseWrite sends what is buffered and takes no
// more.
func (c *xhttpConn) CloseWrite() error {
	if c.up != nil {
		return c.up.closeWrite()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wclosed = true
	if c.plan.version == httpVersion1 {
		return nil
	}
	return c.pw.Close()
}

func (c *xhttpConn) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		if c.pw != nil {
			c.pw.CloseWithError(net.ErrClosed)
		}
		if c.up != nil {
			c.up.close()
		}
		if c.download != nil {
			c.download.Close()
		}
		c.mu.Lock()
		for _, conn := range c.raws {
			conn.Close()
		}
		c.mu.Unlock()
		c.stop()
		c.dl.stop()
	})
	return nil
}

func (c *xhttpConn) LocalAddr() net.Addr  { return c.first.LocalAddr() }
func (c *xhttpConn) RemoteAddr() net.Addr { return c.first.RemoteAddr() }
