package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestReadResponse: the head of a response is bounded (64 KiB) before
// anything is allocated for it, and the bound is lifted for the body.
func TestReadResponse(t *testing.T) {
	pad := func(n int) string { return "X-Pad: " + strings.Repeat("a", n) + "\r\n" }
	tests := []struct {
		name     string
		in       string
		wantBody int    // bytes of body read after the head
		wantErr  string // "" means none
	}{
		{"204", "HTTP/1.1 204 No Content\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n", 0, ""},
		{"head near the cap, long body", "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n" + pad(maxResponseHead-200) + "\r\n" + strings.Repeat("b", 200000), 200000, ""},
		{"head over the cap", "HTTP/1.1 200 OK\r\n" + pad(maxResponseHead) + "\r\n", 0, "exceed 64 KiB"},
		{"head cut short", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", 0, "ended inside the HTTP headers"},
		{"not HTTP", "SSH-2.0-OpenSSH_9.6\r\n\r\n", 0, "did not answer HTTP"},
		{"nothing", "", 0, "without any data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, err := readResponse(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.body)
			if err != nil || n != int64(tt.wantBody) {
				t.Fatalf("body: %d bytes, %v; want %d", n, err, tt.wantBody)
			}
		})
	}
}

// BenchmarkReadResponse reads response heads of doubling size (one header
// line grown), up to the cap: the time should double with the size, no
// faster.
func BenchmarkReadResponse(b *testing.B) {
	for size := 1 << 10; size <= maxResponseHead/2; size *= 2 {
		in := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: " + strings.Repeat("a", size) + "\r\n\r\n")
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for range b.N {
				if _, _, err := readResponse(bytes.NewReader(in)); err != nil && !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
			}
		})
	}
}
