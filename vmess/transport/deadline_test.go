package transport_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestWSEarlyDataReadDeadline: with early data the WebSocket upgrade waits
// for the first Write; a Read before it must still give up at the read
// deadline (however it was set, and when it is moved during the wait)
// with os.ErrDeadlineExceeded, and the stream stays usable afterwards.
func TestWSEarlyDataReadDeadline(t *testing.T) {
	addr := silentServer(t)
	const d = 200 * time.Millisecond
	tests := []struct {
		name string
		set  func(c net.Conn, start time.Time)
		want time.Duration // when Read should give up, after start
	}{
		{"SetReadDeadline", func(c net.Conn, s time.Time) { c.SetReadDeadline(s.Add(d)) }, d},
		{"SetDeadline", func(c net.Conn, s time.Time) { c.SetDeadline(s.Add(d)) }, d},
		{"moved-during-wait", func(c net.Conn, s time.Time) {
			c.SetReadDeadline(s.Add(d))
			time.AfterFunc(d/2, func() { c.SetReadDeadline(s.Add(2 * d)) })
		}, 2 * d},
		{"already-past", func(c net.Conn, s time.Time) { c.SetReadDeadline(s.Add(-time.Second)) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(addr.Port), Network: "ws",
				WS: transport.WSConfig{Path: "/ws?ed=2048"}}
			conn := dialTransport(t, cfg)
			var err error
			start := time.Now()
			tt.set(conn, start)
			done := make(chan error, 1)
			go func() {
				_, err := conn.Read(make([]byte, 10))
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(tt.want + 5*time.Second):
				t.Fatal("Read before the first Write ignored the read deadline")
			}
			el := time.Since(start)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Read error %v, want os.ErrDeadlineExceeded", err)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("Read error %v is not a net.Error timeout", err)
			}
			// The upper bound is loose: test machines are shared and busy.
			if el < tt.want-10*time.Millisecond || el > tt.want+1500*time.Millisecond {
				t.Errorf("Read gave up after %v, want %v", el, tt.want)
			}
			// A cleared deadline lets a later Read wait again.
			conn.SetReadDeadline(time.Time{})
			go func() {
				_, err := conn.Read(make([]byte, 10))
				done <- err
			}()
			select {
			case err := <-done:
				t.Errorf("Read with no deadline returned %v before any Write", err)
			case <-time.After(50 * time.Millisecond):
			}
			conn.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Read after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Close did not end a waiting Read")
			}
		})
	}
}

// stalledH2C serves h2c streams that never read their request body, so a
// client's writes end up blocked by HTTP/2 flow control.
func stalledH2C(t *testing.T) *net.TCPAddr {
	t.Helper()
	stop := make(chan struct{})
	addr := vmesstest.StartTCP(t, func(c net.Conn) {
		(&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		})})
	})
	// Registered after StartTCP's cleanup, so it runs first and releases
	// the handlers that cleanup waits for.
	t.Cleanup(func() { close(stop) })
	return loopbackAddr(t, addr)
}

// TestGRPCWriteDeadline: a gRPC Write blocked by flow control gives up at
// the write deadline, whether it was set before the Write or moved while
// the Write waits, with os.ErrDeadlineExceeded, and at once (it used to
// wait a second for a server response that could explain the failure).
func TestGRPCWriteDeadline(t *testing.T) {
	addr := stalledH2C(t)
	const d = 200 * time.Millisecond
	tests := []struct {
		name string
		set  func(c net.Conn, start time.Time)
		want time.Duration
	}{
		{"SetWriteDeadline", func(c net.Conn, s time.Time) { c.SetWriteDeadline(s.Add(d)) }, d},
		{"SetDeadline", func(c net.Conn, s time.Time) { c.SetDeadline(s.Add(d)) }, d},
		{"set-during-write", func(c net.Conn, s time.Time) {
			time.AfterFunc(d/2, func() { c.SetWriteDeadline(s.Add(2 * d)) })
		}, 2 * d},
		{"set-past-during-write", func(c net.Conn, s time.Time) {
			time.AfterFunc(d, func() { c.SetWriteDeadline(s) })
		}, d},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &transport.Config{Address: "127.0.0.1", Port: uint16(addr.Port), Network: "grpc"}
			conn := dialTransport(t, cfg)
			var err error
			start := time.Now()
			tt.set(conn, start)
			done := make(chan error, 1)
			go func() {
				_, err := conn.Write(make([]byte, 16<<20)) // beyond any flow-control window
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(tt.want + 5*time.Second):
				t.Fatal("a Write blocked by flow control ignored the write deadline")
			}
			el := time.Since(start)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Write error %v, want os.ErrDeadlineExceeded", err)
			}
			// The upper bound is loose: test machines are shared and busy.
			if el < tt.want-10*time.Millisecond || el > tt.want+700*time.Millisecond {
				t.Errorf("Write gave up after %v, want %v", el, tt.want)
			}
		})
	}
}

