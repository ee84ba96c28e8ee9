package lint

import (
	"strings"
	"unicode/utf8"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/vmess"
)

// ruleIDInvalid reports ids Xray refuses: empty, 31 bytes, longer than 36
// bytes, or 32-36 bytes that are not hex groups.
type ruleIDInvalid struct{}

func (ruleIDInvalid) meta() RuleMeta {
	return RuleMeta{
		ID:       "id-invalid",
		Severity: Error,
		Summary:  "A user id Xray refuses.",
		Help:     "Use a UUID such as the output of `xray uuid` (or `uuidgen`). Xray refuses an empty id, a 31-byte id, one longer than 36 bytes, and a 32-36 byte id that is not hexadecimal UUID groups.",
		Versions: "all Xray versions (common/uuid.ParseString)",
	}
}

func (ruleIDInvalid) check(c *checkContext) {
	for _, u := range c.users {
		m := present(u.node, "id")
		if m == nil {
			c.atMissing(u.place, "id").hint("add an `id` (a UUID)").report("user has no `id`; Xray refuses an empty id")
			continue
		}
		id, ok := str(m.Value)
		if !ok {
			continue // schema reports the type
		}
		if _, _, err := xrayID(id); err != nil {
			c.atValue(u.ptr, m).hint("use a UUID (e.g. from `xray uuid`)").
				reportf("id %q is refused by Xray: %s", c.mask(id), schema.IDProblem(err))
		}
	}
}

// ruleIDNotUUID reports ids Xray accepts but that are not canonical UUIDs:
// 1-30 byte names mapped to a UUIDv5, or hex with missing dashes or
// trailing text, which other clients read differently.
type ruleIDNotUUID struct{}

func (ruleIDNotUUID) meta() RuleMeta {
	return RuleMeta{
		ID:       "id-not-uuid",
		Severity: Warning,
		Summary:  "A user id that is not a canonical UUID.",
		Help:     "Xray maps any 1-30 byte string to a UUIDv5 (SHA-1 of 16 zero bytes followed by the string, version and variant bits set); the server must use the same string or that UUID. Other clients (sing-box, Clash) map differently or refuse. Write the UUID itself.",
		Versions: "Xray v1.3.0 and later map 1-30 byte strings; all versions ignore text after the 32nd hex digit",
	}
}

// bareHex32 tells 32 hex digits without dashes, the one non-canonical
// form both Xray and sing-box (gofrs/uuid) parse to the same UUID.
func bareHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
			return false
		}
	}
	return true
}

func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
				return false
			}
		}
	}
	return true
}

func (ruleIDNotUUID) check(c *checkContext) {
	for _, u := range c.users {
		m, id, ok := strMember(u.node, "id")
		if !ok || canonicalUUID(id) {
			continue
		}
		uid, mapped, err := xrayID(id)
		if err != nil {
			continue
		}
		at := c.atValue(u.ptr, m)
		if mapped {
			at.hint("write the UUID itself: "+c.mask(uid.String())).
				reportf("id %q is not a UUID: Xray maps this %d-byte string to the UUIDv5 %s; other clients may not", c.mask(id), utf8.RuneCountInString(id), c.mask(uid.String()))
			continue
		}
		if bareHex32(id) {
			// gofrs/uuid (sing-box) parses 32 bare hex digits too.
			at.hint("write it as "+c.mask(uid.String())).
				reportf("id %q is not in canonical 8-4-4-4-12 form; Xray and sing-box read it as %s, but tools that expect the dashed form may refuse it", c.mask(id), c.mask(uid.String()))
			continue
		}
		at.hint("write it as "+c.mask(uid.String())).
			reportf("id %q is not in canonical 8-4-4-4-12 form; Xray reads it as %s, but sing-box does not parse this form and derives a different id from it (UUIDv5 of the string), so the same config fails there", c.mask(id), c.mask(uid.String()))
	}
}

// ruleDuplicateID reports the same user id twice for one server: they are
// the same user, so the duplicate adds nothing (and on a server, Xray
// refuses duplicate emails).
type ruleDuplicateID struct{}

func (ruleDuplicateID) meta() RuleMeta {
	return RuleMeta{
		ID:       "duplicate-id",
		Severity: Warning,
		Summary:  "The same user id more than once for the same server in one outbound.",
		Help:     "Remove the duplicate, or give the second user its own id. Ids are compared as Xray reads them (case and dashes ignored, names mapped to UUIDv5).",
		Versions: "all",
	}
}

func (ruleDuplicateID) check(c *checkContext) {
	// server and id as Xray reads it -> where the first such user is
	type serverID struct {
		scope, addr, port string
		id                vmess.ID
	}
	type first struct {
		parent string
		m      *schema.Member
	}
	seen := make(map[serverID]first)
	for _, u := range c.users {
		m, id, ok := strMember(u.node, "id")
		if !ok {
			continue
		}
		uid, _, err := xrayID(id)
		if err != nil {
			continue
		}
		addr, _ := str(get(u.server.node, "address"))
		port := ""
		if p := get(u.server.node, "port"); p != nil {
			port = p.Text
		}
		scope := ""
		if u.server.ob != nil {
			scope = u.server.ob.ptr
		}
		key := serverID{scope, strings.ToLower(addr), port, uid}
		if f, dup := seen[key]; dup {
			c.atValue(u.ptr, m).hint("remove the duplicate user").
				reportf("id %s is already used for %s:%s at %s", c.mask(id), addr, port, schema.Child(f.parent, f.m.Key))
			continue
		}
		seen[key] = first{u.ptr, m}
	}
}
