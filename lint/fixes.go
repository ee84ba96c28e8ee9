package lint

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// The mechanical fixes, in one file so that everything `xvm lint --fix`
// may do to a user's file is reviewed in one place. Each leaves the
// document as Xray reads it, except for the one change its finding names.

// fix writes a quoted port as the number it holds, when that is a port.
func (rulePortRange) fix(e *editor, d Diagnostic) *Fix {
	parent, i, ok := e.locate(d)
	if !ok {
		return nil
	}
	v := parent.Members[i].Value
	if v.Kind != schema.String || !isPortText(v.Text) {
		return nil
	}
	return e.replaceValue(v, "write the port as the number "+v.Text, func([]byte) string { return v.Text })
}

// isPortText reports whether s is a port written the way JSON writes the
// number: 1 to 65535, digits only, no leading zero.
func isPortText(s string) bool {
	if s == "" || s[0] == '0' || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(s)
	return n >= 1 && n <= 65535
}

// fix renames an unknown key to the one known key it is close to. With
// two or more close candidates the choice is the user's.
func (ruleUnknownKey) fix(e *editor, d Diagnostic) *Fix {
	f, ok := e.finding(schema.UnknownKey, d.Pointer)
	if !ok || elsewhere(f.Key) != "" {
		return nil
	}
	close := closeMatches(f.Key, f.Detail.Known)
	if len(close) != 1 {
		return nil
	}
	parent, i, ok := e.locate(d)
	if !ok {
		return nil
	}
	return e.renameKey(parent, i, close[0], "rename `"+f.Key+"` to `"+close[0]+"`")
}

// fix spells a case-variant key as documented.
func (ruleKeyCase) fix(e *editor, d Diagnostic) *Fix {
	f, ok := e.finding(schema.KeyCase, d.Pointer)
	if !ok {
		return nil
	}
	parent, i, ok := e.locate(d)
	if !ok {
		return nil
	}
	return e.renameKey(parent, i, f.Canonical, "rename `"+f.Key+"` to `"+f.Canonical+"`")
}

// fix removes alterId for current Xray, which ignores the key: 0 is the
// default, and a server that still needs legacy authentication (alterId
// > 0) refuses current Xray with or without it. For the seed manual's
// Xray alterId > 0 still selects legacy authentication, so removing it
// would change what the client speaks: no fix.
func (ruleAlterID) fix(e *editor, d Diagnostic) *Fix {
	if e.c.target == RuntimeSeed {
		return nil
	}
	parent, i, ok := e.locate(d)
	if !ok {
		return nil
	}
	title := "remove alterId: current Xray ignores it and always uses VMessAEAD, so a server that still requires legacy (MD5) authentication refuses this client with or without it"
	if v, ok := alterIDValue(parent.Members[i].Value); ok && v == 0 {
		title = "remove `alterId: 0` (the default; current Xray ignores the key)"
	}
	return e.removeMember(parent, i, title)
}

// fix writes `auto` for a security Xray does not know, which is what Xray
// silently uses for it.
func (ruleSecurityUnknown) fix(e *editor, d Diagnostic) *Fix {
	parent, i, ok := e.locate(d)
	if !ok {
		return nil
	}
	v := parent.Members[i].Value
	if v.Kind != schema.String {
		return nil
	}
	return e.replaceValue(v, "replace `"+v.Text+"` with `auto`, which Xray uses for it now", func(orig []byte) string {
		return e.literal(orig, "auto", false)
	})
}

// fix puts the missing slash in front of a transport path.
func (rulePathSlash) fix(e *editor, d Diagnostic) *Fix {
	parent, i, ok := e.locate(d)
	if !ok {
		return nil
	}
	v := parent.Members[i].Value
	if v.Kind != schema.String || strings.HasPrefix(v.Text, "/") {
		return nil
	}
	s, t, ok := e.valueSpan(v)
	if !ok {
		return nil
	}
	at := s
	if c := e.src[s]; c == '"' || c == '\'' {
		at = s + 1
	}
	return &Fix{Title: "write the path as `/" + v.Text + "`", Edits: []Edit{{Start: at, End: at, New: "/"}}, scope: [2]int{s, t}}
}

// fix removes `allowInsecure: true`. It cannot add the pin that would let
// a self-signed certificate through: only the server's owner knows its
// hash, so the title says where to put it.
func (ruleAllowInsecure) fix(e *editor, d Diagnostic) *Fix {
	parent, i, ok := e.locate(d)
	if !ok {
		return nil
	}
	v := parent.Members[i].Value
	if v.Kind != schema.Bool || v.Text != "true" {
		return nil
	}
	return e.removeMember(parent, i, "remove allowInsecure (certificates are checked again); for a self-signed certificate add its SHA-256 as pinnedPeerCertSha256 (xvm cannot know it)")
}

// utf8BOM is the byte-order mark Xray's JSON reader refuses.
var utf8BOM = []byte("\xef\xbb\xbf")

// fix removes a byte-order mark that made the document unreadable.
func (ruleSyntax) fix(e *editor, d Diagnostic) *Fix {
	if !bytes.HasPrefix(e.src, utf8BOM) || d.Pos.Line != 1 {
		return nil
	}
	return &Fix{Title: "remove the UTF-8 byte-order mark", Edits: []Edit{{Start: 0, End: len(utf8BOM)}}, scope: [2]int{0, len(e.src)}, exposes: true}
}

// finding returns the schema finding of kind at pointer.
func (e *editor) finding(kind schema.FindingKind, pointer string) (schema.Finding, bool) {
	if e.byPointer == nil {
		e.byPointer = make(map[findingKey]int, len(e.c.findings))
		for i, f := range e.c.findings {
			e.byPointer[findingKey{f.Kind, f.Pointer}] = i
		}
	}
	i, ok := e.byPointer[findingKey{kind, pointer}]
	if !ok {
		return schema.Finding{}, false
	}
	return e.c.findings[i], true
}

type findingKey struct {
	kind    schema.FindingKind
	pointer string
}

// closeMatches returns the candidates close enough to s to be a plausible
// typo of it, by the measure didYouMean uses.
func closeMatches(s string, candidates []string) []string {
	var out []string
	var d distance // the query folded once, the rows reused
	if d.nq = foldRunes(s, &d.q); d.nq < 0 {
		return nil
	}
	limit := typoLimit(s)
	for _, c := range candidates {
		if d.to(c, limit+1) <= limit {
			out = append(out, c)
		}
	}
	return out
}
