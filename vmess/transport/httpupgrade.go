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
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxUpgradeResponse bounds the HTTP response to an upgrade request.
const maxUpgradeResponse = 16 << 10

// ErrUpgradeRefused is the cause when the server answers the HTTPUpgrade
// request with anything but Xray's 101 response.
var ErrUpgradeRefused = errors.New("server did not switch protocols")

// dialHTTPUpgrade performs Xray's HTTPUpgrade handshake on conn.
//
// "?ed=N" in the path is removed, as Xray's config loader does, but the
// dialer always waits for the 101 response before returning: Xray's client
// with ed>0 sends its first payload without waiting, yet Xray's own server
// (transport/internet/httpupgrade/hub.go) reads the request through a
// bufio.Reader that it then drops, so payload bytes that arrive together
// with the request are lost. A prober must not inherit that race.
func dialHTTPUpgrade(ctx context.Context, conn net.Conn, cfg *Config, p *plan, trace *Trace) (net.Conn, error) {
	path, _ := splitEarlyData(cfg.HTTPUpgrade.Path)
	req := buildUpgradeRequest(cfg, path, p.tls != nil)
	var reqBuf bytes.Buffer
	if err := req.Write(&reqBuf); err != nil {
		return nil, &Error{Phase: PhaseConfig, Err: fmt.Errorf("transport: httpupgrade request: %w", err)}
	}
	start := time.Now()
	var rest []byte
	err := withConnContext(ctx, conn, func() error {
		if _, err := conn.Write(reqBuf.Bytes()); err != nil {
			return err
		}
		var err error
		rest, err = readUpgradeResponse(conn, req)
		return err
	})
	if err != nil {
		// The path stays out of the text: it may hold the user id.
		return nil, &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("httpupgrade to %s: %w", req.Host, err)}
	}
	trace.done(PhaseUpgrade, start)
	if len(rest) == 0 {
		return conn, nil
	}
	return &prefixConn{Conn: conn, pending: rest}, nil
}

// buildUpgradeRequest builds the request exactly as Xray's
// dialhttpUpgrade: header names kept as configured, browser headers,
// Connection and Upgrade set last; http.Request.Write renders it.
func buildUpgradeRequest(cfg *Config, path string, tls bool) *http.Request {
	u := &url.URL{Scheme: "http", Host: httpHost(cfg.HTTPUpgrade.Host, cfg, tls), Path: normalizePath(path)}
	if tls {
		u.Scheme = "https"
	}
	req := &http.Request{Method: http.MethodGet, URL: u, Header: make(http.Header), Host: u.Host}
	for k, v := range cfg.HTTPUpgrade.Headers {
		req.Header[k] = append(req.Header[k], v)
	}
	addBrowserHeaders(req.Header, websocketRequest, time.Now())
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	return req
}

// limitReader fails instead of returning EOF at its limit, so an
// oversized response is an error, not a truncated parse.
type limitReader struct {
	r io.Reader
	n int
}

// errUpgradeTooLong is the cause when the response to an upgrade request
// does not end within maxUpgradeResponse bytes.
var errUpgradeTooLong = fmt.Errorf("%w: response header longer than %d bytes", ErrUpgradeRefused, maxUpgradeResponse)

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errUpgradeTooLong
	}
	if len(b) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= n
	return n, err
}

// readUpgradeResponse reads the server's answer to req from r (at most
// maxUpgradeResponse bytes) and checks it as Xray's ConnRF.Read does:
// status "101 Switching Protocols", Upgrade: websocket, Connection:
// upgrade. It returns the bytes read past the header.
func readUpgradeResponse(r io.Reader, req *http.Request) ([]byte, error) {
	br := bufio.NewReaderSize(&limitReader{r: r, n: maxUpgradeResponse}, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: connection closed before a response (wrong path or host?)", ErrUpgradeRefused)
		}
		return nil, err
	}
	if resp.Status != "101 Switching Protocols" {
		return nil, fmt.Errorf("%w: answered %s; check httpupgradeSettings.path and host", ErrUpgradeRefused, statusText(resp))
	}
	if strings.ToLower(resp.Header.Get("Upgrade")) != "websocket" ||
		strings.ToLower(resp.Header.Get("Connection")) != "upgrade" {
		return nil, fmt.Errorf("%w: answered 101 without Xray's Upgrade and Connection headers; check that the server runs httpupgrade", ErrUpgradeRefused)
	}
	if br.Buffered() == 0 {
		return nil, nil
	}
	rest, _ := br.Peek(br.Buffered()) // cannot fail: the bytes are buffered
	return bytes.Clone(rest), nil
}

// statusText names a response's status by its code and the standard
// reason phrase. The server's own phrase is left out: it is the server's
// text, which may echo the request path (and a user id in it) or carry
// terminal control sequences.
func statusText(resp *http.Response) string {
	text := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if std := http.StatusText(resp.StatusCode); std != "" {
		text += " (" + std + ")"
	}
	if resp.StatusCode == http.StatusSwitchingProtocols && resp.Status != "101 Switching Protocols" {
		text += " with a reason phrase other than Xray's"
	}
	return text
}

// prefixConn returns pending bytes before reading from Conn.
type prefixConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(b)
}

// CloseWrite half-closes the underlying conn when it supports it.
func (c *prefixConn) CloseWrite() error { return closeWrite(c.Conn) }
