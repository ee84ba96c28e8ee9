package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// floodServer answers every upgrade request with a 101 status line and
// then writes what flood produces until the client goes away (or, for a
// finite flood, until it is written), never ending the header.
func floodServer(t *testing.T, flood func(w *bufio.Writer) error) *net.TCPAddr {
	t.Helper()
	return loopbackAddr(t, vmesstest.StartTCP(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		w := bufio.NewWriterSize(c, 64<<10)
		w.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
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

// TestXHTTPFloodIsBounded: an XHTTP server that answers the download
// request with header lines without end, or one endless header, is cut
// off with an upgrade error long before the deadline, using little
// memory (HTTP/1.1; over HTTP/2 x/net bounds a header list at the 10 MB
// it advertises, as in Xray).
func TestXHTTPFloodIsBounded(t *testing.T) {
	status := func(w *bufio.Writer) error {
		w.WriteString("HTTP/1.1 200 OK\r\n")
		return nil
	}
	for _, tt := range []struct {
		name  string
		flood func(*bufio.Writer) error
	}{
		{"lines", func(w *bufio.Writer) error { status(w); return endlessLines(w) }},
		{"huge-header", func(w *bufio.Writer) error { status(w); return hugeHeader(w) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := loopbackAddr(t, vmesstest.StartTCP(t, func(c net.Conn) {
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				w := bufio.NewWriterSize(c, 64<<10)
				if tt.flood(w) == nil {
					w.Flush()
				}
			}))
			cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(addr.Port), Network: "xhttp"}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			conn, err := transport.Dial(ctx, cfg, nil)
			runtime.ReadMemStats(&after)
			if err == nil {
				conn.Close()
				t.Fatal("Dial succeeded against a flooding server")
			}
			if te := phaseOf(t, err); te.Phase != transport.PhaseUpgrade || te.Timeout() {
				t.Errorf("phase %q, timeout %v: %v", te.Phase, te.Timeout(), err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB: %v", alloc>>10, err)
			if alloc > 8<<20 {
				t.Errorf("the dial allocated %d MiB; the answer is not bounded", alloc>>20)
			}
		})
	}
}
