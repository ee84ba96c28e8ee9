package vmess

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xtls/xray-core/common/buf"
	xnet "github.com/xtls/xray-core/common/net"
	"github.com/xtls/xray-core/common/protocol"
	xvmess "github.com/xtls/xray-core/proxy/vmess"
	xenc "github.com/xtls/xray-core/proxy/vmess/encoding"
)

// bufConn is a net.Conn over two buffers: what the client writes goes to
// out; what it reads comes from in. Tests hand out to Xray's server
// session and put Xray's reply into in.
type bufConn struct {
	in  io.Reader
	out bytes.Buffer
}

func (c *bufConn) Read(p []byte) (int, error) {
	if c.in == nil {
		return 0, io.EOF
	}
	return c.in.Read(p)
}
func (c *bufConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *bufConn) Close() error                     { return nil }
func (c *bufConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bufConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *bufConn) SetDeadline(time.Time) error      { return nil }
func (c *bufConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bufConn) SetWriteDeadline(time.Time) error { return nil }

// xrayServer is Xray's own server-side VMess session for one user.
type xrayServer struct {
	validator *xvmess.TimedUserValidator
	history   *xenc.SessionHistory
}

func newXrayServer(t testing.TB, id string) *xrayServer {
	t.Helper()
	acc, err := (&xvmess.Account{Id: id}).AsAccount()
	if err != nil {
		t.Fatal(err)
	}
	v := xvmess.NewTimedUserValidator()
	if err := v.Add(&protocol.MemoryUser{Email: "u@test", Account: acc}); err != nil {
		t.Fatal(err)
	}
	h := xenc.NewSessionHistory()
	t.Cleanup(func() { h.Close() })
	return &xrayServer{validator: v, history: h}
}

func readAllMB(r buf.Reader) ([][]byte, error) {
	var out [][]byte
	for {
		mb, err := r.ReadMultiBuffer()
		for _, b := range mb {
			if b == nil {
				continue
			}
			out = append(out, append([]byte(nil), b.Bytes()...))
		}
		buf.ReleaseMulti(mb)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
	}
}

func opt(o RequestOptions) *RequestOptions { return &o }

