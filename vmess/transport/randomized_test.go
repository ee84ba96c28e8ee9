package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"
)

// TestRandomizedHelloAgainstGoServer dials a crypto/tls server (the TLS
// stack Xray's server uses, which prefers the X25519MLKEM768 hybrid) with
// fresh randomized hellos and no retry: every draw must complete.
func TestRandomizedHelloAgainstGoServer(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"r.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
				c.Write([]byte("ok"))
			}()
		}
	}()
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
