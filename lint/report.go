package lint

import (
	"fmt"

	"github.com/xvmtools/xvm/schema"
)

// place is an object or value a rule looks into: its JSON pointer, its
// node, and the member that holds it (nil for the document root and for
// array elements). It is enough to name and position a finding about the
// value itself or about a key it lacks.
type place struct {
	ptr  string
	node *schema.Node
	key  *schema.Member
}

// member returns the place of the member key of p's object, matched as
// Xray matches keys (see present), or the zero place when it is absent.
// Its pointer is built only for a key that is there: most are not.
func (p place) member(key string) place {
	m := present(p.node, key)
	if m == nil {
		return place{}
	}
	return place{ptr: schema.Child(p.ptr, m.Key), node: m.Value, key: m}
}

// object reports whether the place holds a JSON object.
func (p place) object() bool { return p.node != nil && p.node.Kind == schema.Object }

// anchor says what a finding points at. A finding on a value may
// supersede other rules' findings on the same value (RuleMeta.Supersedes);
// one on a key never does.
type anchor uint8

const (
	onValue anchor = iota // a value, or where a missing key belongs
	onKey                 // a key
)

// finding is a diagnostic the running rule is building. A rule starts it
// with one of checkContext's at* methods, which take the position from the
// node the rule holds (rules never search the document), may set a hint or
// a severity, and records it with reportf:
//
//	c.atValue(s.ptr, m).hint("remove the quotes").reportf("port is the string %q", v)
type finding struct {
	c      *checkContext
	d      Diagnostic
	anchor anchor
}

func (c *checkContext) start(ptr string, from, to schema.Pos, a anchor) *finding {
	return &finding{c: c, anchor: a, d: Diagnostic{
		File: c.doc.Name, Pointer: ptr, Pos: from, End: to,
		Rule: c.cur.ID, Severity: c.cur.Severity,
	}}
}

// atKey starts a finding on the key of member m of the object at parent.
func (c *checkContext) atKey(parent string, m *schema.Member) *finding {
	return c.start(schema.Child(parent, m.Key), m.KeyPos, m.KeyEnd, onKey)
}

// atValue starts a finding on the value of member m of the object at
// parent.
func (c *checkContext) atValue(parent string, m *schema.Member) *finding {
	return c.atNode(schema.Child(parent, m.Key), m.Value)
}

// atNode starts a finding on the value n, found at ptr (an array element,
// the root, or a value a schema finding names).
func (c *checkContext) atNode(ptr string, n *schema.Node) *finding {
	return c.start(ptr, n.Pos, n.End, onValue)
}

// atFindingKey starts a finding on the key a schema finding names.
func (c *checkContext) atFindingKey(f schema.Finding) *finding {
	return c.start(f.Pointer, f.Member.KeyPos, f.Member.KeyEnd, onKey)
}

// atPlace starts a finding on the value of p; p must hold a node.
func (c *checkContext) atPlace(p place) *finding { return c.atNode(p.ptr, p.node) }

// atMissing starts a finding about key, which the object at in lacks (or
// holds as null, which Xray reads as absent). It points at that null key,
// else at the key that holds the object, else at the object's start (the
// root or an array element).
func (c *checkContext) atMissing(in place, key string) *finding {
	ptr := schema.Child(in.ptr, key)
	if m := in.node.Member(key); m != nil {
		return c.start(schema.Child(in.ptr, m.Key), m.KeyPos, m.KeyEnd, onValue)
	}
	switch {
	case in.key != nil:
		return c.start(ptr, in.key.KeyPos, in.key.KeyEnd, onValue)
	case in.node != nil:
		return c.start(ptr, in.node.Pos, in.node.Pos, onValue)
	}
	return c.start(ptr, c.doc.Root.Pos, c.doc.Root.Pos, onValue)
}

// atSpan starts a finding on source text that is no value of the tree
// (a syntax error, text after the document).
func (c *checkContext) atSpan(from, to schema.Pos) *finding {
	return c.start("", from, to, onValue)
}

// hint sets how to fix what the finding reports.
func (f *finding) hint(h string) *finding {
	f.d.Hint = h
	return f
}

// severity replaces the rule's default severity, for rules whose weight
// depends on the target or the date.
func (f *finding) severity(s Severity) *finding {
	f.d.Severity = s
	return f
}

// reportf sets the message and records the finding.
func (f *finding) reportf(format string, args ...any) {
	f.d.Message = fmt.Sprintf(format, args...)
	f.c.record(f)
}

// report records the finding with msg as its message, as written.
func (f *finding) report(msg string) {
	f.d.Message = msg
	f.c.record(f)
}
