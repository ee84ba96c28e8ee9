package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestRandomizedHelloAgainstGoServer dials a crypto/tls server (the TLS
// stack Xray's server uses, which prefers the X25519MLKEM768 hybrid) with
// fresh randomized hellos and no retry: every draw must complete.
func TestRandomizedHelloAgainstGoServer(t *testing.T) {
	t.Parallel()
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

// TestUnusableDrawIsTyped: a ClientHello that offers X25519MLKEM768
// without a key share for it, against a server that wants only that
// group, gets a HelloRetryRequest uTLS cannot answer. The failure is an
// *unusableDrawError (what dialTLS retries a randomized draw on), read
// from the handshake state rather than from the error's text; an
// ordinary failure (no HelloRetryRequest) is not.
func TestUnusableDrawIsTyped(t *testing.T) {
	t.Parallel()
	cert := vmesstest.NewCert(t, "r.test")
	pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(curves ...tls.CurveID) string {
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, CurvePreferences: curves})
		if err != nil {
			t.Fatal(err)
		}
		vmesstest.Serve(t, l, func(c net.Conn) {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.(*tls.Conn).Handshake()
		})
		return l.Addr().String()
	}
	hybridOnly := serve(tls.X25519MLKEM768)
	p384Only := serve(tls.CurveP384)
	for _, tt := range []struct {
		name   string
		addr   string
		curves []utls.CurveID
		typed  bool
	}{
		{"hrr-for-hybrid", hybridOnly, []utls.CurveID{utls.X25519MLKEM768, utls.X25519}, true},
		{"no-common-group", p384Only, []utls.CurveID{utls.X25519}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := net.Dial("tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(5 * time.Second))
			uc := utls.UClient(raw, &utls.Config{ServerName: "r.test", InsecureSkipVerify: true}, utls.HelloCustom)
			spec := &utls.ClientHelloSpec{
				TLSVersMin: utls.VersionTLS13, TLSVersMax: utls.VersionTLS13,
				CipherSuites: []uint16{utls.TLS_AES_128_GCM_SHA256},
				Extensions: []utls.TLSExtension{
					&utls.SNIExtension{},
					&utls.SupportedCurvesExtension{Curves: tt.curves},
					&utls.KeyShareExtension{KeyShares: []utls.KeyShare{{Group: utls.X25519}}},
					&utls.SupportedVersionsExtension{Versions: []uint16{utls.VersionTLS13}},
					&utls.SignatureAlgorithmsExtension{SupportedSignatureAlgorithms: []utls.SignatureScheme{utls.ECDSAWithP256AndSHA256, utls.PSSWithSHA256, utls.PKCS1WithSHA256}},
				},
			}
			if err := uc.ApplyPreset(spec); err != nil {
				t.Fatal(err)
			}
			err = uc.Handshake()
			if err == nil {
				t.Fatal("the handshake succeeded")
			}
			var draw *unusableDrawError
			if got := errors.As(unusableDraw(uc, err), &draw); got != tt.typed {
				t.Fatalf("typed as an unusable draw: %v, want %v (%v)", got, tt.typed, err)
			}
			if tt.typed && draw.group != utls.X25519MLKEM768 {
				t.Errorf("group %#04x, want X25519MLKEM768", uint16(draw.group))
			}
			t.Logf("%v", unusableDraw(uc, err))
		})
	}
}
