package schema

import (
	"strconv"
	"strings"
)

// Pos is a 1-based position in a source file. Col counts characters
// (Unicode code points), not bytes.
type Pos struct {
	Line int32
	Col  int32
}

// Less reports whether p comes before q.
func (p Pos) Less(q Pos) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// IsValid reports whether p points somewhere (line and column are set).
func (p Pos) IsValid() bool { return p.Line > 0 && p.Col > 0 }

// Kind is the JSON type of a Node.
type Kind uint8

// The kinds of Node.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// String names the kind the way JSON Schema does.
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "boolean"
	case Number:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	case Object:
		return "object"
	}
	return "unknown"
}

// Node is one value in a positioned document. Whatever the source format,
// the tree has JSON's shape.
type Node struct {
	Kind Kind
	// Pos is where the value starts; End is just past its last character
	// (for YAML collections End equals Pos).
	Pos, End Pos
	// Text is the string value of a String, the decimal text of a Number,
	// and "true" or "false" for a Bool.
	Text string
	// Items are the elements of an Array.
	Items []*Node
	// Members are the entries of an Object in source order, duplicates
	// included (Xray keeps the last of duplicate keys).
	Members []Member
}

// Member is one key of an Object with its position and value.
type Member struct {
	Key            string
	KeyPos, KeyEnd Pos
	Value          *Node
}

// IsInteger reports whether a Number node holds an integer literal
// (no fraction or exponent), as Xray's integer fields require.
func (n *Node) IsInteger() bool {
	if n == nil || n.Kind != Number {
		return false
	}
	return !strings.ContainsAny(n.Text, ".eE")
}

// Int returns a Number node's value as an int64 when it is an integer that
// fits; ok is false otherwise.
func (n *Node) Int() (v int64, ok bool) {
	if !n.IsInteger() {
		return 0, false
	}
	v, err := strconv.ParseInt(n.Text, 10, 64)
	return v, err == nil
}

// Get returns the member value for key the way Xray's decoder (Go's
// encoding/json) reads it: keys match case-insensitively and the last
// matching key in the object wins. It returns nil when n is not an object
// or has no such key.
func (n *Node) Get(key string) *Node {
	m := n.Member(key)
	if m == nil {
		return nil
	}
	return m.Value
}

// Member is like Get but returns the whole member (with key position).
func (n *Node) Member(key string) *Member {
	if n == nil || n.Kind != Object {
		return nil
	}
	asciiKey := isASCII(key)
	for i := len(n.Members) - 1; i >= 0; i-- {
		m := &n.Members[i]
		if m.Key == key {
			return m
		}
		// Keys of different byte lengths can fold together only through
		// multi-byte runes (Kelvin sign, long s), so skip ASCII ones.
		if len(m.Key) != len(key) && asciiKey && isASCII(m.Key) {
			continue
		}
		if strings.EqualFold(m.Key, key) {
			return m
		}
	}
	return nil
}

