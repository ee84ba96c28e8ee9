package transport

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestRandomizedHelloAgainstGoServer dials a crypto/tls server (the TLS
// stack Xray's server uses, which prefers the X25519MLKEM768 hybrid) with
// fresh randomized hellos and no retry: every draw must complete.
func TestRandomizedHelloAgainstGoServer(t *testing.T) {
	cert := vmesstest.NewCert(t, "r.test")
	pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	vmesstest.Serve(t, l, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.(*tls.Conn).Handshake()
		c.Write([]byte("ok"))
	})
	for _, fp := range []string{"randomized", "randomizednoalpn"} {
		t.Run(fp, func(t *testing.T) {
			for i := 0; i < 30; i++ {
				cfg := &Config{Address: "127.0.0.1", Port: 1, Security: "tls",
					TLS: TLSConfig{ServerName: "r.test", Fingerprint: fp, AllowInsecure: true}}
				p, err := cfg.tlsPlan()
				if err != nil {
					t.Fatal(err)
				}
				raw, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				c, err := handshakeTLS(ctx, raw, p, nil)
				cancel()
				raw.Close()
				if err != nil {
					t.Fatalf("draw %d: %v", i, err)
				}
				c.Close()
			}
		})
	}
}
