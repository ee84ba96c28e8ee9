package vmess

import (
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/xvmtools/xvm/vmess/internal/codec"
)

// respBodyWriter returns the framing state a server writes c's response
// body with (zero padding bytes).
func respBodyWriter(t testing.TB, c *Conn) *codec.BodyState {
	t.Helper()
	p := c.bodyParams(c.respKey, c.respIV)
	p.Rand = zeroReader{}
	st, err := codec.NewBodyState(p, false)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// serverReply builds what a server sends for c: the AEAD response header
// and n chunks of size bytes each, framed with the response keys, then EOS.
func serverReply(t testing.TB, c *Conn, n, size int) []byte {
	t.Helper()
	st := respBodyWriter(t, c)
	var err error
	out := codec.SealResponseHeader(nil, c.respKey, c.respIV, []byte{c.v, 0, 0, 0})
	payload := bytes.Repeat([]byte{0xab}, size)
	for i := 0; i < n; i++ {
		if out, err = st.AppendChunk(out, payload); err != nil {
			t.Fatal(err)
		}
	}
	out, _ = st.AppendEOS(out)
	return out
}

type readConn struct {
	net.Conn
	r io.Reader
}

func (c readConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c readConn) Write(p []byte) (int, error) { return len(p), nil }

// TestSteadyStateAllocs pins the per-chunk cost of Read and Write at zero
// allocations once the connection is running, for both AEAD securities,
// with and without authenticated lengths.
func TestSteadyStateAllocs(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sec     Security
		authLen bool
	}{
		{"aes-128-gcm", SecurityAES128GCM, false},
		{"chacha20-poly1305", SecurityChaCha20Poly1305, false},
		{"aes-128-gcm+A", SecurityAES128GCM, true},
		{"none", SecurityNone, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acct := Account{ID: mustID(t, vecUUID), Security: tt.sec, AuthenticatedLength: tt.authLen}
			src := &bytes.Reader{}
			c, err := Client(readConn{r: src}, acct, Destination{Host: "example.com", Port: 80}, nil)
			if err != nil {
				t.Fatal(err)
			}
			const runs = 200
			src.Reset(serverReply(t, c, runs+20, c.w.MaxPayload()))
			p := make([]byte, 64<<10)
			c.Write(p[:10]) // header out
			c.Read(p[:100]) // response header in, first partial chunk
			if n := testing.AllocsPerRun(runs, func() {
				if _, err := c.Write(p); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Write of 64 KiB (8 chunks): %v allocs, want 0", n)
			}
			if n := testing.AllocsPerRun(runs, func() {
				if _, err := c.Read(p[:8192]); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Read of one chunk: %v allocs, want 0", n)
			}
		})
	}
}

// BenchmarkChunkRead measures the client's read path alone (in memory):
// opening 8110-byte aes-128-gcm chunks through Conn.Read.
func BenchmarkChunkRead(b *testing.B) {
	for _, sec := range []Security{SecurityAES128GCM, SecurityChaCha20Poly1305} {
		b.Run(sec.String(), func(b *testing.B) {
			acct := Account{ID: mustID(b, vecUUID), Security: sec}
			src := &bytes.Reader{}
			c, _ := Client(readConn{r: src}, acct, Destination{Host: "example.com", Port: 80}, nil)
			reply := serverReply(b, c, b.N+1, c.w.MaxPayload())
			src.Reset(reply)
			p := make([]byte, 8192)
			c.Read(p)
			b.SetBytes(int64(c.w.MaxPayload()))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Read(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChunkWrite measures the client's write path alone.
func BenchmarkChunkWrite(b *testing.B) {
	for _, sec := range []Security{SecurityAES128GCM, SecurityChaCha20Poly1305} {
		b.Run(sec.String(), func(b *testing.B) {
			acct := Account{ID: mustID(b, vecUUID), Security: sec}
			c, _ := Client(readConn{}, acct, Destination{Host: "example.com", Port: 80}, nil)
			p := make([]byte, 64<<10)
			c.Write(p)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
