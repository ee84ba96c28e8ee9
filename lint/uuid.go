package lint

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
)

// parseXrayID reads a VMess id exactly as Xray's common/uuid.ParseString
// does: 32-36 bytes are hex groups 8-4-4-4-12 with optional dashes (and
// anything after the 32nd digit unchecked); 1-30 bytes are mapped to a
// UUIDv5 in the nil namespace; anything else is refused.
func parseXrayID(s string) (u [16]byte, mapped bool, err error) {
	text := []byte(s)
	if l := len(text); l < 32 || l > 36 {
		if l == 0 || l > 30 {
			return u, false, fmt.Errorf("invalid UUID: %d bytes long", l)
		}
		h := sha1.New()
		h.Write(u[:])
		h.Write(text)
		sum := h.Sum(nil)[:16]
		sum[6] = (sum[6] & 0x0f) | (5 << 4)
		sum[8] = (sum[8] & (0xff >> 2)) | (0x02 << 6)
		copy(u[:], sum)
		return u, true, nil
	}
	b := u[:]
	for _, g := range []int{8, 4, 4, 4, 12} {
		if len(text) > 0 && text[0] == '-' {
			text = text[1:]
		}
		if len(text) < g {
			return u, false, fmt.Errorf("invalid UUID: too short")
		}
		if _, err := hex.Decode(b[:g/2], text[:g]); err != nil {
			return u, false, fmt.Errorf("not hexadecimal (%v)", err)
		}
		text = text[g:]
		b = b[g/2:]
	}
	return u, false, nil
}

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