// TestPassedDeadlinesLeaveStreamsWorking: on every transport, a read or
// write deadline that passes while nobody reads or writes, and a Read
// that gives up at its deadline, leave the stream working once the
// deadline is cleared: the next write is echoed back. Deadlines belong
// to the stream, never to a connection a background reader shares (HTTP/2's
// frame reader, an HTTP/1.1 upload's answer reader), where one passing
// used to break XHTTP, gRPC and h2 sessions for good ("io: read/write on
// closed pipe", or i/o timeout on every later Read).
func TestPassedDeadlinesLeaveStreamsWorking(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(t)
	type target struct {
		id   string
		host string
		port int
	}
	xray := func(ss string) func() target {
		return func() target {
			s := startServer(t, ss)
			return target{s.ID, s.Host, s.Port}
		}
	}
	sing := func(c *vmesstest.Cert) func() target {
		return func() target {
			s := vmesstest.StartSingServer(t, vmesstest.SingServerOptions{HTTP: &vmesstest.SingHTTPTransport{Cert: c}})
			return target{s.ID, s.Host, s.Port}
		}
	}
	// One server each for every XHTTP mode and stack, as Xray serves
	// them all from one inbound.
	shared := func(start func() target) func() target {
		var tg *target
		return func() target {
			if tg == nil {
				s := start()
				tg = &s
			}
			return *tg
		}
	}
	xhttpPlain := shared(xray(`{"network":"xhttp","xhttpSettings":{"path":"/x"}}`))
	xhttpTLS := shared(xray(tlsServer(cert, "xhttp", `"xhttpSettings":{"path":"/x"}`)))
	cases := []struct {
		name   string
		server func() target
		client func(*transport.Config)
		// xrayRaces: the Xray server races in its own code (see
		// race_on_test.go).
		xrayRaces bool
	}{
		{"raw", xray(""), func(*transport.Config) {}, false},
		{"ws", xray(`{"network":"ws","wsSettings":{"path":"/ws"}}`), func(c *transport.Config) { c.Network, c.WS.Path = "ws", "/ws" }, false},
		{"httpupgrade", xray(`{"network":"httpupgrade","httpupgradeSettings":{"path":"/up"}}`), func(c *transport.Config) {
			c.Network, c.HTTPUpgrade.Path = "httpupgrade", "/up"
		}, false},
		{"grpc", xray(`{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`), func(c *transport.Config) {
			c.Network, c.GRPC.ServiceName = "grpc", "gun"
		}, false},
		{"grpc-tls-multi", xray(tlsServer(cert, "grpc", `"grpcSettings":{"serviceName":"gun"}`)), func(c *transport.Config) {
			pinned("")(c, cert)
			c.Network, c.GRPC = "grpc", transport.GRPCConfig{ServiceName: "gun", MultiMode: true}
		}, false},
		{"h2-tls", sing(cert), func(c *transport.Config) { pinned("")(c, cert); c.Network = "h2" }, false},
		{"h2c", sing(nil), func(c *transport.Config) { c.Network = "h2" }, false},
		{"kcp", xray(`{"network":"kcp","finalmask":{"udp":[{"type":"mkcp-original"}]}}`), func(c *transport.Config) {
			c.Network, c.KCP.HeaderType = "kcp", "none"
		}, true},
	}
	for i, mode := range []string{"packet-up", "stream-up", "stream-one"} {
		// -short: one HTTP stack for each mode.
		for _, v := range shortened(xhttpVersions[:3], func(v xhttpVersion) bool { return v.name == xhttpVersions[i].name }) {
			srv := xhttpPlain
			if v.tls {
				srv = xhttpTLS
			}
			cases = append(cases, struct {
				name      string
				server    func() target
				client    func(*transport.Config)
				xrayRaces bool
			}{"xhttp-" + mode + "-" + v.name, srv, func(c *transport.Config) {
				if v.tls {
					pinned("")(c, cert)
				}
				c.Network, c.XHTTP = "xhttp", transport.XHTTPConfig{Path: "/x", Mode: mode}
				v.set(c)
			}, mode == "packet-up"})
		}
	}
	// Servers start before the subtests go parallel (see
	// TestHalfCloseReachesEOF).
	targets := make([]target, len(cases))
	for i, tc := range cases {
		if tc.xrayRaces && !vmesstest.XrayRaceFree {
			continue
		}
		targets[i] = tc.server()
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.xrayRaces && !vmesstest.XrayRaceFree {
				t.Log("not run under -race: the Xray server races in its own code (see race_on_test.go)")
				return
			}
			t.Parallel()
			srv := targets[i]
			cfg := &transport.Config{Address: srv.host, Port: uint16(srv.port)}
			tc.client(cfg)
			conn := dialTransport(t, cfg)
			// Only a hang should end the test this way.
			guard := time.AfterFunc(30*time.Second, func() { conn.Close() })
			defer guard.Stop()
			id, _ := vmess.ParseID(srv.id)
			vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, echoDest(t, echo), nil)
			if err != nil {
				t.Fatal(err)
			}
			exchange := func(step string) {
				t.Helper()
				msg := []byte("after " + step)
				if _, err := vc.Write(msg); err != nil {
					t.Fatalf("%s: write: %v", step, err)
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(vc, got); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("%s: read %q, %v", step, got, err)
				}
			}
			exchange("nothing")
			vc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			time.Sleep(200 * time.Millisecond)
			vc.SetReadDeadline(time.Time{})
			exchange("an idle read deadline")
			vc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			time.Sleep(200 * time.Millisecond)
			vc.SetWriteDeadline(time.Time{})
			exchange("an idle write deadline")
			vc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := vc.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read with nothing to read: %v, want os.ErrDeadlineExceeded", err)
			}
			vc.SetReadDeadline(time.Time{})
			exchange("a Read that timed out")
		})
	}
}
