package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// stripComments returns a copy of src in which every comment Xray's config
// reader removes (infra/conf/json.Reader: `//…`, `#…`, `/*…*/`, with text in
// "…" and '…' left alone) is replaced by spaces. Newlines are kept, so byte
// offsets, lines and columns stay those of the original file.
func stripComments(src []byte) []byte {
	var out []byte // copied on the first comment: most files have none
	blank := func(from, to int) {
		if out == nil {
			out = make([]byte, len(src))
			copy(out, src)
		}
		for i := from; i < to; i++ {
			if out[i] != '\n' {
				out[i] = ' '
			}
		}
	}
	if scanJSONComments(src, func(c Comment) { blank(c.Start, c.End) }) {
		blank(len(src)-1, len(src))
	}
	if out == nil {
		return src
	}
	return out
}

type jsonParser struct {
	name  string
	src   []byte
	i     int
	li    *Lines
	nodes int
	slab  []Node            // nodes are allocated in blocks
	keys  map[string]string // interned keys: configs repeat the same few
	// members and items collect children on a shared stack; each object or
	// array then gets one exactly-sized slice.
	members []Member
	items   []*Node
}

// nodeSlab is how many nodes one block holds: as many as fill 32 KiB,
// the largest of Go's small-object size classes, so that no block wastes
// the rounding up to its class.
const nodeSlab = 32 << 10 / int(unsafe.Sizeof(Node{}))

func (p *jsonParser) node(k Kind) *Node {
	if len(p.slab) == 0 {
		p.slab = make([]Node, nodeSlab)
	}
	n := &p.slab[0]
	p.slab = p.slab[1:]
	n.Kind = k
	return n
}

func parseJSON(name string, data []byte, lines *Lines) (*Node, Pos, error) {
	p := &jsonParser{name: name, src: stripComments(data), li: lines, keys: make(map[string]string)}
	p.skipSpace()
	if p.i >= len(p.src) {
		return nil, Pos{}, p.errAt(p.i, "empty document: expected a JSON object or array")
	}
	if bytes.HasPrefix(p.src[p.i:], []byte("\xef\xbb\xbf")) {
		return nil, Pos{}, p.errAt(p.i, "the file starts with a UTF-8 byte-order mark, which Xray refuses: save it without BOM")
	}
	n, err := p.value(0)
	if err != nil {
		return nil, Pos{}, err
	}
	// Like encoding/json's Decoder, Xray ignores anything after the first
	// value; the caller is told where it starts so that lint can say so.
	p.skipSpace()
	var trailing Pos
	if p.i < len(p.src) {
		trailing = p.li.Pos(p.i)
	}
	return n, trailing, nil
}

func (p *jsonParser) errAt(off int, format string, args ...any) error {
	return &SyntaxError{File: p.name, Pos: p.li.Pos(off), Msg: fmt.Sprintf(format, args...)}
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *jsonParser) value(depth int) (*Node, error) {
	if depth > MaxDepth {
		return nil, p.errAt(p.i, "nesting deeper than %d levels", MaxDepth)
	}
	p.nodes++
	if p.nodes > MaxNodes {
		return nil, p.errAt(p.i, "more than %d values", MaxNodes)
	}
	if p.i >= len(p.src) {
		return nil, p.errAt(p.i, "unexpected end of input: a value is missing")
	}
	start := p.i
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		n := p.node(String)
		n.Text, n.Pos, n.End = s, p.li.Pos(start), p.li.Pos(p.i)
		return n, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", Bool)
	case c == 'f':
		return p.literal("false", Bool)
	case c == 'n':
		return p.literal("null", Null)
	case c == '\'':
		return nil, p.errAt(p.i, "strings must use double quotes (\"), not single quotes")
	default:
		return nil, p.errAt(p.i, "unexpected %s: expected a value", describe(c))
	}
}

func (p *jsonParser) literal(word string, k Kind) (*Node, error) {
	start := p.i
	if len(p.src)-p.i < len(word) || string(p.src[p.i:p.i+len(word)]) != word {
		return nil, p.errAt(p.i, "invalid literal: expected %s", word)
	}
	p.i += len(word)
	n := p.node(k)
	n.Pos, n.End = p.li.Pos(start), p.li.Pos(p.i)
	if k == Bool {
		n.Text = word
	}
	return n, nil
}

