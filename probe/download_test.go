package probe

import (
	"strings"
	"testing"
)

func TestDownloadURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"1000", DownloadServer + "1000", ""},
		{"10MB", DownloadServer + "10000000", ""},
		{"10MiB", DownloadServer + "10485760", ""},
		{"1.5M", DownloadServer + "1572864", ""},
		{"256k", DownloadServer + "262144", ""},
		{"http://127.0.0.1:8080/file", "http://127.0.0.1:8080/file", ""},
		{"https://example.com/x?y=1", "https://example.com/x?y=1", ""},
		{"0", "", "between 1 byte"},
		{"20GiB", "", "between 1 byte"},
		{"lots", "", "want a size"},
		{"ftp://x/y", "", "want a size"},
		{"http://", "", "want an http"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DownloadURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("DownloadURL(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DownloadURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
