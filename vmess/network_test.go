package vmess

import "testing"

func TestStreamNetwork(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "raw", true}, {"TCP", "raw", true}, {"raw", "raw", true},
		{"websocket", "ws", true}, {"WS", "ws", true},
		{"splithttp", "xhttp", true}, {"mkcp", "kcp", true},
		{"grpc", "grpc", true}, {"httpupgrade", "httpupgrade", true}, {"hysteria", "hysteria", true},
		{"http", "h2", true}, {"h3", "h2", true}, {"quic", "quic", true},
		{"Gun", "gun", false}, {"none", "none", false},
	}
	for _, tt := range tests {
		got, ok := StreamNetwork(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("StreamNetwork(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
