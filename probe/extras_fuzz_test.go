package probe

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzParseTrace: a trace answer comes from whatever the server reached;
// parsing never panics and what it keeps is printable.
func FuzzParseTrace(f *testing.F) {
	f.Add([]byte("fl=1\nh=www.cloudflare.com\nip=203.0.113.7\nts=1\nloc=NL\ncolo=AMS\n"))
	f.Add([]byte("ip=2001:db8::1\r\nloc=\x1b[31m\r\n"))
	f.Add([]byte("ip=\nip=::ffff:1.2.3.4%eth0\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := parseTrace(body)
		if err != nil {
			return
		}
		for _, s := range []string{e.IP, e.Country, e.Colo} {
			if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
				t.Fatalf("unprintable %q from %q", s, body)
			}
		}
	})
}

// FuzzDNSAnswers: a datagram from the tunnel is checked against our
// query without a panic; only a reply to our id and name passes.
func FuzzDNSAnswers(f *testing.F) {
	q, _ := dnsQuery(0x1234, "www.example.com")
	reply := append([]byte(nil), q...)
	reply[2] |= 0x80
	f.Add(reply)
	f.Add(q)
	f.Add([]byte{0x12, 0x34, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		if dnsAnswers(b, 0x1234, "www.example.com") == nil && (len(b) < 12 || b[0] != 0x12 || b[1] != 0x34 || b[2]&0x80 == 0) {
			t.Fatalf("accepted %x", b)
		}
	})
}
