package transport

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/net/http2"
)

// The HTTP/2 transport (network "h2" or "http") carries the stream in
// the bodies of one long request and its response: a PUT (by default)
// to the configured path, answered 200. Xray removed it (migrating it
// to XHTTP stream-one) and refuses it in configs; older Xray, V2Ray and
// sing-box servers still run it. The request is built as those clients
// built it (Xray's transport/internet/http dialer before the removal):
// a random host of the list as :authority, "Accept-Encoding: identity",
// the configured headers, and h2 required by ALPN over TLS.

// HTTPConfig is httpSettings of the HTTP/2 transport.
type HTTPConfig struct {
	// Host lists the :authority values; one is picked at random per
	// connection. Empty means "www.example.com", as V2Ray and Xray did.
	Host []string
	// Path is the request path; empty means "/".
	Path string
	// Method is the request method; empty means "PUT".
	Method string
	// Headers are extra request headers; of several values for one
	// name, the last is sent (the old clients set them one by one).
	Headers map[string][]string
	// IdleTimeout and HealthCheckTimeout, in seconds, make the
	// connection send a ping after that long without a frame and give up
	// when it is not answered in time; 0 means none (the old clients'
	// idle_timeout and health_check_timeout).
	IdleTimeout, HealthCheckTimeout int
}

// host picks the :authority.
func (h *HTTPConfig) host() string {
	switch len(h.Host) {
	case 0:
		return "www.example.com"
	case 1:
		return h.Host[0]
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(h.Host))))
	if err != nil {
		return h.Host[0]
	}
	return h.Host[n.Int64()]
}

// path is the old clients' getNormalizedPath.
func (h *HTTPConfig) path() string {
	if h.Path == "" {
		return "/"
	}
	if h.Path[0] != '/' {
		return "/" + h.Path
	}
	return h.Path
}

// ErrH2Status is the cause when the HTTP/2 transport's request is
// answered with a status other than 200.
var ErrH2Status = errors.New("h2: server refused the request")

// dialH2 opens the HTTP/2 transport's stream on conn (TLS with h2, or
// h2c without TLS). Servers answer the request only with their first
// data (sing-box's, and Xray's gRPC alike), so, as for gRPC, the upgrade
// phase proves HTTP/2 with a PING round trip and the response status is
// checked at the first Read.
func dialH2(ctx context.Context, conn net.Conn, cfg *Config, p *plan, trace *Trace) (net.Conn, error) {
	h := &cfg.HTTP
	start := time.Now()
	if p.tls != nil {
		// The old clients refuse a server that does not pick h2.
		if proto := negotiatedProtocol(conn); proto != "h2" {
			return nil, &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("h2: the server chose %q by ALPN, not h2; check that it runs the HTTP/2 transport", proto)}
		}
	}
	t := &http2.Transport{AllowHTTP: true, MaxHeaderListSize: maxXHTTPResponseHeader}
	if h.IdleTimeout > 0 || h.HealthCheckTimeout > 0 {
		t.ReadIdleTimeout = time.Duration(h.IdleTimeout) * time.Second
		t.PingTimeout = time.Duration(h.HealthCheckTimeout) * time.Second
	}
	cc, err := openH2(ctx, conn, t)
	if err != nil {
		return nil, &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("h2: HTTP/2 connection: %w (does the server speak HTTP/2%s?)", err, map[bool]string{true: " over TLS", false: " without TLS (h2c)"}[p.tls != nil])}
	}
	method := h.Method
	if method == "" {
		method = http.MethodPut
	}
	scheme := "https"
	if p.tls == nil {
		scheme = "http"
	}
	header := http.Header{}
	for k, vs := range h.Headers {
		for _, v := range vs {
			header.Set(k, v)
		}
	}
	header.Set("Accept-Encoding", "identity")
	req := &http.Request{
		Method: method,
		Host:   h.host(),
		URL:    &url.URL{Scheme: scheme, Host: hostPort(cfg.Address, cfg.Port), Path: h.path()},
		Proto:  "HTTP/2", ProtoMajor: 2,
		Header: header,
	}
	refused := func(resp *http.Response) error {
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		return &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("%w: answered %s; check httpSettings.path, host and method", ErrH2Status, statusText(resp))}
	}
	c := &h2Conn{startH2Stream(ctx, cc, conn, req, refused)}
	trace.done(PhaseUpgrade, start)
	return c, nil
}

// h2Conn is the HTTP/2 transport's stream: Write sends request body,
// Read returns response body.
type h2Conn struct{ *h2Stream }

// Read returns response body, once the response has come (servers send
// it with their first data) with status 200.
func (c *h2Conn) Read(b []byte) (int, error) {
	return c.readStream(b, func() io.Reader { return h2Body{c.h2Stream} })
}

// h2Body reads the response body of an HTTP/2 transport stream, once
// the response has come.
type h2Body struct{ s *h2Stream }

func (r h2Body) Read(b []byte) (int, error) {
	<-r.s.respReady
	if err := h2RespErr(r.s.respErr); err != nil {
		return 0, err
	}
	return r.s.resp.Body.Read(b)
}

// h2RespErr is a failed HTTP/2 transport request's error as an upgrade
// failure (nil when it did not fail).
func h2RespErr(err error) error {
	var te *Error
	if err == nil || errors.As(err, &te) {
		return err
	}
	return &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("h2: %w", err)}
}

func (c *h2Conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if isClosed(c.write.wait()) {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.pw.Write(b)
	if err != nil {
		err = c.writeErr(err)
	}
	return n, err
}

// writeErr explains a failed Write: when the server refused the request
// (it answers a wrong path or host at once) or the request failed (an
// answer header over the limit), the HTTP/2 stack closes the request
// body before the outcome is recorded here, so the outcome says why.
func (c *h2Conn) writeErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || isClosed(c.write.wait()) {
		return c.mapErr(err, true)
	}
	if c.awaitResponse() {
		if rerr := h2RespErr(c.respErr); rerr != nil {
			return rerr
		}
	}
	return c.mapErr(err, true)
}

// CloseWrite ends the request body (END_STREAM).
func (c *h2Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.pw.Close()
}
