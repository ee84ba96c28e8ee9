package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"hash/fnv"
	"net/netip"
)

// Request commands.
const (
	CommandTCP = 0x01
	CommandUDP = 0x02
)

// Wire values of the security nibble in the request header.
const (
	SecurityLegacyAES128CFB  = 1
	SecurityAES128GCM        = 3
	SecurityChaCha20Poly1305 = 4
	SecurityNone             = 5
)

// Bits of the request options byte.
const (
	// OptionChunkStream (S) frames the body in chunks.
	OptionChunkStream = 0x01
	// OptionChunkMasking (M) XORs chunk lengths with a SHAKE128 stream.
	OptionChunkMasking = 0x04
	// OptionGlobalPadding (P) appends 0–63 random bytes to every chunk.
	OptionGlobalPadding = 0x08
	// OptionAuthenticatedLength (A) seals chunk lengths with an AEAD.
	OptionAuthenticatedLength = 0x10
)

// has reports whether every bit of bits is set in options.
func has(options, bits byte) bool { return options&bits == bits }

// Address types in the request header.
const (
	addrIPv4   = 0x01
	addrDomain = 0x02
	addrIPv6   = 0x03
)

// Instruction is the plaintext request header's content.
type Instruction struct {
	ReqIV, ReqKey [16]byte
	V             byte
	Options       byte
	Security      byte // wire nibble
	Command       byte
	Port          uint16
	IP            netip.Addr // valid for an IP target
	Domain        string     // otherwise
	Padding       []byte     // 0–15 bytes
}

// AppendInstruction appends the plaintext request header: version, IV,
// key, V, options, padding length and security, reserved, command, port,
// address, padding, FNV-1a.
func AppendInstruction(dst []byte, in *Instruction) []byte {
	start := len(dst)
	dst = append(dst, 0x01)
	dst = append(dst, in.ReqIV[:]...)
	dst = append(dst, in.ReqKey[:]...)
	dst = append(dst, in.V, in.Options, byte(len(in.Padding))<<4|in.Security&0x0f, 0, in.Command)
	dst = binary.BigEndian.AppendUint16(dst, in.Port)
	switch {
	case in.IP.Is4():
		a := in.IP.As4()
		dst = append(dst, addrIPv4)
		dst = append(dst, a[:]...)
	case in.IP.Is6():
		a := in.IP.As16()
		dst = append(dst, addrIPv6)
		dst = append(dst, a[:]...)
	default:
		dst = append(dst, addrDomain, byte(len(in.Domain)))
		dst = append(dst, in.Domain...)
	}
	dst = append(dst, in.Padding...)
	h := fnv.New32a()
	h.Write(dst[start:])
	return binary.BigEndian.AppendUint32(dst, h.Sum32())
}

// newAES returns the AES block cipher under key, which is always 16 bytes
// here.
func newAES(key []byte) cipher.Block {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // 16-byte keys only
	}
	return block
}

// newGCM returns AES-128-GCM under key.
func newGCM(key []byte) cipher.AEAD {
	aead, err := cipher.NewGCM(newAES(key))
	if err != nil {
		panic(err)
	}
	return aead
}

// SealHeader seals a plaintext request header the AEAD way and appends
// the wire form to dst: authID ‖ GCM(uint16 length) ‖ connNonce ‖
// GCM(header). Both seals use the auth id as additional data; their keys
// and nonces come from KDF(cmdKey; label, authID, connNonce).
func SealHeader(dst []byte, cmdKey [16]byte, authID [16]byte, connNonce [8]byte, header []byte) []byte {
	lenKey := KDF16(cmdKey[:], []byte(kdfHeaderLenKey), authID[:], connNonce[:])
	lenNonce := KDF(cmdKey[:], []byte(kdfHeaderLenNonce), authID[:], connNonce[:])
	payKey := KDF16(cmdKey[:], []byte(kdfHeaderKey), authID[:], connNonce[:])
	payNonce := KDF(cmdKey[:], []byte(kdfHeaderNonce), authID[:], connNonce[:])

	dst = append(dst, authID[:]...)
	var l [2]byte
	binary.BigEndian.PutUint16(l[:], uint16(len(header)))
	dst = newGCM(lenKey[:]).Seal(dst, lenNonce[:12], l[:], authID[:])
	dst = append(dst, connNonce[:]...)
	return newGCM(payKey[:]).Seal(dst, payNonce[:12], header, authID[:])
}

// Legacy (alterId > 0) constants.
const (
	legacyAlterSalt  = "16167dc8-16b6-4e6d-b8bb-65dd68113a81"
	legacyAlterSalt2 = "533eff8a-4113-4b10-b5ce-0f5d76b98cd2"
)

// AlterID returns the n-th legacy alter id of primary (n ≥ 1); n = 0 is
// primary itself. alter[i+1] = MD5(alter[i] ‖ salt), re-hashed with a
// second salt in the (never observed) case that it equals its input.
func AlterID(primary [16]byte, n int) [16]byte {
	cur := primary
	for i := 0; i < n; i++ {
		h := md5.New()
		h.Write(cur[:])
		h.Write([]byte(legacyAlterSalt))
		var next [16]byte
		h.Sum(next[:0])
		for next == cur {
			h.Write([]byte(legacyAlterSalt2))
			h.Sum(next[:0])
		}
		cur = next
	}
	return cur
}

// LegacyAuth is the legacy 16-byte auth: HMAC-MD5 keyed by the (alter) id
// over t as a big-endian uint64.
func LegacyAuth(id [16]byte, t int64) [16]byte {
	m := hmac.New(md5.New, id[:])
	var tb [8]byte
	binary.BigEndian.PutUint64(tb[:], uint64(t))
	m.Write(tb[:])
	var out [16]byte
	m.Sum(out[:0])
	return out
}

// legacyHeaderIV is MD5(t8 ‖ t8 ‖ t8 ‖ t8), the legacy header's CFB IV.
func legacyHeaderIV(t int64) [16]byte {
	var b [32]byte
	for i := 0; i < 4; i++ {
		binary.BigEndian.PutUint64(b[i*8:], uint64(t))
	}
	return md5.Sum(b[:])
}

// SealLegacyHeader appends the legacy wire header: LegacyAuth(userID, t) ‖
// AES-128-CFB(key = cmdKey of the primary id, IV = MD5(t×4)) of header.
// userID is the id that authenticates: the primary or one of its alter
// ids (see AlterID).
func SealLegacyHeader(dst []byte, cmdKey [16]byte, userID [16]byte, t int64, header []byte) []byte {
	auth := LegacyAuth(userID, t)
	dst = append(dst, auth[:]...)
	start := len(dst)
	dst = append(dst, header...)
	newCFBEncrypter(cmdKey, legacyHeaderIV(t)).XORKeyStream(dst[start:], dst[start:])
	return dst
}
