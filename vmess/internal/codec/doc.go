// Package codec is the VMess wire format as Xray-core v1.260327.0 speaks
// it, on byte slices and readers: the nested HMAC-SHA256 KDF, the AEAD
// auth id, the sealed request header (AEAD and legacy), the response
// header, and the body's chunk framing with one state per direction.
//
// It is internal: the vmess package's Conn is its only user. Its tests
// check every derivation against Xray-core's own functions and fixed
// known-answer vectors (kat_test.go).
package codec
