package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"
	"time"

	xtls "github.com/xtls/xray-core/transport/internet/tls"
)

type testCert struct {
	der  []byte
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func makeCert(t *testing.T, name string, isCA bool, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: isCA,
	}
	if !isCA {
		tmpl.DNSNames = []string{name}
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCert{der: der, cert: c, key: key}
}

func hash(c *testCert) []byte {
	h := sha256.Sum256(c.der)
	return h[:]
}

// TestVerifyMatchesXray compares our certificate check with Xray's own
// (tls.Config.GetTLSConfig().VerifyPeerCertificate, run in the test)
// over chains, pins, verifyPeerCertByName lists and server names.
func TestVerifyMatchesXray(t *testing.T) {
	t.Parallel()
	ca := makeCert(t, "Test CA", true, nil)
	leaf := makeCert(t, "leaf.test", false, ca)
	self := makeCert(t, "self.test", false, nil)
	other := makeCert(t, "other.test", false, nil)
	chains := map[string][][]byte{
		"leaf+ca": {leaf.der, ca.der},
		"self":    {self.der},
	}
	pinSets := map[string][][]byte{
		"no-pin": nil, "pin-leaf": {hash(leaf)}, "pin-ca": {hash(ca)}, "pin-self": {hash(self)},
		"pin-other": {hash(other)}, "pin-other+ca": {hash(other), hash(ca)},
	}
	nameSets := map[string][]string{
		"no-names": nil, "right": {"leaf.test"}, "wrong": {"nope.test"}, "wrong+right": {"nope.test", "leaf.test"},
	}
	for chainName, chain := range chains {
		for pinName, pins := range pinSets {
			for nameName, names := range nameSets {
				for _, sni := range []string{"leaf.test", "nope.test"} {
					name := fmt.Sprintf("%s/%s/%s/%s", chainName, pinName, nameName, sni)
					t.Run(name, func(t *testing.T) {
						xc := &xtls.Config{ServerName: sni, PinnedPeerCertSha256: pins, VerifyPeerCertByName: names}
						xerr := xc.GetTLSConfig().VerifyPeerCertificate(chain, nil)
						var hexPins []string
						for _, p := range pins {
							hexPins = append(hexPins, hex.EncodeToString(p))
						}
						cfg := &Config{Address: "127.0.0.1", TLS: TLSConfig{ServerName: sni, PinnedPeerCertSHA256: hexPins, VerifyPeerCertByName: names}}
						p, err := cfg.tlsPlan()
						if err != nil {
							t.Fatal(err)
						}
						ourErr := p.verify(chain)
						if (xerr == nil) != (ourErr == nil) {
							t.Errorf("xray: %v; xvm: %v", xerr, ourErr)
						}
					})
				}
			}
		}
	}
}
