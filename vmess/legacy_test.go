package vmess

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/internal/codec"
)

// legacyServer is a test-only legacy (alterId > 0) VMess server written
// from docs/protocol.md#legacy-auth with the standard library alone: it checks the
// HMAC-MD5 auth against the primary and alter ids over ±120 s, decrypts
// the AES-128-CFB header, checks its FNV, and echoes the body back. For the
// aes-128-cfb body it frames and encrypts independently of the client's
// code; for AEAD bodies it reuses the framing layer (already proven
// against Xray) with the MD5-derived response keys.
type legacyServer struct {
	primary [16]byte
	alters  int
	got     chan legacySeen
}

type legacySeen struct {
	which int // 0 primary, i alter[i]
	skew  int64
	sec   byte
	opts  byte
	cmd   byte
	err   error
}

func (s *legacyServer) serve(conn net.Conn) {
	defer conn.Close()
	seen := legacySeen{}
	err := s.handle(conn, &seen)
	seen.err = err
	// Close politely: half-close, then take what is left (an EOS tag and
	// padding) so the close is a FIN, not a reset.
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, conn)
	s.got <- seen
}

func (s *legacyServer) handle(conn net.Conn, seen *legacySeen) error {
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var auth [16]byte
	if _, err := io.ReadFull(conn, auth[:]); err != nil {
		return err
	}
	ids := [][16]byte{s.primary}
	for i := 0; i < s.alters; i++ {
		h := md5.Sum(append(ids[i][:], "16167dc8-16b6-4e6d-b8bb-65dd68113a81"...))
		ids = append(ids, h)
	}
	now := time.Now().Unix()
	t := int64(-1)
	for d := int64(-120); d <= 120 && t < 0; d++ {
		for i, id := range ids {
			m := hmac.New(md5.New, id[:])
			binary.Write(m, binary.BigEndian, uint64(now+d))
			if bytes.Equal(m.Sum(nil), auth[:]) {
				t, seen.which, seen.skew = now+d, i, d
				break
			}
		}
	}
	if t < 0 {
		return errors.New("no id matches the auth")
	}
	cmdKey := md5.Sum(append(s.primary[:], "c48619fe-8f02-49e0-b9e9-edf763e17e21"...))
	var t8 [8]byte
	binary.BigEndian.PutUint64(t8[:], uint64(t))
	iv := md5.Sum(bytes.Repeat(t8[:], 4))
	block, _ := aes.NewCipher(cmdKey[:])
	hr := &cipher.StreamReader{S: cipher.NewCFBDecrypter(block, iv[:]), R: conn}
	var plain bytes.Buffer
	read := func(n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(hr, b); err != nil {
			return nil
		}
		plain.Write(b)
		return b
	}
	fixed := read(41)
	if fixed == nil {
		return errors.New("short header")
	}
	reqIV, reqKey, v := [16]byte(fixed[1:17]), [16]byte(fixed[17:33]), fixed[33]
	seen.opts, seen.sec, seen.cmd = fixed[34], fixed[35]&0x0f, fixed[37]
	switch fixed[40] {
	case 1:
		read(4)
	case 3:
		read(16)
	case 2:
		n := read(1)
		read(int(n[0]))
	}
	read(int(fixed[35] >> 4))
	sum := fnv.New32a()
	sum.Write(plain.Bytes())
	if got := read(4); binary.BigEndian.Uint32(got) != sum.Sum32() {
		return errors.New("header FNV mismatch")
	}
	respKey, respIV := md5.Sum(reqKey[:]), md5.Sum(reqIV[:])
	rb, _ := aes.NewCipher(respKey[:])
	respStream := cipher.NewCFBEncrypter(rb, respIV[:])
	hdr := []byte{v, seen.opts, 0, 0}
	respStream.XORKeyStream(hdr, hdr)

	if seen.sec == 1 {
		// The aes-128-cfb body, framed here from scratch (S only).
		qb, _ := aes.NewCipher(reqKey[:])
		br := &cipher.StreamReader{S: cipher.NewCFBDecrypter(qb, reqIV[:]), R: conn}
		var body []byte
		for {
			var l [2]byte
			if _, err := io.ReadFull(br, l[:]); err != nil {
				return fmt.Errorf("body length: %w", err)
			}
			n := int(binary.BigEndian.Uint16(l[:]))
			if n == 4 {
				io.ReadFull(br, l[:]) // the FNV of nothing, 2 of 4 bytes
				io.ReadFull(br, l[:])
				break
			}
			c := make([]byte, n)
			if _, err := io.ReadFull(br, c); err != nil {
				return err
			}
			h := fnv.New32a()
			h.Write(c[4:])
			if h.Sum32() != binary.BigEndian.Uint32(c[:4]) {
				return errors.New("body FNV mismatch")
			}
			body = append(body, c[4:]...)
		}
		out := append([]byte(nil), hdr...)
		var enc []byte
		for off := 0; off <= len(body); off += 1000 {
			part := body[off:min(off+1000, len(body))]
			h := fnv.New32a()
			h.Write(part)
			enc = binary.BigEndian.AppendUint16(enc, uint16(4+len(part)))
			enc = binary.BigEndian.AppendUint32(enc, h.Sum32())
			enc = append(enc, part...)
			if len(part) == 0 {
				break // that was the EOS chunk
			}
		}
		respStream.XORKeyStream(enc, enc)
		_, err := conn.Write(append(out, enc...))
		return err
	}
	// AEAD or none body: the framing layer with legacy response keys.
	in, err := codec.NewBodyState(codec.BodyParams{Security: seen.sec, Options: seen.opts, Key: reqKey, IV: reqIV, ReqKey: reqKey, ReqIV: reqIV}, true)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(codec.NewBodyReader(in, conn))
	if err != nil {
		return err
	}
	out, _ := codec.NewBodyState(codec.BodyParams{Security: seen.sec, Options: seen.opts, Key: respKey, IV: respIV, ReqKey: reqKey, ReqIV: reqIV, Rand: zeroReader{}}, false)
	wire := append([]byte(nil), hdr...)
	for off := 0; off < len(body); off += out.MaxPayload() {
		wire, _ = out.AppendChunk(wire, body[off:min(off+out.MaxPayload(), len(body))])
	}
	wire, _ = out.AppendEOS(wire)
	_, err = conn.Write(wire)
	return err
}

