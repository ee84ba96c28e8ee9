package vmess

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestParseSecurity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Security
		err  bool
	}{
		{"", SecurityAuto, false},
		{"AUTO", SecurityAuto, false},
		{"aes-128-gcm", SecurityAES128GCM, false},
		{"ChaCha20-Poly1305", SecurityChaCha20Poly1305, false},
		{"none", SecurityNone, false},
		{"zero", SecurityZero, false},
		{"aes-128-cfb", SecurityLegacyAES128CFB, false},
		{"legacy", SecurityLegacyAES128CFB, false},
		{"aes-256-gcm", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSecurity(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("ParseSecurity(%q) = %v, %v", tt.in, got, err)
			}
			if err == nil && tt.in != "" && tt.in != "legacy" && !strings.EqualFold(got.String(), tt.in) {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
}

// TestAutoResolution is the seed's rule: aes-128-gcm on amd64, arm64 and
// s390x, chacha20-poly1305 elsewhere.
func TestAutoResolution(t *testing.T) {
	t.Parallel()
	for arch, want := range map[string]Security{
		"amd64": SecurityAES128GCM, "arm64": SecurityAES128GCM, "s390x": SecurityAES128GCM,
		"386": SecurityChaCha20Poly1305, "arm": SecurityChaCha20Poly1305, "riscv64": SecurityChaCha20Poly1305,
		"mips": SecurityChaCha20Poly1305, "ppc64le": SecurityChaCha20Poly1305,
	} {
		t.Run(arch, func(t *testing.T) {
			if got := resolveAuto(arch); got != want {
				t.Fatalf("auto on %s = %v, want %v", arch, got, want)
			}
		})
	}
}

// TestDefaultOptions pins the option bytes to what Xray's outbound sends
// (docs/protocol.md#option-bytes-each-client-sends).
func TestDefaultOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		acct Account
		want RequestOptions
	}{
		{Account{Security: SecurityAES128GCM}, 0x0d},
		{Account{Security: SecurityChaCha20Poly1305}, 0x0d},
		{Account{Security: SecurityAuto}, 0x0d},
		{Account{Security: SecurityNone}, 0x05},
		{Account{Security: SecurityZero}, 0x00},
		{Account{Security: SecurityAES128GCM, AuthenticatedLength: true}, 0x1d},
		{Account{Security: SecurityLegacyAES128CFB}, 0x01},
	}
	for _, tt := range tests {
		t.Run(tt.acct.Security.String(), func(t *testing.T) {
			if got := tt.acct.DefaultOptions(); got != tt.want {
				t.Fatalf("options %#x, want %#x", got, tt.want)
			}
		})
	}
	o := RequestOptions(0x01)
	if got := (Account{Security: SecurityAES128GCM, Options: &o}).options(); got != 0x01 {
		t.Fatalf("explicit options ignored: %#x", got)
	}
}

func TestClientRejectsBadInput(t *testing.T) {
	t.Parallel()
	id := mustID(t, vecUUID)
	p := RequestOptions(OptionChunkStream | OptionGlobalPadding)
	tests := []struct {
		name string
		acct Account
		dest Destination
		want string
	}{
		{"empty host", Account{ID: id}, Destination{Port: 1}, "host is empty"},
		{"long domain", Account{ID: id}, Destination{Host: strings.Repeat("a", 256), Port: 1}, "at most 255"},
		{"P without M", Account{ID: id, Options: &p}, Destination{Host: "a", Port: 1}, "needs chunk masking"},
		{"bad security", Account{ID: id, Security: 99}, Destination{Host: "a", Port: 1}, "unknown security"},
		{"bad network", Account{ID: id}, Destination{Network: 7, Host: "a", Port: 1}, "unknown network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c1, c2 := net.Pipe()
			defer c1.Close()
			defer c2.Close()
			_, err := Client(c1, tt.acct, tt.dest, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestWriteAfterCloseWrite(t *testing.T) {
	t.Parallel()
	c, err := Client(readConn{}, Account{ID: mustID(t, vecUUID)}, Destination{Host: "a", Port: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("second CloseWrite: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
}

func TestPacketConnDestination(t *testing.T) {
	t.Parallel()
	pc, err := ClientPacket(readConn{}, Account{ID: mustID(t, vecUUID)}, Destination{Host: "dns.example", Port: 53}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Conn().dest.Network != NetworkUDP || pc.addr.String() != "dns.example:53" || pc.addr.Network() != "udp" {
		t.Fatalf("addr %v network %v", pc.addr, pc.addr.Network())
	}
	other := &net.UDPAddr{IP: net.IPv4(1, 2, 3, 4), Port: 53}
	if _, err := pc.WriteTo([]byte("x"), other); err == nil {
		t.Fatal("WriteTo another address was accepted")
	}
}