// TestXraySessionRoundTrip runs our client against Xray's own server
// session (proxy/vmess/encoding.ServerSession) in memory, for every
// security and option combination and both commands: Xray decodes our
// header and body, and encodes a reply that our client reads.
func TestXraySessionRoundTrip(t *testing.T) {
	t.Parallel()
	const uid = "b831381d-6324-4d53-ad4f-8cda48b30811"
	big := make([]byte, 300<<10)
	rand.Read(big)
	tests := []struct {
		name     string
		acct     Account
		wantSec  protocol.SecurityType
		wantOpts byte
	}{
		{"aes-128-gcm", Account{Security: SecurityAES128GCM}, protocol.SecurityType_AES128_GCM, 0x0d},
		{"chacha20-poly1305", Account{Security: SecurityChaCha20Poly1305}, protocol.SecurityType_CHACHA20_POLY1305, 0x0d},
		{"auto", Account{Security: SecurityAuto}, protocol.SecurityType(wireSecurity(SecurityAuto.Resolve())), 0x0d},
		{"none", Account{Security: SecurityNone}, protocol.SecurityType_NONE, 0x05},
		{"zero", Account{Security: SecurityZero}, protocol.SecurityType_NONE, 0x00},
		{"aes+authlen", Account{Security: SecurityAES128GCM, AuthenticatedLength: true}, protocol.SecurityType_AES128_GCM, 0x1d},
		{"chacha+authlen", Account{Security: SecurityChaCha20Poly1305, AuthenticatedLength: true}, protocol.SecurityType_CHACHA20_POLY1305, 0x1d},
		{"aes S only", Account{Security: SecurityAES128GCM, Options: opt(OptionChunkStream)}, protocol.SecurityType_AES128_GCM, 0x01},
		{"aes no S", Account{Security: SecurityAES128GCM, Options: opt(OptionChunkMasking)}, protocol.SecurityType_AES128_GCM, 0x04},
		{"aes A no M", Account{Security: SecurityAES128GCM, Options: opt(OptionChunkStream | OptionAuthenticatedLength)}, protocol.SecurityType_AES128_GCM, 0x11},
		{"chacha S|M", Account{Security: SecurityChaCha20Poly1305, Options: opt(OptionChunkStream | OptionChunkMasking)}, protocol.SecurityType_CHACHA20_POLY1305, 0x05},
		{"none S|M|P", Account{Security: SecurityNone, Options: opt(0x0d)}, protocol.SecurityType_NONE, 0x0d},
		{"none S", Account{Security: SecurityNone, Options: opt(0x01)}, protocol.SecurityType_NONE, 0x01},
		{"aes noEOS", Account{Security: SecurityAES128GCM, NoTerminationSignal: true}, protocol.SecurityType_AES128_GCM, 0x0d},
	}
	dests := []Destination{
		{Network: NetworkTCP, Host: "example.com", Port: 443},
		{Network: NetworkTCP, Host: "192.0.2.7", Port: 80},
		{Network: NetworkUDP, Host: "2001:db8::1", Port: 53},
		{Network: NetworkUDP, Host: "::ffff:10.1.2.3", Port: 5353},
	}
	for _, tt := range tests {
		for _, dest := range dests {
			t.Run(fmt.Sprintf("%s/%s/%s", tt.name, dest.Network, dest), func(t *testing.T) {
				srv := newXrayServer(t, uid)
				acct := tt.acct
				acct.ID = mustID(t, uid)
				conn := &bufConn{}
				c, err := Client(conn, acct, dest, nil)
				if err != nil {
					t.Fatal(err)
				}
				udp := dest.Network == NetworkUDP
				var sent [][]byte
				if udp {
					for _, n := range []int{1, 100, 1400, c.w.MaxPayload()} {
						sent = append(sent, big[:n])
					}
				} else {
					sent = [][]byte{[]byte("GET / HTTP/1.0\r\n\r\n"), big}
				}
				for _, p := range sent {
					if n, err := c.Write(p); err != nil || n != len(p) {
						t.Fatalf("write %d: %d, %v", len(p), n, err)
					}
				}
				if err := c.CloseWrite(); err != nil {
					t.Fatal(err)
				}

				// Xray's server session decodes our request.
				wire := bytes.NewReader(conn.out.Bytes())
				ss := xenc.NewServerSession(srv.validator, srv.history)
				req, err := ss.DecodeRequestHeader(wire, false)
				if err != nil {
					t.Fatalf("Xray rejected our header: %v", err)
				}
				if req.Security != tt.wantSec || byte(req.Option) != tt.wantOpts {
					t.Fatalf("Xray saw security %v options %#x, want %v %#x", req.Security, byte(req.Option), tt.wantSec, tt.wantOpts)
				}
				wantCmd := protocol.RequestCommandTCP
				if udp {
					wantCmd = protocol.RequestCommandUDP
				}
				wantAddr := xnet.ParseAddress(dest.Host)
				if req.Command != wantCmd || req.Port != xnet.Port(dest.Port) || req.Address.String() != wantAddr.String() {
					t.Fatalf("Xray saw %v %v:%v, want %v %v:%v", req.Command, req.Address, req.Port, wantCmd, wantAddr, dest.Port)
				}
				br, err := ss.DecodeRequestBody(req, wire)
				if err != nil {
					t.Fatal(err)
				}
				got, err := readAllMB(br)
				if err != nil {
					t.Fatalf("Xray failed reading our body: %v", err)
				}
				// Datagram boundaries exist unless the body is unframed
				// (zero, or none without S), as in Xray.
				packets := udp && !(req.Security == protocol.SecurityType_NONE && !RequestOptions(req.Option).Has(OptionChunkStream))
				if !packets {
					if !bytes.Equal(bytes.Join(got, nil), bytes.Join(sent, nil)) {
						t.Fatalf("Xray read %d bytes, we sent %d", len(bytes.Join(got, nil)), len(bytes.Join(sent, nil)))
					}
				} else {
					if len(got) != len(sent) {
						t.Fatalf("Xray read %d datagrams, we sent %d", len(got), len(sent))
					}
					for i := range got {
						if !bytes.Equal(got[i], sent[i]) {
							t.Fatalf("datagram %d differs", i)
						}
					}
				}

				// Xray's server session encodes a reply; our client reads it.
				var reply bytes.Buffer
				ss.EncodeResponseHeader(&protocol.ResponseHeader{}, &reply)
				bw, err := ss.EncodeResponseBody(req, &reply)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range sent {
					b := buf.New()
					if len(p) > buf.Size {
						bw.WriteMultiBuffer(buf.MergeBytes(nil, p))
						continue
					}
					b.Write(p)
					if err := bw.WriteMultiBuffer(buf.MultiBuffer{b}); err != nil {
						t.Fatal(err)
					}
				}
				if RequestOptions(req.Option).Has(OptionChunkStream) {
					bw.WriteMultiBuffer(buf.MultiBuffer{})
				}
				conn.in = &reply
				if packets {
					p := make([]byte, 9000)
					for i, want := range sent {
						n, err := c.Read(p)
						if err != nil || !bytes.Equal(p[:n], want) {
							t.Fatalf("datagram %d: %d bytes, %v; want %d bytes", i, n, err, len(want))
						}
					}
					if n, err := c.Read(p); err != io.EOF {
						t.Fatalf("after the datagrams: %d, %v; want EOF", n, err)
					}
					return
				}
				all, err := io.ReadAll(c)
				if err != nil {
					t.Fatalf("reading Xray's reply: %v", err)
				}
				if !bytes.Equal(all, bytes.Join(sent, nil)) {
					t.Fatalf("reply: got %d bytes, want %d", len(all), len(bytes.Join(sent, nil)))
				}
			})
		}
	}
}
