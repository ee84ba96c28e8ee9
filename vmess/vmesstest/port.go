package vmesstest

import "testing"

// FreePort returns a loopback port free for TCP and for UDP, for a test
// that writes its own Xray config (a socks inbound with udp, an mKCP
// inbound) and starts it with Start. Xray sets SO_REUSEPORT on every
// listener, so a UDP port someone else holds would not make Start fail:
// the two sockets would split the datagrams. Another process may still
// take the port before Xray binds it; Start then fails with "address
// already in use".
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort("127.0.0.1")
	if err != nil {
		tb.Fatalf("vmesstest: %v", err)
	}
	return port
}
