package transport_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/transport"
)

// dialTransport dials cfg within 10 s, failing the test on error, and
// closes the connection when the test ends.
func dialTransport(t testing.TB, cfg *transport.Config) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
