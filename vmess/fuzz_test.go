package vmess

import "testing"

// FuzzDestinationAddr feeds arbitrary host text (from a config or a share
// link) to the destination parser, IDNA conversion included. It must never
// panic; a domain it accepts is ASCII and fits the header's length byte.
func FuzzDestinationAddr(f *testing.F) {
	for _, s := range []string{"example.com", "bücher.example", "例え.テスト", "１２７.０.０.１", "[::1]", "::ffff:127.0.0.1", "bü cher.com", "a\u200db.com", "", "fe80::1%eth0", "xn--zz.com", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip, domain, err := Destination{Host: host, Port: 1}.addr()
		if err != nil {
			return
		}
		if ip.IsValid() == (domain != "") {
			t.Fatalf("%q: ip %v and domain %q", host, ip, domain)
		}
		if len(domain) > 255 {
			t.Fatalf("%q: domain of %d bytes accepted", host, len(domain))
		}
		if !isASCII(host) && !isASCII(domain) {
			t.Fatalf("%q: non-ASCII domain %q accepted", host, domain)
		}
	})
}
