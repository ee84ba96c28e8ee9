package probe

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadResponse feeds arbitrary destination replies to the HTTP head
// reader: it must never panic, never read past its 64 KiB head limit, and
// either fail or return a status in 100–999.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"SSH-2.0-OpenSSH_9.6\r\n",
		"\x15\x03\x01\x00\x02\x02\x28",
		"",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 70000) + "\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		resp, _, err := readResponse(r)
		if err != nil {
			return
		}
		if resp.status < 100 || resp.status > 999 {
			t.Fatalf("status %d accepted", resp.status)
		}
		if consumed := len(data) - r.Len(); consumed > maxResponseHead+4096 {
			t.Fatalf("read %d bytes for the head", consumed)
		}
	})
}

// FuzzDownloadURL: any --download value gives a URL or an error, never a
// panic, and a size never exceeds the limit.
func FuzzDownloadURL(f *testing.F) {
	for _, s := range []string{"10MB", "1.5GiB", "http://x/y", "https://h:99999/", "-1", "1e300", "NaN", "K", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := DownloadURL(s)
		if err != nil {
			return
		}
		if strings.HasPrefix(u, DownloadServer) {
			n := strings.TrimPrefix(u, DownloadServer)
			if len(n) > 11 || n == "0" || strings.HasPrefix(n, "-") {
				t.Fatalf("size %q from %q", n, s)
			}
		}
	})
}
