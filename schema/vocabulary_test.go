package schema

import "testing"

func TestNetwork(t *testing.T) {
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
		got, ok := Network(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Network(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSeverityOrder(t *testing.T) {
	if !(Info < Warning && Warning < Error) {
		t.Fatal("severities are not ordered Info < Warning < Error")
	}
	for s, want := range map[Severity]string{0: "off", Info: "info", Warning: "warning", Error: "error"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}
