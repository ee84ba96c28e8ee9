package transport_test

import "crypto/x509"

type x509CertPool = x509.CertPool

func newPool(der []byte) *x509.CertPool {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}
