package vmesstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// EchoServer is a loopback TCP server that writes back every byte it reads
// and half-closes its side when the client half-closes.
type EchoServer struct {
	Addr string
}

// StartEcho starts a TCP echo server on 127.0.0.1 for the test's lifetime.
func StartEcho(tb testing.TB) *EchoServer {
	tb.Helper()
	return StartEchoOn(tb, "127.0.0.1:0")
}

// StartEchoOn starts a TCP echo server on addr (for example "[::1]:0" for
// IPv6 loopback) for the test's lifetime. Addr is then host:port with the
// port chosen, ready for net.SplitHostPort.
func StartEchoOn(tb testing.TB, addr string) *EchoServer {
	tb.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("vmesstest: echo listen on %s: %v", addr, err)
	}
	Serve(tb, l, func(c net.Conn) {
		io.Copy(c, c)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	})
	return &EchoServer{Addr: l.Addr().String()}
}

// SourceServer is a loopback TCP server that, on every connection, reads
// nothing and writes N bytes of a repeating pattern, then closes. It is the
// download target of throughput benchmarks.
type SourceServer struct {
	Addr string
}

// StartSource starts a SourceServer that sends n bytes per connection.
func StartSource(tb testing.TB, n int64) *SourceServer {
	tb.Helper()
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	addr := StartTCP(tb, func(c net.Conn) {
		for left := n; left > 0; {
			chunk := buf
			if int64(len(chunk)) > left {
				chunk = chunk[:left]
			}
			w, err := c.Write(chunk)
			if err != nil {
				return
			}
			left -= int64(w)
		}
	})
	return &SourceServer{Addr: addr}
}

// UDPEchoServer is a loopback UDP server that sends every datagram back to
// its sender.
type UDPEchoServer struct {
	Addr string
}

// StartUDPEcho starts a UDP echo server on 127.0.0.1 for the test's lifetime.
func StartUDPEcho(tb testing.TB) *UDPEchoServer {
	tb.Helper()
	return StartUDPEchoOn(tb, "127.0.0.1:0")
}

// StartUDPEchoOn starts a UDP echo server on addr (for example "[::1]:0")
// for the test's lifetime.
func StartUDPEchoOn(tb testing.TB, addr string) *UDPEchoServer {
	tb.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		tb.Fatalf("vmesstest: udp echo listen on %s: %v", addr, err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	tb.Cleanup(func() { pc.Close() })
	return &UDPEchoServer{Addr: pc.LocalAddr().String()}
}

// StartSilentUDP starts a UDP socket on 127.0.0.1 that reads every
// datagram and answers none (a DNS server that never answers, an mKCP
// peer that is gone), for the test's lifetime, and returns its address.
func StartSilentUDP(tb testing.TB) *net.UDPAddr {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("vmesstest: udp listen: %v", err)
	}
	tb.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFrom(buf); errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

// Cert is a self-signed certificate made for one test.
type Cert struct {
	// CertPEM and KeyPEM are the PEM blocks.
	CertPEM, KeyPEM []byte
	// SHA256 is the hex SHA-256 of the DER certificate, the form Xray's
	// pinnedPeerCertSha256 takes.
	SHA256 string
	// DER is the certificate.
	DER []byte
}

// NewCert makes a self-signed ECDSA certificate valid for the given DNS
// names and IP addresses (strings that parse as IPs go into IPAddresses).
func NewCert(tb testing.TB, names ...string) *Cert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("vmesstest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vmesstest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("vmesstest: certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatalf("vmesstest: marshal key: %v", err)
	}
	sum := sha256.Sum256(der)
	return &Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		SHA256:  hex.EncodeToString(sum[:]),
		DER:     der,
	}
}

// TLSSettings returns an Xray server-side tlsSettings JSON object that
// serves this certificate inline, with the given ALPN list (may be empty).
func (c *Cert) TLSSettings(alpn ...string) string {
	lines := func(b []byte) string {
		var parts []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			parts = append(parts, `"`+l+`"`)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	s := `{"certificates":[{"certificate":` + lines(c.CertPEM) + `,"key":` + lines(c.KeyPEM) + `}]`
	if len(alpn) > 0 {
		s += `,"alpn":["` + strings.Join(alpn, `","`) + `"]`
	}
	return s + "}"
}