func (p *jsonParser) number() (*Node, error) {
	start := p.i
	s := p.src
	i := p.i
	if s[i] == '-' {
		i++
	}
	if i >= len(s) || s[i] < '0' || s[i] > '9' {
		return nil, p.errAt(i, "invalid number: expected a digit")
	}
	if s[i] == '0' {
		i++
	} else {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return nil, p.errAt(i, "invalid number: expected a digit after the decimal point")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return nil, p.errAt(i, "invalid number: expected a digit in the exponent")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	p.i = i
	n := p.node(Number)
	n.Text, n.Pos, n.End = string(s[start:i]), p.li.Pos(start), p.li.Pos(i)
	return n, nil
}

// key reads an object key, interning simple ones.
func (p *jsonParser) key() (string, error) {
	start := p.i
	end := start + 1
	for end < len(p.src) && end-start < 64 {
		c := p.src[end]
		if c == '"' {
			if k, ok := p.keys[string(p.src[start+1:end])]; ok {
				p.i = end + 1
				return k, nil
			}
			break
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
		end++
	}
	k, err := p.str()
	if err == nil && len(p.keys) < 4096 && len(k) < 64 {
		p.keys[k] = k
	}
	return k, err
}

// str reads a string starting at the opening quote and leaves p.i after the
// closing quote.
func (p *jsonParser) str() (string, error) {
	start := p.i
	s := p.src
	i := p.i + 1
	simple := true
	for {
		if i >= len(s) {
			return "", p.errAt(start, "unterminated string")
		}
		c := s[i]
		if c == '"' {
			break
		}
		if c == '\\' {
			simple = false
			i += 2
			continue
		}
		if c < 0x20 {
			return "", p.errAt(i, "control character %s in string: escape it", describe(c))
		}
		if c >= 0x80 {
			simple = false
		}
		i++
	}
	p.i = i + 1
	if simple {
		return string(s[start+1 : i]), nil
	}
	raw := s[start : i+1]
	if utf8.Valid(raw) {
		var out string
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", p.errAt(start, "invalid string escape")
		}
		return out, nil
	}
	// encoding/json replaces invalid UTF-8 with U+FFFD; so do we.
	var out string
	if err := json.Unmarshal([]byte(string([]rune(string(raw)))), &out); err != nil {
		return "", p.errAt(start, "invalid string escape")
	}
	return out, nil
}

func (p *jsonParser) object(depth int) (*Node, error) {
	n := p.node(Object)
	n.Pos = p.li.Pos(p.i)
	p.i++ // {
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		n.End = p.li.Pos(p.i)
		return n, nil
	}
	base := len(p.members)
	defer func() { p.members = p.members[:base] }()
	for {
		p.skipSpace()
		if p.i >= len(p.src) {
			return nil, p.errAt(p.i, "unexpected end of input: object opened at %d:%d is not closed", n.Pos.Line, n.Pos.Col)
		}
		if p.src[p.i] != '"' {
			if p.src[p.i] == '}' {
				return nil, p.errAt(p.i, "trailing comma before '}': remove it")
			}
			if p.src[p.i] == '\'' {
				return nil, p.errAt(p.i, "keys must use double quotes (\"), not single quotes")
			}
			return nil, p.errAt(p.i, "unexpected %s: expected a quoted key", describe(p.src[p.i]))
		}
		kstart := p.i
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		m := Member{Key: key, KeyPos: p.li.Pos(kstart), KeyEnd: p.li.Pos(p.i)}
		p.skipSpace()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			return nil, p.errAt(p.i, "expected ':' after key %q", key)
		}
		p.i++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m.Value = v
		p.members = append(p.members, m)
		p.skipSpace()
		if p.i >= len(p.src) {
			return nil, p.errAt(p.i, "unexpected end of input: object opened at %d:%d is not closed", n.Pos.Line, n.Pos.Col)
		}
		switch p.src[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			n.End = p.li.Pos(p.i)
			n.Members = append([]Member(nil), p.members[base:]...)
			return n, nil
		default:
			return nil, p.errAt(p.i, "unexpected %s: expected ',' or '}' (a comma is probably missing)", describe(p.src[p.i]))
		}
	}
}

func (p *jsonParser) array(depth int) (*Node, error) {
	n := p.node(Array)
	n.Pos = p.li.Pos(p.i)
	p.i++ // [
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		n.End = p.li.Pos(p.i)
		return n, nil
	}
	base := len(p.items)
	defer func() { p.items = p.items[:base] }()
	for {
		p.skipSpace()
		if p.i < len(p.src) && p.src[p.i] == ']' {
			return nil, p.errAt(p.i, "trailing comma before ']': remove it")
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, v)
		p.skipSpace()
		if p.i >= len(p.src) {
			return nil, p.errAt(p.i, "unexpected end of input: array opened at %d:%d is not closed", n.Pos.Line, n.Pos.Col)
		}
		switch p.src[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			n.End = p.li.Pos(p.i)
			n.Items = append([]*Node(nil), p.items[base:]...)
			return n, nil
		default:
			return nil, p.errAt(p.i, "unexpected %s: expected ',' or ']' (a comma is probably missing)", describe(p.src[p.i]))
		}
	}
}