func TestLegacyRoundTrip(t *testing.T) {
	t.Parallel()
	id := mustID(t, vecUUID)
	payload := bytes.Repeat([]byte("legacy vmess "), 3000)
	tests := []struct {
		name    string
		acct    Account
		force   bool
		skew    time.Duration
		wantSec byte
		wantOpt byte
		primary bool
	}{
		{"aes-128-cfb alterId 4", Account{AlterID: 4, Security: SecurityLegacyAES128CFB}, false, 0, 1, 0x01, false},
		{"aes-128-gcm alterId 1", Account{AlterID: 1, Security: SecurityAES128GCM}, false, 0, 3, 0x0d, false},
		{"chacha alterId 64, clock -60 s", Account{AlterID: 64, Security: SecurityChaCha20Poly1305}, false, -60 * time.Second, 4, 0x0d, false},
		{"none alterId 2", Account{AlterID: 2, Security: SecurityNone}, false, 0, 5, 0x05, false},
		{"forced legacy, alterId 0: primary id", Account{Security: SecurityAES128GCM, AuthenticatedLength: true}, true, 0, 3, 0x1d, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			alters := int(tt.acct.AlterID)
			srv := &legacyServer{primary: id, alters: alters, got: make(chan legacySeen, 1)}
			go func() {
				c, err := l.Accept()
				if err == nil {
					srv.serve(c)
				}
			}()
			raw, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			acct := tt.acct
			acct.ID = id
			cfg := &Config{ForceLegacy: tt.force, Now: func() time.Time { return time.Now().Add(tt.skew) }}
			c, err := Client(raw, acct, Destination{Host: "example.com", Port: 443}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			seen := <-srv.got
			if seen.err != nil {
				t.Fatalf("legacy server: %v", seen.err)
			}
			if err != nil {
				t.Fatalf("client read: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("echo: %d bytes, want %d", len(got), len(payload))
			}
			if seen.sec != tt.wantSec || seen.opts != tt.wantOpt || seen.cmd != codec.CommandTCP {
				t.Fatalf("server saw security %d options %#x command %d", seen.sec, seen.opts, seen.cmd)
			}
			if tt.primary != (seen.which == 0) || seen.which > alters {
				t.Fatalf("authenticated with id #%d (alters %d)", seen.which, alters)
			}
			if d := seen.skew - int64(tt.skew/time.Second); d < -1 || d > 1 {
				t.Fatalf("server measured skew %d s, client used %v", seen.skew, tt.skew)
			}
		})
	}
}
