package transport_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// benchDownload is the payload of the throughput benchmarks.
const benchDownload = 64 << 20

// benchCase is one transport with the server settings, Xray's client
// settings and ours, all describing the same stream.
type benchCase struct {
	name   string
	server func(*vmesstest.Cert) string
	xray   func(*vmesstest.Cert) string
	ours   func(*transport.Config, *vmesstest.Cert)
	// reuses: Xray's client keeps its connections per outbound and
	// reuses them (gRPC, XHTTP's xmux), so a fresh one is timed apart.
	reuses bool
}

func xrayTLS(cert *vmesstest.Cert, network, extra string) string {
	s := `{"network":"` + network + `","security":"tls","tlsSettings":{"serverName":"vmess.test","pinnedPeerCertSha256":"` + cert.SHA256 + `"}`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func benchCases() []benchCase {
	plain := func(s string) func(*vmesstest.Cert) string { return func(*vmesstest.Cert) string { return s } }
	return []benchCase{
		{"raw", plain(""), plain(""), func(*transport.Config, *vmesstest.Cert) {}, false},
		{"raw-tls",
			func(c *vmesstest.Cert) string { return tlsServer(c, "raw", "") },
			func(c *vmesstest.Cert) string { return xrayTLS(c, "raw", "") },
			pinned(""), false},
		{"ws", plain(`{"network":"ws","wsSettings":{"path":"/ws"}}`), plain(`{"network":"ws","wsSettings":{"path":"/ws"}}`),
			func(cfg *transport.Config, _ *vmesstest.Cert) { cfg.Network, cfg.WS.Path = "ws", "/ws" }, false},
		{"ws-ed-tls",
			func(c *vmesstest.Cert) string { return tlsServer(c, "ws", `"wsSettings":{"path":"/ws"}`) },
			func(c *vmesstest.Cert) string { return xrayTLS(c, "ws", `"wsSettings":{"path":"/ws?ed=2048"}`) },
			func(cfg *transport.Config, c *vmesstest.Cert) {
				pinned("")(cfg, c)
				cfg.Network, cfg.WS.Path = "ws", "/ws?ed=2048"
			}, false},
		{"httpupgrade", plain(`{"network":"httpupgrade","httpupgradeSettings":{"path":"/up"}}`),
			plain(`{"network":"httpupgrade","httpupgradeSettings":{"path":"/up"}}`),
			func(cfg *transport.Config, _ *vmesstest.Cert) {
				cfg.Network, cfg.HTTPUpgrade.Path = "httpupgrade", "/up"
			}, false},
		{"grpc", plain(`{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`),
			plain(`{"network":"grpc","grpcSettings":{"serviceName":"gun"}}`),
			func(cfg *transport.Config, _ *vmesstest.Cert) { cfg.Network, cfg.GRPC.ServiceName = "grpc", "gun" }, true},
		{"grpc-multi-tls",
			func(c *vmesstest.Cert) string { return tlsServer(c, "grpc", `"grpcSettings":{"serviceName":"gun"}`) },
			func(c *vmesstest.Cert) string {
				return xrayTLS(c, "grpc", `"grpcSettings":{"serviceName":"gun","multiMode":true}`)
			},
			func(cfg *transport.Config, c *vmesstest.Cert) {
				pinned("")(cfg, c)
				cfg.Network, cfg.GRPC.ServiceName, cfg.GRPC.MultiMode = "grpc", "gun", true
			}, true},
		{"xhttp", plain(`{"network":"xhttp","xhttpSettings":{"path":"/x"}}`), plain(`{"network":"xhttp","xhttpSettings":{"path":"/x"}}`),
			func(cfg *transport.Config, _ *vmesstest.Cert) { cfg.Network, cfg.XHTTP.Path = "xhttp", "/x" }, true},
		{"xhttp-stream-one-tls",
			func(c *vmesstest.Cert) string { return tlsServer(c, "xhttp", `"xhttpSettings":{"path":"/x"}`) },
			func(c *vmesstest.Cert) string {
				return xrayTLS(c, "xhttp", `"xhttpSettings":{"path":"/x","mode":"stream-one"}`)
			},
			func(cfg *transport.Config, c *vmesstest.Cert) {
				pinned("")(cfg, c)
				cfg.Network, cfg.XHTTP = "xhttp", transport.XHTTPConfig{Path: "/x", Mode: "stream-one"}
			}, true},
		{"kcp", plain(`{"network":"kcp","finalmask":{"udp":[{"type":"mkcp-original"}]}}`),
			plain(`{"network":"kcp","finalmask":{"udp":[{"type":"mkcp-original"}]}}`),
			func(cfg *transport.Config, _ *vmesstest.Cert) { cfg.Network, cfg.KCP.HeaderType = "kcp", "none" }, false},
		{"kcp-srtp-seed", plain(`{"network":"kcp","finalmask":{"udp":[{"type":"header-srtp"},{"type":"mkcp-aes128gcm","settings":{"password":"s"}}]}}`),
			plain(`{"network":"kcp","finalmask":{"udp":[{"type":"header-srtp"},{"type":"mkcp-aes128gcm","settings":{"password":"s"}}]}}`),
			func(cfg *transport.Config, _ *vmesstest.Cert) {
				cfg.Network, cfg.KCP = "kcp", transport.KCPConfig{HeaderType: "srtp", Seed: "s"}
			}, false},
	}
}

// xrayDial opens a stream to addr through Xray's client in process
// (core.Dial): Xray's VMess outbound and transport, with no inbound or
// loopback hop in front, as xvm's Dial has none.
// The session's context ends with Close, or after 120 s should it hang.
func xrayDial(b *testing.B, xc *vmesstest.Client, addr string) net.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	c, err := xc.Dial(ctx, addr)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	return &sessionConn{Conn: c, cancel: cancel}
}

