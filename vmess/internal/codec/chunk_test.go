package codec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// TestBodyReaderBuffered: over a buffered source (the vmess client's
// bufio.Reader) an AEAD chunk is opened where it lies in the buffer,
// without the copy into the reader's own; a chunk larger than the buffer,
// a read buffer too small for the plaintext, or a source that dribbles
// take the usual path. Every way reads the same bytes, and a corrupted
// chunk fails the same way.
func TestBodyReaderBuffered(t *testing.T) {
	key, iv := unhex16(t, vecReqKey), unhex16(t, vecReqIV)
	sizes := []int{1, 100, 4000, 8000, 8000}
	for _, sec := range []byte{SecurityAES128GCM, SecurityChaCha20Poly1305} {
		for _, opts := range []byte{0x0d, 0x1d, 0x05} {
			params := BodyParams{Security: sec, Options: opts, Key: key, IV: iv, ReqKey: key, ReqIV: iv, Rand: zeroReader{}}
			st, err := NewBodyState(params, false)
			if err != nil {
				t.Fatal(err)
			}
			var wire, want []byte
			for i, n := range sizes {
				p := bytes.Repeat([]byte{byte(i + 1)}, n)
				want = append(want, p...)
				if wire, err = st.AppendChunk(wire, p); err != nil {
					t.Fatal(err)
				}
			}
			if wire, err = st.AppendEOS(wire); err != nil {
				t.Fatal(err)
			}
			sources := map[string]func([]byte) io.Reader{
				"unbuffered":           func(b []byte) io.Reader { return bytes.NewReader(b) },
				"buffered":             func(b []byte) io.Reader { return bufio.NewReaderSize(bytes.NewReader(b), 64<<10) },
				"buffer under a chunk": func(b []byte) io.Reader { return bufio.NewReaderSize(bytes.NewReader(b), 4096) },
				"dribbling":            func(b []byte) io.Reader { return bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(b)), 64<<10) },
			}
			for name, src := range sources {
				for _, bufSize := range []int{64 << 10, 100} {
					t.Run(fmt.Sprintf("%d/%#x/%s/%d", sec, opts, name, bufSize), func(t *testing.T) {
						rs, _ := NewBodyState(BodyParams{Security: sec, Options: opts, Key: key, IV: iv, ReqKey: key, ReqIV: iv}, true)
						r := NewBodyReader(rs, src(wire))
						var got []byte
						buf := make([]byte, bufSize)
						for {
							n, err := r.Read(buf)
							got = append(got, buf[:n]...)
							if err == io.EOF {
								break
							}
							if err != nil {
								t.Fatal(err)
							}
						}
						if !bytes.Equal(got, want) {
							t.Fatalf("read %d bytes, want %d (or different bytes)", len(got), len(want))
						}
						// A flipped byte in the first chunk's payload.
						bad := bytes.Clone(wire)
						bad[len(bad)/2] ^= 1
						rs, _ = NewBodyState(BodyParams{Security: sec, Options: opts, Key: key, IV: iv, ReqKey: key, ReqIV: iv}, true)
						r = NewBodyReader(rs, src(bad))
						for {
							_, err := r.Read(buf)
							if err == nil {
								continue
							}
							if !errors.Is(err, ErrProtocol) {
								t.Fatalf("corrupted body: %v, want ErrProtocol", err)
							}
							break
						}
					})
				}
			}
		}
	}
}
