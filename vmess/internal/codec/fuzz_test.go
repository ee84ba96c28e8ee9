package codec

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzResponseHeader feeds arbitrary bytes to the AEAD response-header
// decoder under the known-answer vector keys (V = 0x42). It must never panic,
// and any failure must be one of the typed errors.
func FuzzResponseHeader(f *testing.F) {
	k, iv := unhex16(f, vecRespKey), unhex16(f, vecRespIV)
	f.Add(SealResponseHeader(nil, k, iv, []byte{0x42, 0, 0, 0}))
	f.Add(SealResponseHeader(nil, k, iv, []byte{0x42, 1, 1, 2, 9, 9}))
	f.Add(SealResponseHeader(nil, k, iv, []byte{0x41, 0, 0, 0}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 38))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := ReadResponse(bytes.NewReader(data), k, iv, 0x42)
		if err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrResponseMismatch) && !errors.Is(err, ErrNoResponse) {
			t.Fatalf("untyped error %v", err)
		}
		// The legacy decoder too.
		err = ReadLegacyResponse(bytes.NewReader(data), NewCFBDecrypter(k, iv), 0x42)
		if err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrResponseMismatch) && !errors.Is(err, ErrNoResponse) {
			t.Fatalf("untyped legacy error %v", err)
		}
	})
}

// fuzzSecurities maps FuzzChunkReader's security byte to a wire nibble,
// in the order of the vmess package's Security values: auto (sent as
// aes-128-gcm), aes-128-gcm, chacha20-poly1305, none, zero (sent as
// none), aes-128-cfb.
var fuzzSecurities = [...]byte{SecurityAES128GCM, SecurityAES128GCM, SecurityChaCha20Poly1305, SecurityNone, SecurityNone, SecurityLegacyAES128CFB}

// FuzzChunkReader feeds arbitrary body bytes to the chunk reader for a
// security and options byte chosen by the fuzzer, in stream and packet
// mode. The security byte indexes fuzzSecurities (the order of the vmess
// package's Security values, which the committed seeds were made with). It must never panic, never allocate beyond the 64 KiB a uint16
// length allows, and fail only with ErrProtocol (or end cleanly).
func FuzzChunkReader(f *testing.F) {
	key, iv := unhex16(f, vecReqKey), unhex16(f, vecReqIV)
	for _, o := range []byte{0x0d, 0x1d, 0x05, 0x01, 0x00} {
		for i, sec := range fuzzSecurities {
			if i == 0 || i == 4 {
				continue // auto and zero repeat aes-128-gcm and none
			}
			st, err := NewBodyState(BodyParams{Security: sec, Options: o, Key: key, IV: iv, ReqKey: key, ReqIV: iv, Rand: zeroReader{}}, false)
			if err != nil {
				continue
			}
			b, _ := st.AppendChunk(nil, []byte("hello, world"))
			b, _ = st.AppendChunk(b, bytes.Repeat([]byte{7}, 300))
			b, _ = st.AppendEOS(b)
			f.Add(uint8(i), o, false, b)
			f.Add(uint8(i), o, true, b)
		}
	}
	f.Add(uint8(1), uint8(0x0d), false, bytes.Repeat([]byte{0xff}, 100))
	f.Fuzz(func(t *testing.T, sec, opts uint8, packet bool, data []byte) {
		n := uint8(len(fuzzSecurities))
		st, err := NewBodyState(BodyParams{Security: fuzzSecurities[sec%n], Options: opts, UDP: packet, Key: key, IV: iv, ReqKey: key, ReqIV: iv}, true)
		if err != nil {
			return // an option set Xray refuses too
		}
		r := NewBodyReader(st, bytes.NewReader(data))
		// The high part of sec picks the read buffer size, so short and
		// empty buffers are explored too.
		sizes := [...]int{1000, 1, 7, 16, 8192, 0}
		p := make([]byte, sizes[int(sec/n)%len(sizes)])
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
	w, _ := NewBodyState(BodyParams{Security: SecurityAES128GCM, Options: 0x0d, UDP: true, Key: key, IV: iv, ReqKey: key, ReqIV: iv, Rand: zeroReader{}}, false)
	b, _ := w.AppendChunk(nil, []byte("datagram"))
	rs, _ := NewBodyState(BodyParams{Security: SecurityAES128GCM, Options: 0x0d, UDP: true, Key: key, IV: iv, ReqKey: key, ReqIV: iv}, true)
	r := NewBodyReader(rs, bytes.NewReader(b))
	if n, err := r.ReadPacket(nil); n != 0 || err != io.ErrShortBuffer {
		t.Fatalf("ReadPacket(nil) = %d, %v", n, err)
	}
}

// TestTruncatedResponsePrefixes: every proper prefix of a valid response
// header, followed by close, is rejected with a typed error (never a
// panic, never success).
func TestTruncatedResponsePrefixes(t *testing.T) {
	k, iv := unhex16(t, vecRespKey), unhex16(t, vecRespIV)
	full := SealResponseHeader(nil, k, iv, []byte{0x42, 0, 0, 0})
	if err := ReadResponse(bytes.NewReader(full), k, iv, 0x42); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(full); i++ {
		err := ReadResponse(bytes.NewReader(full[:i]), k, iv, 0x42)
		want := ErrProtocol
		if i == 0 {
			want = ErrNoResponse
		}
		if !errors.Is(err, want) {
			t.Fatalf("prefix %d: err = %v, want %v", i, err, want)
		}
	}
}
