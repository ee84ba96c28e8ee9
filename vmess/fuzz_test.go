package vmess

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzResponseHeader feeds arbitrary bytes to the AEAD response-header
// decoder under the notes' vector keys (V = 0x42). It must never panic,
// and any failure must be one of the typed errors.
func FuzzResponseHeader(f *testing.F) {
	k, iv := unhex16(f, vecRespKey), unhex16(f, vecRespIV)
	f.Add(SealResponseHeader(nil, k, iv, []byte{0x42, 0, 0, 0}))
	f.Add(SealResponseHeader(nil, k, iv, []byte{0x42, 1, 1, 2, 9, 9}))
	f.Add(SealResponseHeader(nil, k, iv, []byte{0x41, 0, 0, 0}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 38))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := readAEADResponse(bytes.NewReader(data), k, iv, 0x42)
		if err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrResponseMismatch) && !errors.Is(err, ErrNoResponse) {
			t.Fatalf("untyped error %v", err)
		}
		// The legacy decoder too.
		err = readLegacyResponse(bytes.NewReader(data), newCFBDecrypter(k, iv), 0x42)
		if err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrResponseMismatch) && !errors.Is(err, ErrNoResponse) {
			t.Fatalf("untyped legacy error %v", err)
		}
	})
}

// FuzzChunkReader feeds arbitrary body bytes to the chunk reader for a
// security and options byte chosen by the fuzzer, in stream and packet
// mode. It must never panic, never allocate beyond the 64 KiB a uint16
// length allows, and fail only with ErrProtocol (or end cleanly).
func FuzzChunkReader(f *testing.F) {
	key, iv := unhex16(f, vecReqKey), unhex16(f, vecReqIV)
	for _, o := range []Options{0x0d, 0x1d, 0x05, 0x01, 0x00} {
		for _, sec := range []Security{SecurityAES128GCM, SecurityChaCha20Poly1305, SecurityNone, SecurityLegacyAES128CFB} {
			st, err := newBodyState(bodyParams{security: sec, options: o, key: key, iv: iv, reqKey: key, reqIV: iv, rand: zeroReader{}}, false)
			if err != nil {
				continue
			}
			b, _ := st.appendChunk(nil, []byte("hello, world"))
			b, _ = st.appendChunk(b, bytes.Repeat([]byte{7}, 300))
			b, _ = st.appendEOS(b)
			f.Add(uint8(sec), uint8(o), false, b)
			f.Add(uint8(sec), uint8(o), true, b)
		}
	}
	f.Add(uint8(SecurityAES128GCM), uint8(0x0d), false, bytes.Repeat([]byte{0xff}, 100))
	f.Fuzz(func(t *testing.T, sec, opts uint8, packet bool, data []byte) {
		s := Security(sec % uint8(SecurityLegacyAES128CFB+1))
		if s == SecurityAuto {
			s = SecurityAES128GCM
		}
		st, err := newBodyState(bodyParams{security: s, options: Options(opts), udp: packet, key: key, iv: iv, reqKey: key, reqIV: iv}, true)
		if err != nil {
			return // an option set Xray refuses too
		}
		r := &bodyReader{st: st, src: bytes.NewReader(data)}
		// The high part of sec picks the read buffer size, so short and
		// empty buffers are explored too.
		sizes := [...]int{1000, 1, 7, 16, 8192, 0}
		p := make([]byte, sizes[int(sec)/int(SecurityLegacyAES128CFB+1)%len(sizes)])
		for i := 0; i < 200; i++ {
			var err error
			if packet {
				_, err = r.ReadPacket(p)
				if errors.Is(err, io.ErrShortBuffer) {
					continue
				}
			} else {
				_, err = r.Read(p)
			}
			if cap(r.buf) > 65535+16 {
				t.Fatalf("buffer grew to %d", cap(r.buf))
			}
			if err == nil || (len(p) == 0 && errors.Is(err, io.ErrShortBuffer)) {
				continue
			}
			if err != io.EOF && !errors.Is(err, ErrProtocol) && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
	})
}

// TestReadPacketEmptyBuffer: a zero-length read buffer gets the datagram
// truncated to nothing and io.ErrShortBuffer, not a panic.
func TestReadPacketEmptyBuffer(t *testing.T) {
	key, iv := unhex16(t, vecReqKey), unhex16(t, vecReqIV)
	w, _ := newBodyState(bodyParams{security: SecurityAES128GCM, options: 0x0d, udp: true, key: key, iv: iv, reqKey: key, reqIV: iv, rand: zeroReader{}}, false)
	b, _ := w.appendChunk(nil, []byte("datagram"))
	rs, _ := newBodyState(bodyParams{security: SecurityAES128GCM, options: 0x0d, udp: true, key: key, iv: iv, reqKey: key, reqIV: iv}, true)
	r := &bodyReader{st: rs, src: bytes.NewReader(b)}
	if n, err := r.ReadPacket(nil); n != 0 || err != io.ErrShortBuffer {
		t.Fatalf("ReadPacket(nil) = %d, %v", n, err)
	}
}

// FuzzDestinationAddr feeds arbitrary host text (from a config or a share
// link) to the destination parser, IDNA conversion included. It must never
// panic; a domain it accepts is ASCII and fits the header's length byte.
func FuzzDestinationAddr(f *testing.F) {
	for _, s := range []string{"example.com", "bücher.example", "例え.テスト", "１２７.０.０.１", "[::1]", "::ffff:127.0.0.1", "bü cher.com", "a\u200db.com", "", "fe80::1%eth0", "xn--zz.com", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip, domain, err := Destination{Host: host, Port: 1}.addr()
		if err != nil {
			return
		}
		if ip.IsValid() == (domain != "") {
			t.Fatalf("%q: ip %v and domain %q", host, ip, domain)
		}
		if len(domain) > 255 {
			t.Fatalf("%q: domain of %d bytes accepted", host, len(domain))
		}
		if !isASCII(host) && !isASCII(domain) {
			t.Fatalf("%q: non-ASCII domain %q accepted", host, domain)
		}
	})
}
