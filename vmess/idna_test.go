package vmess

import (
	"net/netip"
	"strings"
	"testing"
)

// TestDestinationIDNA: a non-ASCII domain goes on the wire in its IDNA
// (UTS #46 lookup) punycode form; ASCII hosts are sent as given; an
// invalid internationalized name is refused with advice. "Bücher" →
// "xn--bcher-kva" is RFC 3492's own example; the Xray end-to-end check is
// TestInteropIDNA.
func TestDestinationIDNA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host    string
		domain  string
		ip      string
		wantErr string
	}{
		{host: "bücher.example", domain: "xn--bcher-kva.example"},
		{host: "BÜCHER.example", domain: "xn--bcher-kva.example"},
		{host: "例え.テスト", domain: "xn--r8jz45g.xn--zckzah"},
		{host: "ｅｘａｍｐｌｅ。com", domain: "example.com"},
		{host: "１２７.０.０.１", ip: "127.0.0.1"},
		{host: "Example.COM", domain: "Example.COM"},
		{host: "_acme.example", domain: "_acme.example"},
		{host: "xn--bcher-kva.example", domain: "xn--bcher-kva.example"},
		{host: "bü cher.example", wantErr: "disallowed rune U+0020"},
		{host: "ü-.example", wantErr: "invalid label"},
		{host: "a\u200db.example", wantErr: "invalid label"},
		{host: "\u200b", wantErr: "no domain"}, // found by FuzzDestinationAddr
		{host: "\u200b.\u00ad", wantErr: "no domain"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			ip, domain, err := Destination{Host: tt.host, Port: 443}.addr()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.ip != "" {
				if ip != netip.MustParseAddr(tt.ip) || domain != "" {
					t.Fatalf("got ip %v domain %q, want ip %s", ip, domain, tt.ip)
				}
				return
			}
			if ip.IsValid() || domain != tt.domain {
				t.Fatalf("got ip %v domain %q, want domain %q", ip, domain, tt.domain)
			}
		})
	}
}
