package vmess_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xtls/xray-core/common/buf"
	xnet "github.com/xtls/xray-core/common/net"
	"github.com/xtls/xray-core/common/protocol"
	"github.com/xtls/xray-core/common/uuid"
	xvmess "github.com/xtls/xray-core/proxy/vmess"
	xenc "github.com/xtls/xray-core/proxy/vmess/encoding"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

const downloadSize = 64 << 20

// BenchmarkDownload64MiB downloads 64 MiB from a loopback source through
// the same in-process Xray VMess server, once with our client and once
// with Xray-core's own VMess outbound (a dokodemo-door in front of it), for
// the two AEAD securities. Compare xvm and xray ns/op (or MB/s). Each
// fetch stops at the 64 MiB-th byte, so neither side pays Xray's 1 s
// close timers. allocs/op counts the whole process, including the
// in-process Xray server; TestSteadyStateAllocs pins our client's own
// per-chunk allocations at zero.
func BenchmarkDownload64MiB(b *testing.B) {
	srv := vmesstest.StartServer(b, vmesstest.ServerOptions{})
	src := vmesstest.StartSource(b, downloadSize)
	for _, client := range []string{"xvm", "xray"} {
		for _, sec := range []vmess.Security{vmess.SecurityAES128GCM, vmess.SecurityChaCha20Poly1305} {
			b.Run(client+"/"+sec.String(), func(b *testing.B) {
				var fetch func() (int64, error)
				switch client {
				case "xvm":
					acct := account(b, srv.ID, sec, false)
					dest := destOf(b, vmess.NetworkTCP, src.Addr)
					fetch = func() (int64, error) {
						raw, err := net.Dial("tcp", srv.Addr)
						if err != nil {
							return 0, err
						}
						defer raw.Close()
						c, err := vmess.Client(raw, acct, dest, nil)
						if err != nil {
							return 0, err
						}
						ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
						defer cancel()
						if err := c.HandshakeContext(ctx); err != nil {
							return 0, err
						}
						return io.CopyN(io.Discard, c, downloadSize)
					}
				case "xray":
					cli := vmesstest.StartClient(b, vmesstest.ClientOptions{Server: srv, Security: sec.String(), Forward: src.Addr})
					fetch = func() (int64, error) {
						c, err := net.Dial("tcp", cli.Addr)
						if err != nil {
							return 0, err
						}
						defer c.Close()
						return io.CopyN(io.Discard, c, downloadSize)
					}
				}
				// One warm-up fetch outside the timer (and a check that
				// the whole body arrives).
				if n, err := fetch(); err != nil || n != downloadSize {
					b.Fatalf("warm-up: %d bytes, %v", n, err)
				}
				b.SetBytes(downloadSize)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					n, err := fetch()
					if err != nil || n != downloadSize {
						b.Fatalf("%d bytes, %v", n, err)
					}
				}
			})
		}
	}
}

// startSink starts a loopback server that reads n bytes per connection and
// then answers "ok": the upload benchmark's destination. (It does not wait
// for EOF: Xray's freedom outbound never half-closes towards it.)
func startSink(b *testing.B, n int64) string {
	return vmesstest.StartTCP(b, func(c net.Conn) {
		if _, err := io.CopyN(io.Discard, c, n); err == nil {
			c.Write([]byte("ok"))
		}
	})
}

// BenchmarkUpload64MiB sends 64 MiB to a loopback sink through the same
// in-process Xray server, with our client and with Xray's own, and waits
// for the sink's acknowledgement.
func BenchmarkUpload64MiB(b *testing.B) {
	srv := vmesstest.StartServer(b, vmesstest.ServerOptions{})
	sink := startSink(b, downloadSize)
	data := make([]byte, 256<<10)
	send := func(c net.Conn) error {
		for left := downloadSize; left > 0; left -= len(data) {
			if _, err := c.Write(data[:min(left, len(data))]); err != nil {
				return err
			}
		}
		ack := make([]byte, 2)
		_, err := io.ReadFull(c, ack)
		return err
	}
	for _, client := range []string{"xvm", "xray"} {
		for _, sec := range []vmess.Security{vmess.SecurityAES128GCM, vmess.SecurityChaCha20Poly1305} {
			b.Run(client+"/"+sec.String(), func(b *testing.B) {
				var dial func() (net.Conn, error)
				switch client {
				case "xvm":
					acct := account(b, srv.ID, sec, false)
					dest := destOf(b, vmess.NetworkTCP, sink)
					dial = func() (net.Conn, error) {
						raw, err := net.Dial("tcp", srv.Addr)
						if err != nil {
							return nil, err
						}
						return vmess.Client(raw, acct, dest, nil)
					}
				case "xray":
					cli := vmesstest.StartClient(b, vmesstest.ClientOptions{Server: srv, Security: sec.String(), Forward: sink})
					dial = func() (net.Conn, error) { return net.Dial("tcp", cli.Addr) }
				}
				once := func() error {
					c, err := dial()
					if err != nil {
						return err
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(30 * time.Second))
					return send(c)
				}
				if err := once(); err != nil {
					b.Fatalf("warm-up: %v", err)
				}
				b.SetBytes(downloadSize)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := once(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// discardConn is a net.Conn that accepts every write.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkHandshake measures building and sealing a request (keys,
// header, auth id, the KDF chain, and the first 1-byte chunk): our
// Client+Write next to Xray's ClientSession doing the same.
func BenchmarkHandshake(b *testing.B) {
	const id = "b831381d-6324-4d53-ad4f-8cda48b30811"
	dest := vmess.Destination{Host: "example.com", Port: 443}
	one := []byte{1}
	b.Run("xvm", func(b *testing.B) {
		acct := account(b, id, vmess.SecurityAES128GCM, false)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, err := vmess.Client(discardConn{}, acct, dest, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(one); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xray", func(b *testing.B) {
		u, _ := uuid.ParseString(id)
		acc, err := (&xvmess.Account{Id: u.String(), SecuritySettings: &protocol.SecurityConfig{Type: protocol.SecurityType_AES128_GCM}}).AsAccount()
		if err != nil {
			b.Fatal(err)
		}
		req := &protocol.RequestHeader{
			Version: 1, User: &protocol.MemoryUser{Account: acc}, Command: protocol.RequestCommandTCP,
			Option:  protocol.RequestOptionChunkStream | protocol.RequestOptionChunkMasking | protocol.RequestOptionGlobalPadding,
			Address: xnet.DomainAddress("example.com"), Port: 443, Security: protocol.SecurityType_AES128_GCM,
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s := xenc.NewClientSession(context.Background(), 0)
			if err := s.EncodeRequestHeader(req, io.Discard); err != nil {
				b.Fatal(err)
			}
			w, err := s.EncodeRequestBody(req, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			mb := buf.MultiBuffer{buf.New()}
			mb[0].Write(one)
			if err := w.WriteMultiBuffer(mb); err != nil {
				b.Fatal(err)
			}
		}
	})
}
