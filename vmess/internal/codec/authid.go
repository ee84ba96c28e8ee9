package codec

import (
	"encoding/binary"
	"hash/crc32"
)

// AuthID builds the 16-byte AEAD auth id: the plaintext t (int64 Unix
// seconds) ‖ rnd ‖ CRC32-IEEE of those 12 bytes, encrypted as one AES-128
// block under KDF16(cmdKey, "AES Auth ID Encryption").
func AuthID(cmdKey [16]byte, t int64, rnd [4]byte) [16]byte {
	var plain [16]byte
	binary.BigEndian.PutUint64(plain[0:8], uint64(t))
	copy(plain[8:12], rnd[:])
	binary.BigEndian.PutUint32(plain[12:16], crc32.ChecksumIEEE(plain[:12]))
	key := KDF16(cmdKey[:], []byte(kdfAuthIDKey))
	var out [16]byte
	newAES(key[:]).Encrypt(out[:], plain[:])
	return out
}
