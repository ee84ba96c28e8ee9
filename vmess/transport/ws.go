package transport

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// splitEarlyData removes "ed=N" from the query of an Xray transport path
// and returns the path Xray then uses and N, exactly as infra/conf's
// WebSocketConfig.Build and HttpUpgradeConfig.Build do (a bad number
// means 0).
func splitEarlyData(path string) (string, int) {
	u, err := url.Parse(path)
	if err != nil {
		return path, 0
	}
	q := u.Query()
	if q.Get("ed") == "" {
		return path, 0
	}
	n, _ := strconv.Atoi(q.Get("ed"))
	q.Del("ed")
	u.RawQuery = q.Encode()
	if uint64(n) > 1<<32-1 || n < 0 {
		n = int(uint32(n))
	}
	return u.String(), n
}

// normalizePath is Xray's GetNormalizedPath.
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		return "/" + p
	}
	return p
}

// hostPort is Xray's dest.NetAddr for the URL: host:port, IPv6 bracketed.
func hostPort(host string, port uint16) string {
	return net.JoinHostPort(unbracket(host), strconv.Itoa(int(port)))
}

// httpHost picks the Host header as Xray does: the transport's host, then
// the configured TLS serverName, then the address.
func httpHost(transportHost string, cfg *Config, tls bool) string {
	if transportHost != "" {
		return transportHost
	}
	if tls && cfg.TLS.ServerName != "" {
		return cfg.TLS.ServerName
	}
	return cfg.Address
}

// wsConn is a WebSocket client stream: every Write is one binary message,
// Read returns message payloads as a byte stream (Xray's
// websocket.connection). With early data the upgrade waits for the first
// Write, whose bytes travel base64url-encoded in Sec-WebSocket-Protocol.
type wsConn struct {
	wmu     sync.Mutex
	upgrade func(ctx context.Context, ed []byte) (*websocket.Conn, error) // nil once run
	edMax   int
	baseCtx context.Context // Dial's ctx values without its cancellation

	ready chan struct{} // closed after the upgrade ran (ws or upErr set)
	ws    *websocket.Conn
	upErr error

	payload lazyReader // the messages' payload, once upgraded

	connDeadlines // also holds the underlying conn (raw)
	closeOnce     sync.Once
	closed        chan struct{}
}

func dialWS(ctx context.Context, conn net.Conn, cfg *Config, p *plan, trace *Trace) (net.Conn, error) {
	path, ed := splitEarlyData(cfg.WS.Path)
	host := cfg.WS.Host
	header := http.Header{}
	for k, v := range cfg.WS.Headers {
		if strings.EqualFold(k, "host") {
			// Xray moves a Host header into wsSettings.host (deprecated).
			if host == "" {
				host = v
			}
			continue
		}
		header.Add(k, v)
	}
	addBrowserHeaders(header, websocketRequest, time.Now())
	header.Set("Host", httpHost(host, cfg, p.tls != nil))
	scheme := "ws"
	if p.tls != nil {
		scheme = "wss"
	}
	urlHost := hostPort(cfg.Address, cfg.Port)
	if (scheme == "ws" && cfg.Port == 80) || (scheme == "wss" && cfg.Port == 443) {
		urlHost = cfg.Address
		if strings.Contains(urlHost, ":") && !strings.HasPrefix(urlHost, "[") {
			urlHost = "[" + urlHost + "]"
		}
	}
	// The conn already carries TLS when scheme is wss, so gorilla is told
	// "ws" and given the conn; the request line and Host are the same.
	uri := "ws://" + urlHost + normalizePath(path)
	// Error texts name the server but never the path, which may hold
	// the user id (a common way to route users behind one front).
	display := scheme + "://" + urlHost

	// gorilla parses the response on the conn it is given without a
	// bound; lc holds it to maxUpgradeResponse until the upgrade is done.
	lc := &upgradeLimitConn{Conn: conn}
	c := &wsConn{edMax: ed, baseCtx: context.WithoutCancel(ctx),
		ready: make(chan struct{}), closed: make(chan struct{}), connDeadlines: connDeadlines{raw: conn}}
	c.upgrade = func(ctx context.Context, early []byte) (*websocket.Conn, error) {
		h := header.Clone()
		if early != nil {
			h.Set("Sec-WebSocket-Protocol", base64.RawURLEncoding.EncodeToString(early))
		}
		d := &websocket.Dialer{
			NetDialContext:  func(context.Context, string, string) (net.Conn, error) { return lc, nil },
			ReadBufferSize:  32 << 10,
			WriteBufferSize: 32 << 10,
		}
		start := time.Now()
		var ws *websocket.Conn
		lc.limit(maxUpgradeResponse)
		err := withConnContext(ctx, conn, func() error {
			var resp *http.Response
			var err error
			ws, resp, err = d.DialContext(ctx, uri, h)
			if err != nil && resp != nil {
				return fmt.Errorf("websocket handshake with %s: server answered %s; check wsSettings.path and host", display, statusText(resp))
			}
			if err != nil {
				return fmt.Errorf("websocket handshake with %s: %w", display, withoutURL(err))
			}
			return nil
		})
		if err != nil {
			return nil, &Error{Phase: PhaseUpgrade, Err: err}
		}
		lc.unlimit()
		trace.done(PhaseUpgrade, start)
		return ws, nil
	}
	if ed == 0 {
		ws, err := c.upgrade(ctx, nil)
		if err != nil {
			return nil, err
		}
		c.ws, c.upgrade = ws, nil
		close(c.ready)
	}
	return c, nil
}

