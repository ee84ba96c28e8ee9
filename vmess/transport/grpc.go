package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// gRPC ("gun") is spoken directly over golang.org/x/net/http2 rather than
// through grpc-go: the stream is one bidirectional POST whose body is a
// sequence of length-prefixed protobuf Hunk/MultiHunk messages, which is a
// few lines to frame by hand. Owning the HTTP/2 connection lets Dial run
// it over the TCP or uTLS conn it already made (so DNS, connect and TLS
// are timed separately and uTLS fingerprints apply), measure the upgrade
// phase (preface, SETTINGS and a PING round trip) and honour ctx in every
// step, none of which grpc-go's lazily connecting ClientConn exposes.

const (
	// maxGRPCMessage bounds one received message, as grpc-go's default
	// MaxRecvMsgSize (4 MiB) does on Xray's side.
	maxGRPCMessage = 4 << 20
	// maxHunkWrite is the payload carried per sent message.
	maxHunkWrite = 64 << 10
)

// ErrGRPCFraming is the cause of a malformed gRPC message from the server.
var ErrGRPCFraming = errors.New("transport: malformed gRPC message from server")

// grpcServiceName, grpcTunName and grpcTunMultiName are Xray's
// grpc.Config getServiceName, getTunStreamName and getTunMultiStreamName.
func grpcServiceName(s string) string {
	if !strings.HasPrefix(s, "/") {
		return url.PathEscape(s)
	}
	last := strings.LastIndex(s, "/")
	if last < 1 {
		last = 1
	}
	parts := strings.Split(s[1:last], "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

func grpcTunName(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "Tun"
	}
	end := s[strings.LastIndex(s, "/")+1:]
	return url.PathEscape(strings.Split(end, "|")[0])
}

func grpcTunMultiName(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "TunMulti"
	}
	end := s[strings.LastIndex(s, "/")+1:]
	names := strings.Split(end, "|")
	if len(names) == 1 {
		return url.PathEscape(names[0])
	}
	return url.PathEscape(names[1])
}

// grpcPath is the HTTP/2 :path of the tunnel stream.
func grpcPath(g *GRPCConfig) string {
	if g.MultiMode {
		return "/" + grpcServiceName(g.ServiceName) + "/" + grpcTunMultiName(g.ServiceName)
	}
	return "/" + grpcServiceName(g.ServiceName) + "/" + grpcTunName(g.ServiceName)
}

// grpcUserAgent maps Xray's user_agent values.
func grpcUserAgent(ua string, now time.Time) string {
	switch ua {
	case "", "chrome", "firefox", "edge":
		return browserUA(ua, now)
	case "golang":
		return "grpc-go"
	}
	return ua
}

func dialGRPC(ctx context.Context, conn net.Conn, cfg *Config, p *plan, trace *Trace) (net.Conn, error) {
	authority := cfg.GRPC.Authority
	if authority == "" && p.tls != nil {
		authority = cfg.TLS.ServerName
	}
	if authority == "" {
		authority = cfg.Address
		if net.ParseIP(unbracket(cfg.Address)) != nil {
			// Xray leaves it empty for an IP; grpc-go then uses the
			// target, host:port.
			authority = hostPort(cfg.Address, cfg.Port)
		}
	}
	scheme := "http"
	if p.tls != nil {
		scheme = "https"
	}
	escaped := grpcPath(&cfg.GRPC)
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		unescaped = escaped
	}

	start := time.Now()
	cc, err := openH2(ctx, conn, &http2.Transport{DisableCompression: true, AllowHTTP: true, MaxHeaderListSize: maxXHTTPResponseHeader})
	if err != nil {
		return nil, &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("grpc: HTTP/2 connection to %s: %w (is the server gRPC%s?)", authority, err, map[bool]string{true: " over TLS", false: " without TLS"}[p.tls != nil])}
	}
	req := &http.Request{
		Method:     http.MethodPost,
		URL:        &url.URL{Scheme: scheme, Host: authority, Path: unescaped, RawPath: escaped},
		Host:       authority,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     http.Header{},
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	req.Header.Set("User-Agent", grpcUserAgent(cfg.GRPC.UserAgent, time.Now()))
	g := &grpcConn{h2Stream: startH2Stream(ctx, cc, conn, req, nil), multi: cfg.GRPC.MultiMode, path: escaped}
	trace.done(PhaseUpgrade, start)
	return g, nil
}

