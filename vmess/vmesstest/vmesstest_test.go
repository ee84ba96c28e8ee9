package vmesstest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestXrayClientThroughServer checks the harness itself with Xray on both
// sides: Xray's VMess client reaches an echo server through Xray's VMess
// server, over raw TCP and over WebSocket with TLS.
func TestXrayClientThroughServer(t *testing.T) {
	echo := StartEcho(t)
	cert := NewCert(t, "localhost", "127.0.0.1")
	tests := []struct {
		name           string
		serverStream   string
		clientStream   string
		clientSecurity string
	}{
		{"raw", "", "", "aes-128-gcm"},
		{"ws+tls", `{"network":"ws","wsSettings":{"path":"/v"},"security":"tls","tlsSettings":` + cert.TLSSettings() + `}`,
			`{"network":"ws","wsSettings":{"path":"/v"},"security":"tls","tlsSettings":{"serverName":"localhost","pinnedPeerCertSha256":"` + cert.SHA256 + `"}}`,
			"chacha20-poly1305"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := StartServer(t, ServerOptions{StreamSettings: tt.serverStream})
			cli := StartClient(t, ClientOptions{Server: srv, Security: tt.clientSecurity, StreamSettings: tt.clientStream, Forward: echo.Addr})
			if err := waitDial(cli.Addr, 2*time.Second); err != nil {
				t.Fatal(err)
			}
			c, err := net.DialTimeout("tcp", cli.Addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "hello %s\n", tt.name)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				t.Fatalf("read echo: %v", err)
			}
			if want := "hello " + tt.name + "\n"; line != want {
				t.Fatalf("echo = %q, want %q", line, want)
			}
		})
	}
}

func TestSourceSendsExactly(t *testing.T) {
	src := StartSource(t, 100000)
	c, err := net.Dial("tcp", src.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := io.Copy(io.Discard, c)
	if err != nil || n != 100000 {
		t.Fatalf("got %d bytes, err %v; want 100000", n, err)
	}
}

func TestServerRefusesBadConfig(t *testing.T) {
	_, err := NewServer(ServerOptions{StreamSettings: `{"network":"quic"}`})
	if err == nil || !strings.Contains(err.Error(), "xray refused the config") {
		t.Fatalf("err = %v, want xray to refuse the removed quic transport", err)
	}
}
