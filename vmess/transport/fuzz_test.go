package transport

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzGRPCFrames feeds server-sent gRPC framing (length-prefixed
// Hunk/MultiHunk messages) to the reader: it must never panic, never
// allocate beyond the bound, and only fail with framing errors.
func FuzzGRPCFrames(f *testing.F) {
	f.Add(appendHunk(nil, []byte("hello")), false)
	f.Add(appendHunk(appendHunk(nil, []byte("a")), []byte("bc")), true)
	f.Add([]byte{0, 0, 0, 0, 0}, false)
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff}, true)
	f.Add([]byte{0, 0, 0, 0, 3, 0x0a, 5, 'a'}, false)
	f.Fuzz(func(t *testing.T, in []byte, multi bool) {
		r := bytes.NewReader(in)
		var buf []byte
		for {
			msg, err := readGRPCMessage(r, buf)
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrGRPCFraming) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if len(msg) > maxGRPCMessage {
				t.Fatalf("message of %d bytes passed the bound", len(msg))
			}
			hunks, err := parseHunks(msg, multi, nil)
			if err != nil {
				if !errors.Is(err, ErrGRPCFraming) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			total := 0
			for _, h := range hunks {
				total += len(h)
			}
			if total > len(msg) {
				t.Fatalf("payload %d larger than message %d", total, len(msg))
			}
			buf = msg
		}
	})
}

// FuzzUpgradeResponse feeds arbitrary server answers to the HTTPUpgrade
// response reader: bounded, no panic, and any accepted answer is a 101.
func FuzzUpgradeResponse(f *testing.F) {
	f.Add("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	f.Add("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nrest")
	f.Add("HTTP/1.1 404 Not Found\r\n\r\n")
	f.Add("HTTP/1.0 101 Switching Protocols\r\nTransfer-Encoding: chunked\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n0\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		rest, err := readUpgradeResponse(strings.NewReader(in), upgradeReq())
		if err != nil {
			return
		}
		if !strings.Contains(in, "101 Switching Protocols") {
			t.Fatalf("accepted a non-101 answer %q", in)
		}
		if len(rest) > len(in) {
			t.Fatalf("rest longer than input")
		}
	})
}

// FuzzHTTPHeaderResponse feeds the raw "http" header disguise reader.
func FuzzHTTPHeaderResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nbody")
	f.Add("HTTP/1.1 200 OK\r\n")
	f.Add("\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		rest, err := new(headerReader).read(strings.NewReader(in))
		if err != nil {
			return
		}
		i := strings.Index(in, "\r\n\r\n")
		if i < 0 || i > maxHTTPHeader+4 || string(rest) != in[i+4:min(len(in), i+4+len(rest))] {
			t.Fatalf("accepted %q, rest %q", in, rest)
		}
	})
}

// cutReader returns s with a read deadline error after each of the
// chunk sizes in cuts, then the rest without interruption.
type cutReader struct {
	s    string
	cuts []byte
}

func (r *cutReader) Read(b []byte) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	if len(r.cuts) > 0 {
		c := int(r.cuts[0])
		r.cuts = r.cuts[1:]
		n := copy(b[:min(len(b), c)], r.s)
		r.s = r.s[n:]
		return n, os.ErrDeadlineExceeded
	}
	n := copy(b, r.s)
	r.s = r.s[n:]
	return n, nil
}

// FuzzHTTPHeaderResume: the disguise response header read with read
// timeouts at arbitrary points, resumed after each, gives what an
// uninterrupted read gives.
func FuzzHTTPHeaderResume(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nbody", []byte{5, 0, 50, 2, 1, 1, 1})
	f.Add("HTTP/1.1 200 OK\r\n\r\n", []byte{17, 1})
	f.Add("HTTP/1.1 200 OK\r\n", []byte{3})
	f.Fuzz(func(t *testing.T, in string, cuts []byte) {
		r := &cutReader{s: in, cuts: cuts}
		var h headerReader
		var rest []byte
		var err error
		for range len(cuts) + 1 {
			if rest, err = h.read(r); !errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("still timing out after every cut was resumed")
		}
		i := strings.Index(in, "\r\n\r\n")
		switch {
		case i < 0:
			if err == nil {
				t.Fatalf("accepted %q without an end of header", in)
			}
		case i <= maxHTTPHeader:
			if err != nil {
				t.Fatalf("%q with cuts %v: %v", in, cuts, err)
			}
			if got := string(rest) + r.s; got != in[i+4:] {
				t.Fatalf("%q with cuts %v: after the header %q, want %q", in, cuts, got, in[i+4:])
			}
		}
	})
}