// grpcConn is one gun tunnel stream as a net.Conn: each Write becomes one
// or more Hunk (or MultiHunk) messages, Read returns their payloads.
type grpcConn struct {
	*h2Stream
	multi bool
	path  string

	wbuf    []byte      // with h2Stream.wmu held
	wclosed atomic.Bool // CloseWrite was called

	// Used by the goroutine of the stream's streamReader only.
	br      *bufio.Reader
	msg     []byte
	pending [][]byte
	rerr    error
}

// appendHunk appends one gRPC message carrying data as Hunk{data} (field
// 1, bytes). A MultiHunk with one element has the same encoding.
func appendHunk(dst, data []byte) []byte {
	var tmp [binary.MaxVarintLen64]byte
	vl := binary.PutUvarint(tmp[:], uint64(len(data)))
	msgLen := 1 + vl + len(data)
	dst = append(dst, 0, byte(msgLen>>24), byte(msgLen>>16), byte(msgLen>>8), byte(msgLen), 0x0a)
	dst = append(dst, tmp[:vl]...)
	return append(dst, data...)
}

func (g *grpcConn) Write(b []byte) (int, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	written := 0
	for len(b) > 0 {
		n := min(len(b), maxHunkWrite)
		g.wbuf = appendHunk(g.wbuf[:0], b[:n])
		if _, err := g.pw.Write(g.wbuf); err != nil {
			return written, g.writeErr(err)
		}
		written += n
		b = b[n:]
	}
	return written, nil
}

// writeErr explains a failed Write: when the server ended the stream
// (a wrong serviceName is answered at once with a status and a reset),
// its response says why, so that wins over the bare pipe error.
func (g *grpcConn) writeErr(err error) error {
	if g.wclosed.Load() {
		return fmt.Errorf("transport: write after CloseWrite: %w", net.ErrClosed)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) || isClosed(g.write.wait()) {
		// A Write interrupted by its deadline sees the pipe closed; the
		// response has nothing to add.
		return g.mapErr(err, true)
	}
	if g.awaitResponse() {
		if rerr := g.checkResponse(); rerr != nil {
			return rerr
		}
	}
	return g.mapErr(err, true)
}

// CloseWrite ends the request stream (HTTP/2 END_STREAM); the server sees
// the end of the tunnel's upstream.
func (g *grpcConn) CloseWrite() error {
	g.wclosed.Store(true)
	return g.pw.Close()
}

// Read returns the payloads of the server's messages.
func (g *grpcConn) Read(b []byte) (int, error) {
	return g.readStream(b, func() io.Reader { return grpcPayload{g} })
}

// grpcPayload reads the payloads of the tunnel's messages, once the
// response has come.
type grpcPayload struct{ *grpcConn }

func (g grpcPayload) Read(b []byte) (int, error) {
	<-g.respReady
	for len(g.pending) == 0 {
		if g.rerr != nil {
			return 0, g.rerr
		}
		if g.br == nil {
			if err := g.checkResponse(); err != nil {
				g.rerr = err
				return 0, err
			}
			g.br = bufio.NewReaderSize(g.resp.Body, 32<<10)
		}
		var err error
		g.msg, err = readGRPCMessage(g.br, g.msg)
		if err != nil {
			if err == io.EOF {
				err = g.trailerErr()
			}
			g.rerr = g.mapErr(err, false)
			return 0, g.rerr
		}
		g.pending, err = parseHunks(g.msg, g.multi, g.pending[:0])
		if err != nil {
			g.rerr = err
			return 0, err
		}
	}
	n := copy(b, g.pending[0])
	g.pending[0] = g.pending[0][n:]
	if len(g.pending[0]) == 0 {
		g.pending = g.pending[1:]
	}
	return n, nil
}

// checkResponse validates the response headers of the tunnel stream.
func (g *grpcConn) checkResponse() error {
	if g.respErr != nil {
		err := g.mapErr(g.respErr, false)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The stream was open; the wait for the server's first bytes
			// (the VMess response) ran out of time, like on any conn.
			return err
		}
		return &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("grpc stream: %w", err)}
	}
	r := g.resp
	if r.StatusCode != http.StatusOK {
		return &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("grpc stream: server answered HTTP %d; check that the server runs gRPC", r.StatusCode)}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/grpc") {
		return &Error{Phase: PhaseUpgrade, Err: fmt.Errorf("grpc stream: content-type %q is not gRPC", ct)}
	}
	if st := r.Header.Get("Grpc-Status"); st != "" && st != "0" {
		// A trailers-only response: the call failed before any data.
		return &Error{Phase: PhaseUpgrade, Err: grpcStatusErr(g.path, st, r.Header.Get("Grpc-Message"))}
	}
	return nil
}