// Present is Member as Xray's decoder sees a config: a member whose value
// is null counts as absent, because Go's encoding/json leaves a field
// alone when it meets null (and sets a pointer, slice or map to nil). Of
// several matching keys the last that is not null wins.
func (n *Node) Present(key string) *Member {
	m := n.Member(key)
	if m == nil || m.Value.Kind != Null {
		return m
	}
	// Rare: look again, skipping nulls.
	for i := len(n.Members) - 1; i >= 0; i-- {
		c := &n.Members[i]
		if c.Value.Kind != Null && strings.EqualFold(c.Key, key) {
			return c
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Format is the syntax a document was written in.
type Format string

// The formats Load understands.
const (
	JSON Format = "json"
	YAML Format = "yaml"
	TOML Format = "toml"
)

// Document is a parsed configuration file: a positioned tree plus the
// source it came from.
type Document struct {
	// Name is the file name given to Load ("-" or "<stdin>" for stdin).
	Name   string
	Format Format
	Root   *Node
	// Source is the original bytes.
	Source []byte
	// Trailing is where text after the first JSON value starts (Xray
	// ignores it); it is the zero Pos when there is none.
	Trailing Pos

	// lines indexes the lines of Source, made once by Load.
	lines *Lines
}

// Lines returns the index of the document's lines, which the loader made
// (or, for a Document made by hand, one made now).
func (d *Document) Lines() *Lines {
	if d.lines == nil {
		d.lines = NewLines(d.Source)
	}
	return d.lines
}

// SourceOnly returns a Document with no tree, for a source that could not
// be parsed but whose lines are still shown.
func SourceOnly(name string, src []byte) *Document {
	return &Document{Name: name, Source: src, lines: NewLines(src)}
}

// Lookup resolves an RFC 6901 JSON pointer. Object tokens match keys the
// way Xray does (case-insensitively, the last match wins). It returns the
// node, the member holding it (nil for the root and for array elements) and
// whether the pointer resolved.
func (d *Document) Lookup(pointer string) (*Node, *Member, bool) {
	if d == nil || d.Root == nil {
		return nil, nil, false
	}
	n := d.Root
	var mem *Member
	if pointer == "" {
		return n, nil, true
	}
	if pointer[0] != '/' {
		return nil, nil, false
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = UnescapePointer(tok)
		switch n.Kind {
		case Object:
			mem = n.Member(tok)
			if mem == nil {
				return nil, nil, false
			}
			n = mem.Value
		case Array:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Items) {
				return nil, nil, false
			}
			mem = nil
			n = n.Items[i]
		default:
			return nil, nil, false
		}
	}
	return n, mem, true
}

// RealPointer rewrites pointer so that every object token is spelt as the
// key actually written in the document (Lookup matches case-insensitively).
// Unresolvable tails are kept as given.
func (d *Document) RealPointer(pointer string) string {
	if d == nil || d.Root == nil || pointer == "" || pointer[0] != '/' {
		return pointer
	}
	n := d.Root
	var b strings.Builder
	toks := strings.Split(pointer[1:], "/")
	for i, tok := range toks {
		raw := UnescapePointer(tok)
		if n != nil && n.Kind == Object {
			if m := n.Member(raw); m != nil {
				b.WriteByte('/')
				b.WriteString(EscapePointer(m.Key))
				n = m.Value
				continue
			}
		} else if n != nil && n.Kind == Array {
			if j, err := strconv.Atoi(raw); err == nil && j >= 0 && j < len(n.Items) {
				b.WriteByte('/')
				b.WriteString(tok)
				n = n.Items[j]
				continue
			}
		}
		for _, rest := range toks[i:] {
			b.WriteByte('/')
			b.WriteString(rest)
		}
		break
	}
	return b.String()
}

// EscapePointer escapes one JSON pointer token (RFC 6901).
func EscapePointer(tok string) string {
	if !strings.ContainsAny(tok, "~/") {
		return tok
	}
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// UnescapePointer undoes EscapePointer.
func UnescapePointer(tok string) string {
	if !strings.Contains(tok, "~") {
		return tok
	}
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
}

// Child appends an object key or array index to a pointer.
func Child(pointer string, tok string) string {
	return pointer + "/" + EscapePointer(tok)
}

// Index appends an array index to a pointer.
func Index(pointer string, i int) string {
	return pointer + "/" + strconv.Itoa(i)
}

// Span is a range of source text: Start is the first character, End is
// just past the last.
type Span struct {
	Start, End Pos
}

// Where returns the spans of the key and of the value that pointer names.
// The key span is empty (zero) for the root and for array elements.
func (d *Document) Where(pointer string) (key, value Span, ok bool) {
	n, m, ok := d.Lookup(pointer)
	if !ok {
		return Span{}, Span{}, false
	}
	if m != nil {
		key = Span{m.KeyPos, m.KeyEnd}
	}
	return key, Span{n.Pos, n.End}, true
}

// value is m's value, or nil for a nil member.
func (m *Member) value() *Node {
	if m == nil {
		return nil
	}
	return m.Value
}
