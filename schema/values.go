package schema

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/xvmtools/xvm/vmess"
)

// Value validators shared by lint and convert. Each mirrors the check
// Xray-core v1.260327.0's infra/conf loader makes, so a value that passes
// here is one Xray builds. The name lists come from the embedded JSON
// Schema's enums, so the schema, lint and convert share one list.

// valueEnums are name lists read from the embedded schema.
type valueEnums struct {
	fingerprints []string                   // in the schema's order
	sets         map[string]map[string]bool // "fingerprint", "finalmask.tcp", "finalmask.udp"
}

// enums is read from the embedded schema once; it is never written after.
var enums = sync.OnceValue(func() valueEnums {
	type enum struct {
		Enum []string `json:"enum"`
	}
	var doc struct {
		Defs struct {
			TLS struct {
				Properties struct {
					Fingerprint enum `json:"fingerprint"`
				} `json:"properties"`
			} `json:"tlsSettings"`
			Stream struct {
				Properties struct {
					FinalMask struct {
						Properties map[string]struct {
							Items struct {
								Properties struct {
									Type enum `json:"type"`
								} `json:"properties"`
							} `json:"items"`
						} `json:"properties"`
					} `json:"finalmask"`
				} `json:"properties"`
			} `json:"streamSettings"`
		} `json:"$defs"`
	}
	out := valueEnums{sets: map[string]map[string]bool{}}
	if err := json.Unmarshal(source, &doc); err != nil {
		return out // TestFingerprintsMatchXray fails loudly
	}
	set := func(key string, names []string) {
		m := make(map[string]bool, len(names))
		for _, n := range names {
			m[n] = true
		}
		out.sets[key] = m
	}
	out.fingerprints = doc.Defs.TLS.Properties.Fingerprint.Enum
	set("fingerprint", out.fingerprints)
	for k, v := range doc.Defs.Stream.Properties.FinalMask.Properties {
		if k == "tcp" || k == "udp" {
			set("finalmask."+k, v.Items.Properties.Type.Enum)
		}
	}
	return out
})

// IsFingerprint reports whether Xray accepts name as tlsSettings
// "fingerprint" (compared case-insensitively, as Xray lower-cases it).
// The empty name (Chrome) and "unsafe" (Go's crypto/tls) are accepted.
func IsFingerprint(name string) bool {
	return enums().sets["fingerprint"][strings.ToLower(name)]
}

// IsRealityFingerprint reports whether Xray accepts name as
// realitySettings "fingerprint" in a client: the TLS list without "unsafe"
// and "hellogolang", which REALITY cannot use.
func IsRealityFingerprint(name string) bool {
	switch l := strings.ToLower(name); l {
	case "unsafe", "hellogolang":
		return false
	default:
		return IsFingerprint(l)
	}
}

// Fingerprints returns the fingerprint names Xray accepts, in the schema's
// order (the empty name first).
func Fingerprints() []string {
	return append([]string(nil), enums().fingerprints...)
}

// CheckRealityPublicKey checks a REALITY client "publicKey" ("password"):
// base64url without padding of exactly 32 bytes. The error does not repeat
// the key.
func CheckRealityPublicKey(s string) error {
	if s == "" {
		return errors.New("is empty; want the server's public key (43 base64url characters, from `xray x25519`)")
	}
	return checkRawURLKey(s, 32, "the server's 32-byte public key (43 base64url characters)")
}

// checkRawURLKey checks s is unpadded base64url of exactly size bytes;
// want describes the key for the error, which never repeats s.
func checkRawURLKey(s string, size int, want string) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("is not unpadded base64url (%d characters); want %s", len(s), want)
	}
	if len(b) != size {
		return fmt.Errorf("decodes to %d bytes; want %s", len(b), want)
	}
	return nil
}

// CheckMldsa65Verify checks a REALITY client "mldsa65Verify": the server's
// ML-DSA-65 public key, base64url without padding, 1952 bytes. Empty means
// none.
func CheckMldsa65Verify(s string) error {
	if s == "" {
		return nil
	}
	return checkRawURLKey(s, 1952, "the server's ML-DSA-65 public key (1952 bytes)")
}

// CheckALPN checks a tlsSettings "alpn" list: "fromMitm" must stand alone.
func CheckALPN(protos []string) error {
	if len(protos) < 2 {
		return nil
	}
	for _, p := range protos {
		if strings.EqualFold(p, "fromMitm") {
			return errors.New("holds fromMitm with other protocols; fromMitm must be the only element")
		}
	}
	return nil
}

// CheckShortID checks a REALITY client "shortId": empty, or an even number
// of hex digits, at most 16.
func CheckShortID(s string) error {
	switch {
	case len(s) > 16:
		return fmt.Errorf("is %d characters; want at most 16 hex digits", len(s))
	case len(s)%2 != 0:
		return fmt.Errorf("has an odd number of hex digits (%d); want an even number, at most 16", len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return errors.New("is not hexadecimal; want an even number of hex digits (0-9, a-f), at most 16")
	}
	return nil
}

// CheckPinnedPeerCertSHA256 checks tlsSettings "pinnedPeerCertSha256": a
// comma-separated list of hex SHA-256 digests (colons allowed, empty items
// ignored), as Xray reads it.
func CheckPinnedPeerCertSHA256(s string) error {
	for i, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(v, ":", ""))
		if err != nil {
			return fmt.Errorf("item %d is not hexadecimal; want a SHA-256 digest as 64 hex digits (colons allowed)", i+1)
		}
		if len(b) != 32 {
			return fmt.Errorf("item %d is %d bytes; want a SHA-256 digest (32 bytes, 64 hex digits)", i+1, len(b))
		}
	}
	return nil
}