// grpcStatusErr explains a failed call. The stream path is left out and
// masked in the server's message ("unknown service <name>"): a service
// name may hold the user id.
func grpcStatusErr(path, status, msg string) error {
	hint := ""
	if status == "12" {
		hint = "; check grpcSettings.serviceName"
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	msg = maskPath(msg, path)
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return fmt.Errorf("grpc stream: server returned status %s (%q)%s", status, msg, hint)
}

// maskPath replaces in text the escaped and unescaped forms of path and
// of each of its segments (except gun's fixed stream names) with "…".
func maskPath(text, path string) string {
	forms := []string{path}
	if u, err := url.PathUnescape(path); err == nil && u != path {
		forms = append(forms, u)
	}
	for _, f := range forms[:len(forms):len(forms)] {
		for _, seg := range strings.Split(f, "/") {
			if seg != "" && seg != "Tun" && seg != "TunMulti" {
				forms = append(forms, seg)
			}
		}
	}
	// Longest first, so a segment does not break up a longer match.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range forms {
		text = strings.ReplaceAll(text, f, "…")
	}
	return text
}

// trailerErr turns the end of the response body into io.EOF for status
// 0 (or none), else into the status error.
func (g *grpcConn) trailerErr() error {
	st := g.resp.Trailer.Get("Grpc-Status")
	if st == "" || st == "0" {
		return io.EOF
	}
	return grpcStatusErr(g.path, st, g.resp.Trailer.Get("Grpc-Message"))
}

// readGRPCMessage reads one length-prefixed gRPC message from r into buf
// (reused) and returns it. io.EOF means a clean end between messages.
func readGRPCMessage(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return nil, fmt.Errorf("%w: truncated message header: %w", ErrGRPCFraming, io.ErrUnexpectedEOF)
	}
	if hdr[0] != 0 {
		return nil, fmt.Errorf("%w: compressed or unknown flag 0x%02x (xvm asks for no compression)", ErrGRPCFraming, hdr[0])
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxGRPCMessage {
		return nil, fmt.Errorf("%w: message of %d bytes exceeds %d", ErrGRPCFraming, n, maxGRPCMessage)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: truncated message: %w", ErrGRPCFraming, err)
	}
	return buf, nil
}

// parseHunks decodes a Hunk (multi false: field 1 bytes, the last one
// wins as in proto3) or a MultiHunk (multi true: field 1 repeated bytes)
// and appends the payload slices (aliasing msg) to dst. Unknown fields are
// skipped as protobuf requires.
func parseHunks(msg []byte, multi bool, dst [][]byte) ([][]byte, error) {
	var last []byte
	found := false
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return nil, fmt.Errorf("%w: bad field key", ErrGRPCFraming)
		}
		msg = msg[n:]
		field, wire := key>>3, key&7
		if field == 0 {
			return nil, fmt.Errorf("%w: field number 0", ErrGRPCFraming)
		}
		switch wire {
		case 0:
			if _, n = binary.Uvarint(msg); n <= 0 {
				return nil, fmt.Errorf("%w: bad varint", ErrGRPCFraming)
			}
			msg = msg[n:]
		case 1:
			if len(msg) < 8 {
				return nil, fmt.Errorf("%w: truncated fixed64", ErrGRPCFraming)
			}
			msg = msg[8:]
		case 5:
			if len(msg) < 4 {
				return nil, fmt.Errorf("%w: truncated fixed32", ErrGRPCFraming)
			}
			msg = msg[4:]
		case 2:
			l, n := binary.Uvarint(msg)
			if n <= 0 || l > uint64(len(msg)-n) {
				return nil, fmt.Errorf("%w: bad length", ErrGRPCFraming)
			}
			v := msg[n : n+int(l)]
			msg = msg[n+int(l):]
			if field == 1 {
				if multi {
					if len(v) > 0 {
						dst = append(dst, v)
					}
				} else {
					last, found = v, true
				}
			}
		default:
			return nil, fmt.Errorf("%w: wire type %d", ErrGRPCFraming, wire)
		}
	}
	if found && len(last) > 0 {
		dst = append(dst, last)
	}
	return dst, nil
}