// upgradeLimitConn bounds how much an upgrade reads from the server: a
// server that answers 101 and then sends header lines without end (or one
// endless line) would otherwise make the HTTP parser grow without limit
// until the deadline. Once the upgrade is done the conn reads freely.
type upgradeLimitConn struct {
	net.Conn
	upgrade   limitReader // used by the upgrading goroutine only
	unlimited atomic.Bool // set once the upgrade is done
}

func (c *upgradeLimitConn) limit(n int) { c.upgrade = limitReader{r: c.Conn, n: n} }
func (c *upgradeLimitConn) unlimit()    { c.unlimited.Store(true) }

func (c *upgradeLimitConn) Read(b []byte) (int, error) {
	if c.unlimited.Load() {
		return c.Conn.Read(b)
	}
	return c.upgrade.Read(b)
}

// withoutURL drops the URL from a *url.Error (gorilla returns one when the
// path does not parse): its text repeats the whole URL, path included.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// deferredErr marks a failure of a deferred upgrade that ran out of the
// conn's own deadline with os.ErrDeadlineExceeded, the error net.Conn
// users expect.
func deferredErr(ctx context.Context, err error) error {
	var e *Error
	if ctx.Err() != nil && errors.As(err, &e) && !errors.Is(err, os.ErrDeadlineExceeded) {
		return &Error{Phase: e.Phase, Err: fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, e.Err)}
	}
	return err
}

// runUpgrade performs the deferred upgrade; called with wmu held.
func (c *wsConn) runUpgrade(early []byte) error {
	up := c.upgrade
	c.upgrade = nil
	ctx := c.baseCtx
	if wdl := c.write.get(); !wdl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, wdl)
		defer cancel()
	}
	go func() {
		select {
		case <-c.closed:
			c.raw.SetDeadline(aLongTimeAgo)
		case <-c.ready:
		}
	}()
	var err error
	c.ws, err = up(ctx, early)
	if err != nil {
		c.upErr = deferredErr(ctx, err)
	}
	c.restoreDeadlines()
	close(c.ready)
	return c.upErr
}

// restoreDeadlines puts the conn's deadlines back after the upgrade
// used them: reads have none (they go through a streamReader, which
// keeps the read deadline), writes the write deadline.
func (c *wsConn) restoreDeadlines() {
	c.raw.SetReadDeadline(time.Time{})
	c.raw.SetWriteDeadline(c.write.get())
}

// Write sends b as one binary message (the first one as early data when
// configured and it fits).
func (c *wsConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.upgrade != nil {
		early := b
		if len(b) > c.edMax {
			early = nil
		}
		if err := c.runUpgrade(early); err != nil {
			return 0, err
		}
		if early != nil {
			return len(b), nil
		}
	}
	if c.upErr != nil {
		return 0, c.upErr
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return 0, wsErr(err)
	}
	return len(b), nil
}

// Read returns payload bytes of the server's messages. Before a deferred
// upgrade has happened it waits for the first Write, or until the read
// deadline passes.
func (c *wsConn) Read(b []byte) (int, error) {
	select {
	case <-c.ready:
	default:
		select {
		case <-c.ready:
		case <-c.closed:
			return 0, net.ErrClosed
		case <-c.read.wait():
			return 0, os.ErrDeadlineExceeded
		}
	}
	if c.upErr != nil {
		return 0, c.upErr
	}
	return c.payload.read(b, func() io.Reader { return &wsPayload{ws: c.ws} }, &c.read, c.closed)
}

// wsPayload reads the payload of the server's messages one after
// another.
type wsPayload struct {
	ws     *websocket.Conn
	reader io.Reader
}

func (p *wsPayload) Read(b []byte) (int, error) {
	for {
		if p.reader == nil {
			_, r, err := p.ws.NextReader()
			if err != nil {
				return 0, wsErr(err)
			}
			p.reader = r
		}
		n, err := p.reader.Read(b)
		if errors.Is(err, io.EOF) {
			p.reader = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		if err != nil {
			err = wsErr(err)
		}
		return n, err
	}
}

// wsErr maps the end of a WebSocket session (close frame, or the TCP
// connection ending between messages) to io.EOF.
func wsErr(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived, websocket.CloseAbnormalClosure:
			return io.EOF
		}
		return fmt.Errorf("transport: websocket closed by server: %w", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, os.ErrDeadlineExceeded) {
		// gorilla does not keep the os error in the chain.
		return fmt.Errorf("%w: %v", os.ErrDeadlineExceeded, err)
	}
	return err
}

// Close sends a close frame (best effort) and closes the connection.
func (c *wsConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		select {
		case <-c.ready:
			if c.ws != nil {
				c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(100*time.Millisecond))
			}
		default:
		}
		c.stop()
		err = c.raw.Close()
		c.payload.stop()
	})
	return err
}

func (c *wsConn) LocalAddr() net.Addr  { return c.raw.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }
