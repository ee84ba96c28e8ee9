package transport

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sort"
	"sync"
	"time"
)

// maxHTTPHeader bounds the disguise response header the server sends, as
// Xray's headers/http does (maxHeaderLength 8192).
const maxHTTPHeader = 8192

// chromeUA approximates Xray's utils.ChromeUA: Chrome 144 was released on
// 2026-01-13 and Xray advances one version per 25–45 days; 35 on average.
func chromeUA(now time.Time) string {
	return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36", chromeVersion(now))
}

// chromeVersion is the Chrome major version chromeUA claims at now.
func chromeVersion(now time.Time) int {
	v := 144
	if d := now.Sub(time.Date(2026, 1, 13, 0, 0, 0, 0, time.UTC)); d > 0 {
		v += int(d / (35 * 24 * time.Hour))
	}
	return v
}

// pick chooses one value at random, as Xray's dice.Roll does.
func pick(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(vs))))
	if err != nil {
		return vs[0]
	}
	return vs[n.Int64()]
}

// httpRequestHeader renders the disguise request exactly as Xray's
// Authenticator.GetClientWriter lays it out, with the main defaults of
// infra/conf AuthenticatorRequest.Build (the server checks only the path).
// Configured headers go out in sorted name order, as Xray sorts them.
func httpRequestHeader(r *HTTPRequest, now time.Time) []byte {
	version, method := r.Version, r.Method
	if version == "" {
		version = "1.1"
	}
	if method == "" {
		method = "GET"
	}
	paths := r.Path
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	var b bytes.Buffer
	b.WriteString(method + " " + pick(paths) + " HTTP/" + version + "\r\n")
	if len(r.Headers) == 0 {
		for _, h := range [][2]string{
			{"Host", pick([]string{"www.baidu.com", "www.bing.com"})},
			{"User-Agent", chromeUA(now)},
			{"Accept-Encoding", "gzip, deflate"},
			{"Connection", "keep-alive"},
			{"Pragma", "no-cache"},
		} {
			b.WriteString(h[0] + ": " + h[1] + "\r\n")
		}
	} else {
		names := make([]string, 0, len(r.Headers))
		for k := range r.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			b.WriteString(k + ": " + pick(r.Headers[k]) + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// ErrHTTPHeader is the cause when the server's disguise response header is
// too long or the connection ends inside it.
var ErrHTTPHeader = errors.New("transport: malformed HTTP header disguise response (tcpSettings.header); check that the server uses header type http")

// httpHeaderConn is Xray's HTTP header disguise on the client side: the
// request header goes out with the first Write (in the same segment), and
// the response header is read and dropped before the first Read returns.
type httpHeaderConn struct {
	net.Conn
	wmu     sync.Mutex
	header  []byte // nil once sent
	rmu     sync.Mutex
	readHdr bool
	resp    headerReader // the response header read so far
	pending []byte
}

func newHTTPHeaderConn(c net.Conn, r *HTTPRequest) *httpHeaderConn {
	return &httpHeaderConn{Conn: c, header: httpRequestHeader(r, time.Now())}
}

func (c *httpHeaderConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.header != nil {
		h := c.header
		c.header = nil
		buf := make([]byte, 0, len(h)+len(b))
		buf = append(append(buf, h...), b...)
		n, err := c.Conn.Write(buf)
		n -= len(h)
		if n < 0 {
			n = 0
		}
		return n, err
	}
	return c.Conn.Write(b)
}

func (c *httpHeaderConn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if !c.readHdr {
		// A failed read (a deadline) keeps what arrived, so a Read after
		// the deadline is moved resumes inside the header.
		rest, err := c.resp.read(c.Conn)
		if err != nil {
			return 0, err
		}
		c.readHdr = true
		c.pending = rest
		c.resp = headerReader{}
	}
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// CloseWrite half-closes the underlying conn when it supports it.
func (c *httpHeaderConn) CloseWrite() error { return closeWrite(c.Conn) }

// headerReader reads a disguise response header across calls: bytes read
// before an error (a read deadline) are kept, so the next call resumes.
type headerReader struct {
	buf []byte
}

// read reads up to and including the first CRLFCRLF (at most
// maxHTTPHeader bytes before it) and returns what came after it.
func (h *headerReader) read(r io.Reader) ([]byte, error) {
	var tmp [2048]byte
	for {
		if i := bytes.Index(h.buf, []byte("\r\n\r\n")); i >= 0 {
			return h.buf[i+4:], nil
		}
		if len(h.buf) > maxHTTPHeader+4 {
			return nil, fmt.Errorf("%w: no end of header in %d bytes", ErrHTTPHeader, maxHTTPHeader)
		}
		n, err := r.Read(tmp[:])
		h.buf = append(h.buf, tmp[:n]...)
		if err != nil {
			if bytes.Contains(h.buf, []byte("\r\n\r\n")) {
				continue
			}
			if err == io.EOF {
				return nil, fmt.Errorf("%w: %w", ErrHTTPHeader, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
	}
}

// closeWrite half-closes c if it can.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