// IsFinalMaskType reports whether Xray knows the finalmask mask type name
// (case-insensitive) in the "tcp" list (tcp true) or the "udp" list.
func IsFinalMaskType(tcp bool, name string) bool {
	key := "finalmask.udp"
	if tcp {
		key = "finalmask.tcp"
	}
	return enums().sets[key][strings.ToLower(name)]
}

// FinalMaskTypes returns the mask type names Xray knows for the "tcp" list
// (tcp true) or the "udp" list, sorted.
func FinalMaskTypes(tcp bool) []string {
	key := "finalmask.udp"
	if tcp {
		key = "finalmask.tcp"
	}
	var out []string
	for k := range enums().sets[key] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckFinalMask checks the shape of a streamSettings "finalmask" object as
// Xray's loader reads it: an object whose "tcp" and "udp" members are lists
// of {"type": known name, "settings": object}, and "quicParams" an object.
// The mask settings themselves are not judged.
func CheckFinalMask(raw []byte) error {
	var fm map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fm); err != nil || fm == nil {
		return errors.New("is not a JSON object; want {\"tcp\": [...], \"udp\": [...]}")
	}
	// Keys in a fixed order, so that the same document always gets the
	// same error (golden files and CI logs depend on it).
	keys := make([]string, 0, len(fm))
	for key := range fm {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := fm[key]
		lk := strings.ToLower(key)
		if lk != "tcp" && lk != "udp" {
			continue
		}
		var masks []struct {
			Type     *string         `json:"type"`
			Settings json.RawMessage `json:"settings"`
		}
		if err := json.Unmarshal(v, &masks); err != nil {
			return fmt.Errorf("%s is not a list of {\"type\", \"settings\"} objects", lk)
		}
		for i, m := range masks {
			if m.Type == nil {
				return fmt.Errorf("%s[%d] has no type; want one of %s", lk, i, strings.Join(FinalMaskTypes(lk == "tcp"), ", "))
			}
			if !IsFinalMaskType(lk == "tcp", *m.Type) {
				return fmt.Errorf("%s[%d] type %q is unknown to Xray; want one of %s", lk, i, clipText(*m.Type), strings.Join(FinalMaskTypes(lk == "tcp"), ", "))
			}
			if s := strings.TrimSpace(string(m.Settings)); s != "" && s != "null" && s[0] != '{' {
				return fmt.Errorf("%s[%d] settings is not an object", lk, i)
			}
		}
	}
	for _, key := range keys {
		v := fm[key]
		if strings.EqualFold(key, "quicParams") {
			if s := strings.TrimSpace(string(v)); s != "null" && !strings.HasPrefix(s, "{") {
				return errors.New("quicParams is not an object")
			}
		}
	}
	return nil
}

func clipText(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// IDProblem says, without repeating the id, why Xray refuses a user id
// that vmess.ParseID refused with err (an *vmess.IDError).
func IDProblem(err error) string {
	var ie *vmess.IDError
	if !errors.As(err, &ie) {
		return "Xray refuses it"
	}
	switch ie.Reason {
	case vmess.IDEmpty:
		return "it is empty"
	case vmess.IDBadLength:
		return fmt.Sprintf("it is %d bytes; Xray takes a UUID (32-36 bytes) or a name of 1-30 bytes", ie.Length)
	case vmess.IDTooFewDigits:
		return "too few hex digits for a UUID"
	case vmess.IDMisplacedDash:
		return "a dash is out of place; want 8-4-4-4-12 hex digits"
	}
	return "a UUID holds only hex digits and dashes"
}

// AddressProblem says why a server address is not a bare host, the way
// lint's address-format rule and convert's readers both judge it: empty,
// or carrying a scheme, a path, user info, a port or spaces. host is the
// host part when one can be picked out ("" otherwise). Xray itself takes
// any text that is not an IP as a domain name, so such an address loads
// and fails only when traffic flows. "env:NAME" (Xray reads the variable)
// passes.
func AddressProblem(a string) (why, host string) {
	t := strings.TrimSpace(a)
	if t == "" {
		return "is empty", ""
	}
	if strings.HasPrefix(t, "env:") {
		return "", ""
	}
	host = t
	if i := strings.Index(host, "://"); i >= 0 {
		why = "has a scheme (" + host[:i+3] + ")"
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		if why == "" {
			why = "has a path"
		}
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		if why == "" {
			why = "has user info"
		}
		host = host[i+1:]
	}
	if h, p, err := net.SplitHostPort(host); err == nil && p != "" {
		if why == "" {
			why = "has a port (" + p + "); the port goes in `port`"
		}
		host = h
	}
	if why == "" {
		if strings.ContainsAny(t, " \t") {
			return "contains spaces", strings.ReplaceAll(t, " ", "")
		}
		return "", ""
	}
	return why, host
}
