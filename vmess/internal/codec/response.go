package codec

import (
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxResponseHeader bounds the response header payload M. Xray sends 4
// bytes, sing-box 4; a command section adds at most 255. Anything larger is
// refused before allocation.
const maxResponseHeader = 4 + 255 + 64

// ResponseKeys derives the response body key and IV from the request
// body key and IV: SHA-256 truncated to 16 bytes for AEAD auth, MD5 for
// legacy auth.
func ResponseKeys(reqKey, reqIV [16]byte, legacy bool) (respKey, respIV [16]byte) {
	if legacy {
		return md5.Sum(reqKey[:]), md5.Sum(reqIV[:])
	}
	k := sha256.Sum256(reqKey[:])
	iv := sha256.Sum256(reqIV[:])
	copy(respKey[:], k[:16])
	copy(respIV[:], iv[:16])
	return respKey, respIV
}

// SealResponseHeader builds the AEAD response header a server sends:
// GCM(uint16 len(payload)) ‖ GCM(payload), with keys and nonces from
// KDF(respKey/respIV; label) and no additional data. Test servers use it;
// the client only opens.
func SealResponseHeader(dst []byte, respKey, respIV [16]byte, payload []byte) []byte {
	lenAEAD, lenNonce := respHeaderAEAD(respKey, respIV, kdfRespLenKey, kdfRespLenIV)
	payAEAD, payNonce := respHeaderAEAD(respKey, respIV, kdfRespKey, kdfRespIV)
	var l [2]byte
	binary.BigEndian.PutUint16(l[:], uint16(len(payload)))
	dst = lenAEAD.Seal(dst, lenNonce[:], l[:], nil)
	return payAEAD.Seal(dst, payNonce[:], payload, nil)
}

// respHeaderAEAD returns the AES-128-GCM and nonce for one part of the
// AEAD response header: KDF16(respKey; keyLabel) and KDF(respIV;
// ivLabel)[:12], for the length or the payload.
func respHeaderAEAD(respKey, respIV [16]byte, keyLabel, ivLabel string) (cipher.AEAD, [12]byte) {
	key := KDF16(respKey[:], []byte(keyLabel))
	iv := KDF(respIV[:], []byte(ivLabel))
	return newGCM(key[:]), [12]byte(iv[:12])
}

// Errors, usable with errors.Is; the vmess package exports them.
var (
	// ErrResponseMismatch: the response header did not open under our
	// keys, or its V byte differs. The server is not speaking VMess with
	// this request's keys.
	ErrResponseMismatch = errors.New("vmess: response does not match the request")
	// ErrProtocol: malformed response or body framing (bad length, failed
	// chunk authentication, oversize).
	ErrProtocol = errors.New("vmess: protocol error")
	// ErrNoResponse: the server closed the connection before sending any
	// response byte. Xray does this when it rejects the user id or the
	// timestamp (after draining, or at its handshake timeout).
	ErrNoResponse = errors.New("vmess: server closed the connection without a response")
)

// errMismatch and errProtocol build the typed errors.
func errMismatch(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrResponseMismatch}, args...)...)
}

func errProtocol(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// ReadErr classifies a read error in the response header: a clean EOF
// before any byte is ErrNoResponse, EOF after some bytes is a truncated
// header (ErrProtocol); anything else (timeouts included) passes through.
func ReadErr(err error, got int, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if got == 0 {
			return fmt.Errorf("%w (%s); the server rejected the user id or clock, or is not a VMess server", ErrNoResponse, what)
		}
		return errProtocol("response header truncated after %d bytes (%s)", got, what)
	}
	if IsReset(err) && got == 0 {
		return fmt.Errorf("%w (connection reset): the server rejected the user id or clock, or is not a VMess server: %w", ErrNoResponse, err)
	}
	return fmt.Errorf("vmess: reading the response header: %w", err)
}

// ReadResponse reads and verifies the AEAD response header from r.
func ReadResponse(r io.Reader, respKey, respIV [16]byte, v byte) error {
	var sealedLen [18]byte
	n, err := io.ReadFull(r, sealedLen[:])
	if err != nil {
		return ReadErr(err, n, "length")
	}
	lenAEAD, lenNonce := respHeaderAEAD(respKey, respIV, kdfRespLenKey, kdfRespLenIV)
	l, err := lenAEAD.Open(nil, lenNonce[:], sealedLen[:], nil)
	if err != nil {
		return errMismatch("the response header length did not open under this request's keys (wrong user id, or not a VMess server)")
	}
	m := int(binary.BigEndian.Uint16(l))
	if m > maxResponseHeader {
		return errProtocol("response header of %d bytes is larger than the %d allowed", m, maxResponseHeader)
	}
	var stack [maxResponseHeader + 16]byte
	sealed := stack[:m+16]
	k, err := io.ReadFull(r, sealed)
	n += k
	if err != nil {
		return ReadErr(err, n, "payload")
	}
	payAEAD, payNonce := respHeaderAEAD(respKey, respIV, kdfRespKey, kdfRespIV)
	payload, err := payAEAD.Open(sealed[:0], payNonce[:], sealed, nil)
	if err != nil {
		return errMismatch("the response header did not open under this request's keys")
	}
	return checkResponsePayload(payload, v)
}

// checkResponsePayload checks V ‖ option ‖ command ‖ command length ‖
// command data. Commands are parsed only far enough to skip them; extra
// bytes are ignored, as Xray does.
func checkResponsePayload(p []byte, v byte) error {
	if len(p) < 4 {
		return errProtocol("response header has %d bytes, want at least 4", len(p))
	}
	if p[0] != v {
		return errMismatch("response header V byte is %#02x, want %#02x", p[0], v)
	}
	if p[2] != 0 && len(p) < 4+int(p[3]) {
		return errProtocol("response command %d claims %d bytes but only %d follow", p[2], p[3], len(p)-4)
	}
	return nil
}

// ReadLegacyResponse reads the legacy response header [V, option, cmd,
// cmdLen] ‖ command data, decrypting with the stream s (AES-128-CFB under
// respKey/respIV), which continues into the body for security aes-128-cfb.
func ReadLegacyResponse(r io.Reader, s cipher.Stream, v byte) error {
	var h [4]byte
	n, err := io.ReadFull(r, h[:])
	if err != nil {
		return ReadErr(err, n, "legacy header")
	}
	s.XORKeyStream(h[:], h[:])
	if h[0] != v {
		return errMismatch("legacy response V byte is %#02x, want %#02x (wrong user id, or not a VMess server)", h[0], v)
	}
	if h[2] != 0 {
		var cmd [255]byte
		k, err := io.ReadFull(r, cmd[:h[3]])
		n += k
		if err != nil {
			return ReadErr(err, n, "legacy command")
		}
		s.XORKeyStream(cmd[:k], cmd[:k])
	}
	return nil
}

// NewCFBDecrypter returns AES-128-CFB decryption under key and iv.
func NewCFBDecrypter(key, iv [16]byte) cipher.Stream {
	return cipher.NewCFBDecrypter(newAES(key[:]), iv[:])
}

// newCFBEncrypter returns AES-128-CFB encryption under key and iv.
func newCFBEncrypter(key, iv [16]byte) cipher.Stream {
	return cipher.NewCFBEncrypter(newAES(key[:]), iv[:])
}
