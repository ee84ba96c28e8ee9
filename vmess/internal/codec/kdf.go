package codec

import (
	"crypto/md5"
	"crypto/sha256"
)

// KDF labels (HMAC keys) used by VMess AEAD.
const (
	kdfRoot             = "VMess AEAD KDF"
	kdfAuthIDKey        = "AES Auth ID Encryption"
	kdfHeaderLenKey     = "VMess Header AEAD Key_Length"
	kdfHeaderLenNonce   = "VMess Header AEAD Nonce_Length"
	kdfHeaderKey        = "VMess Header AEAD Key"
	kdfHeaderNonce      = "VMess Header AEAD Nonce"
	kdfRespLenKey       = "AEAD Resp Header Len Key"
	kdfRespLenIV        = "AEAD Resp Header Len IV"
	kdfRespKey          = "AEAD Resp Header Key"
	kdfRespIV           = "AEAD Resp Header IV"
	kdfAuthLen          = "auth_len"
	cmdKeySalt          = "c48619fe-8f02-49e0-b9e9-edf763e17e21"
	maxKDFPathElemBytes = 64
)

// KDF is VMess's nested HMAC-SHA256 key derivation: with H0 =
// HMAC-SHA256 keyed by "VMess AEAD KDF", each path element p_i defines H_i
// as the HMAC keyed by p_i over the hash function H_(i-1). The secret is the
// message of the outermost H_n. Path elements must be at most 64 bytes
// (every VMess label and salt is).
func KDF(secret []byte, path ...[]byte) [32]byte {
	var out [32]byte
	kdfLevel(&out, path, secret)
	return out
}

// KDF16 is the first 16 bytes of KDF.
func KDF16(secret []byte, path ...[]byte) [16]byte {
	full := KDF(secret, path...)
	var k [16]byte
	copy(k[:], full[:16])
	return k
}

// kdfLevel computes H_len(path)(msg) into out.
func kdfLevel(out *[32]byte, path [][]byte, msg []byte) {
	var key []byte
	if len(path) == 0 {
		key = []byte(kdfRoot)
	} else {
		key = path[len(path)-1]
	}
	var pad [64]byte
	copy(pad[:], key) // keys are ≤ 64 bytes: no pre-hash needed
	for i := range pad {
		pad[i] ^= 0x36
	}
	// inner = H_(n-1)(ipad ‖ msg)
	var stack [512]byte
	inner := stack[:0]
	if 64+len(msg) > len(stack) {
		inner = make([]byte, 0, 64+len(msg))
	}
	inner = append(append(inner, pad[:]...), msg...)
	var innerSum [32]byte
	hashBelow(&innerSum, path, inner)
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	outer := append(append(inner[:0], pad[:]...), innerSum[:]...)
	hashBelow(out, path, outer)
}

// hashBelow applies the hash function one level below path's last element:
// SHA-256 at the bottom, else H_(n-1).
func hashBelow(out *[32]byte, path [][]byte, msg []byte) {
	if len(path) == 0 {
		*out = sha256.Sum256(msg)
		return
	}
	kdfLevel(out, path[:len(path)-1], msg)
}

// CmdKey returns a user id's cmdKey, MD5(id ‖
// "c48619fe-8f02-49e0-b9e9-edf763e17e21"): the root secret of AEAD auth and
// the legacy header key.
func CmdKey(id [16]byte) [16]byte {
	var b [16 + len(cmdKeySalt)]byte
	copy(b[:], id[:])
	copy(b[16:], cmdKeySalt)
	return md5.Sum(b[:])
}
