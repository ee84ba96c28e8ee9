package lint

import "github.com/xvmtools/xvm/vmess"

// xrayID reads a VMess id exactly as Xray's common/uuid.ParseString does
// (vmess.ParseID): 32-36 bytes are hex groups 8-4-4-4-12 with optional
// dashes between groups (anything after the 32nd digit unchecked); 1-30
// bytes are a name that Xray maps to a UUIDv5 — SHA-1 of 16 zero bytes
// followed by the name, version 5 and RFC 4122 variant bits set — which is
// what mapped reports; anything else is refused.
func xrayID(s string) (id vmess.ID, mapped bool, err error) {
	id, err = vmess.ParseID(s)
	return id, err == nil && len(s) <= 30, err
}
