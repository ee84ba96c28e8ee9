package probe

import (
	"context"
	"errors"
	"testing"
)

// TestClientHelloContext: clientHello works under the caller's context
// (none of its own), so a cancelled probe does no more work.
func TestClientHelloContext(t *testing.T) {
	tests := []struct {
		name    string
		cancel  bool
		wantErr error
	}{
		{"live", false, nil},
		{"cancelled", true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			hello, err := clientHello(ctx, "example.com")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("clientHello: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && (len(hello) < 5 || hello[0] != 22 || hello[1] != 3) {
				t.Fatalf("clientHello = % x…, want a TLS handshake record", hello[:min(len(hello), 5)])
			}
		})
	}
}