// sessionConn ends its session's context once closed.
type sessionConn struct {
	net.Conn
	cancel context.CancelFunc
}

func (c *sessionConn) Close() error {
	err := c.Conn.Close()
	c.cancel()
	return err
}

// pingXray sends one byte through Xray's client to the echo server at
// addr and reads the echo back into one: one round trip on a fresh
// stream, returned open.
func pingXray(b *testing.B, xc *vmesstest.Client, addr string, one []byte) net.Conn {
	c := xrayDial(b, xc, addr)
	if _, err := c.Write([]byte("x")); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(c, one); err != nil {
		b.Fatal(err)
	}
	return c
}

// xvmDial opens a VMess session with our transport and client.
func xvmDial(b *testing.B, cfg *transport.Config, id vmess.ID, dest vmess.Destination) *vmess.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	vc, err := vmess.Client(conn, vmess.Account{ID: id, Security: vmess.SecurityAES128GCM}, dest, nil)
	if err != nil {
		b.Fatal(err)
	}
	return vc
}

func addrDest(b *testing.B, addr string) vmess.Destination {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := net.LookupPort("tcp", port)
	return vmess.Destination{Network: vmess.NetworkTCP, Host: host, Port: uint16(p)}
}

// BenchmarkHandshake measures connect → first echoed byte: for xvm,
// Dial + VMess request + response; for Xray, core.Dial through its VMess
// outbound to the same server, in process (Xray's gRPC client reuses its
// HTTP/2 connection across sessions while Dial opens a fresh one).
func BenchmarkHandshake(b *testing.B) {
	cert := vmesstest.NewCert(b, "vmess.test", "127.0.0.1")
	echo := vmesstest.StartEcho(b)
	for _, bc := range benchCases() {
		srv := startServer(b, bc.server(cert))
		id, _ := vmess.ParseID(srv.ID)
		b.Run(bc.name+"/xvm", func(b *testing.B) {
			cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port)}
			bc.ours(cfg, cert)
			dest := addrDest(b, echo.Addr)
			one := make([]byte, 1)
			for b.Loop() {
				vc := xvmDial(b, cfg, id, dest)
				if _, err := vc.Write([]byte("x")); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(vc, one); err != nil {
					b.Fatal(err)
				}
				vc.Close()
			}
		})
		b.Run(bc.name+"/xray", func(b *testing.B) {
			xc := vmesstest.StartClient(b, vmesstest.ClientOptions{Server: srv, Security: "aes-128-gcm",
				StreamSettings: bc.xray(cert)})
			one := make([]byte, 1)
			for b.Loop() {
				pingXray(b, xc, echo.Addr, one).Close()
			}
		})
		if !bc.reuses {
			continue
		}
		// Xray keeps its gRPC and XHTTP (xmux) connections per outbound
		// and reuses them, so the loop above times only a new stream
		// (or requests) after the first op. A new Xray client per op
		// (started with the timer stopped) times a fresh connection,
		// which is what Dial always makes.
		b.Run(bc.name+"/xray-fresh", func(b *testing.B) {
			one := make([]byte, 1)
			for b.Loop() {
				b.StopTimer()
				xc, err := vmesstest.NewClient(vmesstest.ClientOptions{Server: srv, Security: "aes-128-gcm",
					StreamSettings: bc.xray(cert)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c := pingXray(b, xc, echo.Addr, one)
				b.StopTimer()
				c.Close()
				xc.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkDownload measures 64 MiB from a loopback source through the
// Xray VMess server, with our client and with Xray's (core.Dial in
// process, no inbound hop), side by side in one run. The clock stops at
// the last byte, not at the end of stream, which Xray's client delays by
// its 1 s uplinkOnly policy while the uplink is still open.
//
// Throughput is reported as MB/s of bytes received. Xray's own client
// sometimes ends the stream early over mKCP and XHTTP packet-up (seen:
// 3 of 64 MiB, and 64 MiB less 7 KB, with the same server giving xvm
// every byte); such a run is logged and measured on what arrived, while a
// short read by xvm fails the benchmark.
func BenchmarkDownload(b *testing.B) {
	cert := vmesstest.NewCert(b, "vmess.test", "127.0.0.1")
	src := vmesstest.StartSource(b, benchDownload)
	buf := make([]byte, 64<<10)
	for _, bc := range benchCases() {
		srv := startServer(b, bc.server(cert))
		id, _ := vmess.ParseID(srv.ID)
		b.Run(bc.name+"/xvm", func(b *testing.B) {
			cfg := &transport.Config{Address: srv.Host, Port: uint16(srv.Port)}
			bc.ours(cfg, cert)
			dest := addrDest(b, src.Addr)
			var total int64
			for b.Loop() {
				vc := xvmDial(b, cfg, id, dest)
				n, err := io.CopyBuffer(io.Discard, io.LimitReader(vc, benchDownload), buf)
				if err != nil || n != benchDownload {
					b.Fatalf("got %d bytes, %v", n, err)
				}
				total += n
				vc.Close()
			}
			reportThroughput(b, total)
		})
		b.Run(bc.name+"/xray", func(b *testing.B) {
			xc := vmesstest.StartClient(b, vmesstest.ClientOptions{Server: srv, Security: "aes-128-gcm",
				StreamSettings: bc.xray(cert)})
			var total int64
			for b.Loop() {
				c := xrayDial(b, xc, src.Addr)
				n, err := io.CopyBuffer(io.Discard, io.LimitReader(c, benchDownload), buf)
				if err != nil {
					b.Fatalf("got %d bytes, %v", n, err)
				}
				if n != benchDownload {
					b.Logf("Xray's client ended the stream after %d of %d bytes", n, benchDownload)
				}
				total += n
				c.Close()
			}
			reportThroughput(b, total)
		})
	}
}

// reportThroughput reports the MB/s of total bytes over the loop's time.
func reportThroughput(b *testing.B, total int64) {
	b.ReportMetric(float64(total)/b.Elapsed().Seconds()/1e6, "MB/s")
}
