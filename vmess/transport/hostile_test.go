package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// floodServer answers every upgrade request with a 101 status line and
// then writes what flood produces until the client goes away (or, for a
// finite flood, until it is written), never ending the header.
func floodServer(t *testing.T, flood func(w *bufio.Writer) error) *net.TCPAddr {
	t.Helper()
	return headFlood(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", flood)
}

// headFlood answers every request with head (a status line and headers)
// and then what flood writes, never ending the header.
func headFlood(t *testing.T, head string, flood func(w *bufio.Writer) error) *net.TCPAddr {
	t.Helper()
	return loopbackAddr(t, vmesstest.StartTCP(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		w := bufio.NewWriterSize(c, 64<<10)
		w.WriteString(head)
		if flood(w) == nil {
			w.Flush()
		}
	}))
}

// endlessLines writes header lines without end.
func endlessLines(w *bufio.Writer) error {
	line := []byte("X-Flood: " + strings.Repeat("f", 50) + "\r\n")
	for {
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
}

// hugeHeader writes one header line of 100 MB that never ends.
func hugeHeader(w *bufio.Writer) error {
	w.WriteString("X-Big: ")
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	for n := 0; n < 100<<20; n += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

// TestUpgradeFloodIsBounded: a server that answers an upgrade with 101
// and then floods header lines, or one endless header, must be cut off
// at the upgrade response limit with an upgrade-phase error that is not a
// timeout, using little memory, on every upgrading transport and on the
// WebSocket early-data path (where the upgrade runs inside the first
// Write). Unbounded, the WebSocket parser read until the deadline, grew
// to hundreds of MB and reported a timeout.
func TestUpgradeFloodIsBounded(t *testing.T) {
	tests := []struct {
		name  string
		cfg   transport.Config
		flood func(*bufio.Writer) error
	}{
		{"ws-lines", transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/ws"}}, endlessLines},
		{"ws-huge-header", transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/ws"}}, hugeHeader},
		{"ws-early-data-lines", transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/ws?ed=2048"}}, endlessLines},
		{"ws-early-data-huge-header", transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/ws?ed=2048"}}, hugeHeader},
		{"httpupgrade-lines", transport.Config{Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/up"}}, endlessLines},
		{"httpupgrade-huge-header", transport.Config{Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/up"}}, hugeHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := floodServer(t, tt.flood)
			cfg := tt.cfg
			cfg.Address, cfg.Port = "127.0.0.1", uint16(addr.Port)
			// Generous: the limit, not the deadline, must end the dial.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			conn, err := transport.Dial(ctx, &cfg, nil)
			if err == nil {
				// Early data: the upgrade runs in the first Write.
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				_, err = conn.Write([]byte("first payload"))
				conn.Close()
			}
			runtime.ReadMemStats(&after)

			if err == nil {
				t.Fatal("the upgrade succeeded against a flooding server")
			}
			te := phaseOf(t, err)
			if te.Phase != transport.PhaseUpgrade || te.Timeout() {
				t.Errorf("phase %q, timeout %v, want a non-timeout upgrade failure: %v", te.Phase, te.Timeout(), err)
			}
			if !errors.Is(err, transport.ErrUpgradeRefused) || !strings.Contains(err.Error(), "longer than 16384 bytes") {
				t.Errorf("error %q does not say the response exceeded the limit", err)
			}
			// The limit is 16 KiB; the bound leaves room for buffers and
			// the test's own allocations while catching the old growth
			// (hundreds of MB).
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB during the dial: %v", alloc>>10, err)
			if alloc > 8<<20 {
				t.Errorf("the dial allocated %d MiB; the upgrade response is not bounded", alloc>>20)
			}
		})
	}
}

// TestErrorsKeepPathSecret: a path or service name that carries the user
// id (servers route users by path) must not appear in the text of a
// transport error, whether the server refuses it, the path does not
// parse, or the server echoes it back.
func TestErrorsKeepPathSecret(t *testing.T) {
	t.Parallel()
	const id = "b831381d-6324-4d53-ad4f-8cda48b30811"
	echoStatus := loopbackAddr(t, vmesstest.StartTCP(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		// A server that puts the request path into its status line.
		c.Write([]byte("HTTP/1.1 403 Forbidden " + r.URL.Path + "\r\nContent-Length: 0\r\n\r\n"))
	}))
	xray := startServer(t, `{"network":"ws","wsSettings":{"path":"/ws"}}`)
	grpcSrv := startServer(t, `{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`)
	tests := []struct {
		name string
		addr string
		port int
		cfg  transport.Config
		// inDial: the failure shows in Dial, else in the first exchange.
		inDial bool
	}{
		{"ws-wrong-path", xray.Host, xray.Port, transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/" + id}}, true},
		{"ws-early-data-wrong-path", xray.Host, xray.Port, transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/" + id + "?ed=2048"}}, false},
		{"ws-control-character", xray.Host, xray.Port, transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/" + id + "\x7f"}}, true},
		{"ws-status-echo", "127.0.0.1", echoStatus.Port, transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/" + id}}, true},
		{"httpupgrade-status-echo", "127.0.0.1", echoStatus.Port, transport.Config{Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/" + id}}, true},
		{"httpupgrade-wrong-path", xray.Host, xray.Port, transport.Config{Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/" + id}}, true},
		{"grpc-wrong-service", grpcSrv.Host, grpcSrv.Port, transport.Config{Network: "grpc", GRPC: transport.GRPCConfig{ServiceName: id}}, false},
		{"grpc-wrong-custom-path", grpcSrv.Host, grpcSrv.Port, transport.Config{Network: "grpc", GRPC: transport.GRPCConfig{ServiceName: "/" + id + "/Tun"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Address, cfg.Port = tt.addr, uint16(tt.port)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := transport.Dial(ctx, &cfg, nil)
			if err == nil {
				if tt.inDial {
					conn.Close()
					t.Fatal("Dial succeeded, want an error")
				}
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err = conn.Write(make([]byte, 64)); err == nil {
					_, err = conn.Read(make([]byte, 64))
				}
				conn.Close()
			}
			if err == nil {
				t.Fatal("no error")
			}
			phaseOf(t, err)
			t.Logf("%v", err)
			for _, secret := range []string{id, id[:8], id[24:]} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the path's id (%s)", err, secret)
				}
			}
		})
	}
}

// h2FloodServer serves HTTP/2 without TLS: it answers the first request
// with a 200 header block that never ends (CONTINUATION frames of
// header lines without end, or one header value declared 100 MB long),
// after acknowledging SETTINGS and PINGs until then.
func h2FloodServer(t *testing.T, huge bool) *net.TCPAddr {
	t.Helper()
	return loopbackAddr(t, vmesstest.StartTCP(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
			return
		}
		fr := http2.NewFramer(c, c)
		fr.WriteSettings()
		var stream uint32
		for stream == 0 {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					fr.WritePing(true, f.Data)
				}
			case *http2.HeadersFrame:
				stream = f.StreamID
			}
		}
		// The reader must go on draining, or the client's writes stall.
		go io.Copy(io.Discard, c)
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		enc.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
		var next []byte
		if huge {
			// A literal header field, new name "x-big", value length 100 MB
			// (HPACK integer with a 7-bit prefix), then its bytes.
			block.Write([]byte{0x00, 0x05})
			block.WriteString("x-big")
			block.Write(appendHPACKInt(nil, 0x00, 7, 100<<20))
			next = bytes.Repeat([]byte("a"), 16<<10)
		} else {
			// Literal header fields without indexing, new name (RFC
			// 7541 6.2.2), filling a frame.
			var line []byte
			for len(line) < 16<<10-100 {
				line = append(line, 0x00, 7)
				line = append(line, "x-flood"...)
				line = append(line, 50)
				line = append(line, strings.Repeat("f", 50)...)
			}
			next = line
		}
		if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: block.Bytes()}) != nil {
			return
		}
		for {
			if fr.WriteContinuation(stream, false, next) != nil {
				return
			}
		}
	}))
}

// appendHPACKInt appends v as an HPACK integer with an n-bit prefix
// (RFC 7541 5.1) in a byte starting with first.
func appendHPACKInt(dst []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(max))
	for v -= max; v >= 128; v >>= 7 {
		dst = append(dst, byte(v&0x7f)|0x80)
	}
	return append(dst, byte(v))
}

// http1Flood serves HTTP/1.1: it answers every request with a 200 status
// line and then what flood writes, never ending the header.
func http1Flood(t *testing.T, flood func(*bufio.Writer) error) *net.TCPAddr {
	t.Helper()
	return headFlood(t, "HTTP/1.1 200 OK\r\n", flood)
}

// TestXHTTPFloodIsBounded: a server that answers with response headers
// without end (header lines, or one endless header) is cut off at 64 KiB
// with an error in the upgrade phase that is not a timeout, using little
// memory: XHTTP over HTTP/1.1 in each mode (whose error keeps the cause;
// stream-one and stream-up said only "io: read/write on closed pipe"),
// and over HTTP/2 XHTTP, gRPC and the HTTP/2 transport, whose response
// header lists x/net would otherwise take up to 10 MiB of.
func TestXHTTPFloodIsBounded(t *testing.T) {
	type flood struct {
		name  string
		start func(t *testing.T) *net.TCPAddr
		// h1: an HTTP/1.1 flood, whose error names the limit.
		h1 bool
	}
	floods := []flood{
		{"h1-lines", func(t *testing.T) *net.TCPAddr { return http1Flood(t, endlessLines) }, true},
		{"h1-huge-header", func(t *testing.T) *net.TCPAddr { return http1Flood(t, hugeHeader) }, true},
		{"h2-lines", func(t *testing.T) *net.TCPAddr { return h2FloodServer(t, false) }, false},
		{"h2-huge-header", func(t *testing.T) *net.TCPAddr { return h2FloodServer(t, true) }, false},
	}
	clients := []struct {
		name string
		h2   bool
		cfg  transport.Config
	}{
		{"xhttp-packet-up", false, transport.Config{Network: "xhttp"}},
		{"xhttp-stream-up", false, transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{Mode: "stream-up"}}},
		{"xhttp-stream-one", false, transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{Mode: "stream-one"}}},
		{"xhttp-h2c-packet-up", true, transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{H2C: true}}},
		{"xhttp-h2c-stream-one", true, transport.Config{Network: "xhttp", XHTTP: transport.XHTTPConfig{Mode: "stream-one", H2C: true}}},
		{"grpc", true, transport.Config{Network: "grpc", GRPC: transport.GRPCConfig{ServiceName: "gun"}}},
		{"h2", true, transport.Config{Network: "h2"}},
	}
	for _, fl := range floods {
		for _, cl := range clients {
			if cl.h2 == fl.h1 {
				continue
			}
			t.Run(fl.name+"/"+cl.name, func(t *testing.T) {
				addr := fl.start(t)
				cfg := cl.cfg
				cfg.Address, cfg.Port = "127.0.0.1", uint16(addr.Port)
				// Generous: the limit, not the deadline, must end it.
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				conn, err := transport.Dial(ctx, &cfg, nil)
				if err == nil {
					// gRPC and h2 read the response at the first Read.
					// Over HTTP/2 the Write is larger than the stream's
					// flow-control window, so that it is still blocked
					// when the answer's header ends the request: its
					// error too must be the typed one (it was the body
					// pipe's "read/write on closed pipe" when the stack
					// ended the request before reading "request").
					req := []byte("request")
					if cl.h2 {
						req = make([]byte, 1<<20)
					}
					if _, err = conn.Write(req); err == nil {
						_, err = conn.Read(make([]byte, 10))
					}
					conn.Close()
				}
				runtime.ReadMemStats(&after)
				if err == nil {
					t.Fatal("no error from a flooding server")
				}
				if te := phaseOf(t, err); te.Phase != transport.PhaseUpgrade || te.Timeout() {
					t.Errorf("phase %q, timeout %v: %v", te.Phase, te.Timeout(), err)
				}
				if fl.h1 && !strings.Contains(err.Error(), "exceeded 65536 bytes") {
					t.Errorf("error %q does not name the header limit", err)
				}
				alloc := after.TotalAlloc - before.TotalAlloc
				t.Logf("allocated %d KiB: %v", alloc>>10, err)
				if alloc > 4<<20 {
					t.Errorf("allocated %d MiB; the answer is not bounded", alloc>>20)
				}
			})
		}
	}
}
