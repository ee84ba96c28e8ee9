package vmesstest

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// TestFreePortIsFreeForUDP: a port handed to Xray is free for UDP as well
// as TCP. An mKCP inbound (or a socks inbound with udp) listens on UDP,
// and Xray sets SO_REUSEPORT on every listener, so a UDP port already in
// use does not make Start fail: two sockets then split the datagrams. The
// test holds UDP sockets on about a tenth of the ephemeral range, where
// the system picks the TCP ports freePort starts from; every port freePort
// returns must be outside them.
func TestFreePortIsFreeForUDP(t *testing.T) {
	t.Parallel()
	held := map[int]bool{}
	for len(held) < 3000 {
		port := 32768 + rand.IntN(28232)
		if held[port] {
			continue
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // in use already, which serves as well
		}
		defer pc.Close()
		held[port] = true
	}
	for range 80 {
		port, err := freePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if held[port] {
			t.Fatalf("freePort returned %d, whose UDP port is in use", port)
		}
	}
}

// TestXraySharesUDPPortSilently is why the test above matters: a second
// Xray mKCP inbound on a UDP port an mKCP inbound already has starts
// without an error.
func TestXraySharesUDPPortSilently(t *testing.T) {
	t.Parallel()
	first := StartServer(t, ServerOptions{StreamSettings: `{"network":"kcp"}`})
	inst, err := Start(map[string]any{
		"log": map[string]any{"loglevel": "none"},
		"inbounds": []any{map[string]any{"listen": "127.0.0.1", "port": first.Port, "protocol": "vmess",
			"settings": map[string]any{"clients": []any{map[string]any{"id": NewUUID()}}}, "streamSettings": map[string]any{"network": "kcp"}}},
		"outbounds": []any{map[string]any{"protocol": "freedom"}},
	})
	if err != nil {
		t.Fatalf("the second mKCP inbound on port %d failed (%v): Xray no longer shares UDP ports, and the UDP check is belt and braces", first.Port, err)
	}
	inst.Close()
}
