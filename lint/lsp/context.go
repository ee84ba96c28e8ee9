package lsp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// cursor is where the cursor is in the document's structure, read from
// the text before it. While a config is typed it rarely parses, so this
// reading tolerates everything after the cursor and any unfinished token
// before it.
type cursor struct {
	// path holds the keys and array indices of the object or array the
	// cursor is in.
	path []string
	// inKey says the cursor is where a key goes; otherwise it is at the
	// value of key (an object member) or of the array element key.
	inKey bool
	key   string
	// partial is the word typed so far; it starts at byte from.
	partial string
	from    int
	// quoted says the cursor is inside a string's quotes.
	quoted bool
	// present lists keys the object already has before the cursor, for
	// documents that do not parse.
	present []string
}

// valuePath is the path of the value the cursor is at.
func (c cursor) valuePath() []string {
	return append(append([]string(nil), c.path...), c.key)
}

// cursorAt reads the cursor at byte off of src in syntax f.
func cursorAt(f schema.Format, src []byte, off int) cursor {
	off = max(0, min(off, len(src)))
	switch f {
	case schema.YAML:
		return yamlCursor(src, off)
	case schema.TOML:
		return tomlCursor(src, off)
	}
	return jsonCursor(src, off)
}

// wordStart is where the word (key or plain value characters) ending at
// off starts.
func wordStart(src []byte, off int) int {
	i := off
	for i > 0 {
		c := src[i-1]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '$' || c == '/' {
			i--
			continue
		}
		break
	}
	return i
}

// jsonFrame is one open object or array while scanning JSON.
type jsonFrame struct {
	obj       bool
	name      string // key or index of this container in its parent
	expectKey bool
	key       string   // the last key read (objects)
	keys      []string // every key read (objects)
	index     int      // the current element (arrays)
}

// jsonCursor scans JSON with comments the way Xray's reader allows (//,
// /* */ and # comments) up to off.
func jsonCursor(src []byte, off int) cursor {
	var stack []jsonFrame
	top := func() *jsonFrame {
		if len(stack) == 0 {
			return nil
		}
		return &stack[len(stack)-1]
	}
	childName := func() string {
		t := top()
		switch {
		case t == nil:
			return ""
		case t.obj:
			return t.key
		default:
			return strconv.Itoa(t.index)
		}
	}
	strStart := -1
	for i := 0; i < off; i++ {
		c := src[i]
		if strStart >= 0 {
			switch c {
			case '\\':
				i++
			case '"':
				if t := top(); t != nil && t.obj && t.expectKey {
					raw := src[strStart+1 : i]
					k := string(raw)
					if bytes.IndexByte(raw, '\\') >= 0 && json.Unmarshal(src[strStart:i+1], &k) != nil {
						k = string(raw)
					}
					t.key = k
					t.keys = append(t.keys, k)
				}
				strStart = -1
			}
			continue
		}
		switch c {
		case '"':
			strStart = i
		case '#':
			i = skipLine(src, i, off)
		case '/':
			if i+1 < off && src[i+1] == '/' {
				i = skipLine(src, i, off)
			} else if i+1 < off && src[i+1] == '*' {
				if j := bytes.Index(src[i+2:off], []byte("*/")); j >= 0 {
					i += j + 3
				} else {
					return cursor{} // the cursor is in a comment
				}
			}
		case '{':
			stack = append(stack, jsonFrame{obj: true, name: childName(), expectKey: true})
		case '[':
			stack = append(stack, jsonFrame{name: childName()})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ':':
			if t := top(); t != nil && t.obj {
				t.expectKey = false
			}
		case ',':
			if t := top(); t != nil {
				if t.obj {
					t.expectKey, t.key = true, ""
				} else {
					t.index++
				}
			}
		}
	}
	var c cursor
	for _, f := range stack[min(1, len(stack)):] {
		c.path = append(c.path, f.name)
	}
	if strStart >= 0 {
		c.quoted, c.from = true, strStart+1
	} else {
		c.from = wordStart(src, off)
	}
	c.partial = string(src[c.from:off])
	t := top()
	switch {
	case t == nil:
		return cursor{}
	case t.obj && t.expectKey:
		c.inKey = true
		c.present = t.keys
	case t.obj:
		c.key = t.key
	default:
		c.key = strconv.Itoa(t.index)
	}
	return c
}

// skipLine returns the offset of the line break after i (or limit-1).
func skipLine(src []byte, i, limit int) int {
	if j := bytes.IndexByte(src[i:limit], '\n'); j >= 0 {
		return i + j
	}
	return limit - 1
}

// yamlLine is one line of a YAML block structure.
type yamlLine struct {
	dash   int    // column of a leading "- " (-1 when none)
	keyCol int    // column where the line's key (or scalar) starts
	key    string // the key, when the line is "key:" or "key: value"
	opens  bool   // "key:" with nothing after: a nested block follows
}

func parseYAMLLine(line []byte) (yamlLine, bool) {
	s := string(bytes.TrimRight(line, "\r"))
	trimmed := strings.TrimLeft(s, " ")
	if trimmed == "" || trimmed[0] == '#' {
		return yamlLine{}, false
	}
	l := yamlLine{dash: -1, keyCol: len(s) - len(trimmed)}
	for strings.HasPrefix(trimmed, "- ") || trimmed == "-" {
		l.dash = l.keyCol
		rest := strings.TrimLeft(strings.TrimPrefix(trimmed, "-"), " ")
		l.keyCol += len(trimmed) - len(rest)
		trimmed = rest
	}
	if k, v, ok := cutYAMLKey(trimmed); ok {
		l.key = k
		v = strings.TrimSpace(v)
		l.opens = v == "" || v[0] == '#'
	}
	return l, true
}

// cutYAMLKey splits "key: value" (the key plain or quoted).
func cutYAMLKey(s string) (key, value string, ok bool) {
	if s != "" && (s[0] == '"' || s[0] == '\'') {
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return "", "", false
		}
		rest := s[end+2:]
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		return s[1 : end+1], rest[1:], true
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
			return s[:i], s[i+1:], true
		}
		if s[i] == ' ' && i+1 < len(s) && s[i+1] == '#' {
			break
		}
	}
	return "", "", false
}

// yamlCursor reads block YAML by indentation: the lines above the cursor
// that are less indented are its ancestors.
func yamlCursor(src []byte, off int) cursor {
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	cur := src[lineStart:off]
	var c cursor
	// The cursor's own line: "  - ", "  key", "  key: val".
	trimmed := bytes.TrimLeft(cur, " ")
	col := len(cur) - len(trimmed)
	limit := col
	var ownDash []int
	for bytes.HasPrefix(trimmed, []byte("- ")) {
		ownDash = append(ownDash, col)
		rest := bytes.TrimLeft(trimmed[1:], " ")
		col += len(trimmed) - len(rest)
		trimmed = rest
	}
	if k, v, ok := cutYAMLKey(string(trimmed)); ok {
		c.key = k
		c.from = off - len(v) + (len(v) - len(strings.TrimLeft(v, " ")))
		c.partial = strings.TrimLeft(v, " ")
		if strings.HasPrefix(c.partial, `"`) || strings.HasPrefix(c.partial, "'") {
			c.quoted = true
			c.from++
			c.partial = c.partial[1:]
		}
	} else {
		c.inKey = true
		c.from = off - len(trimmed)
		c.partial = string(trimmed)
		if strings.HasPrefix(c.partial, `"`) || strings.HasPrefix(c.partial, "'") {
			c.quoted = true
			c.from++
			c.partial = c.partial[1:]
		}
	}
	// Ancestors, innermost first. An array element's index is the number
	// of items with the same dash column above it in its sequence.
	type elem struct {
		key      string
		dash     int // the dash column of an element, -1 for a key
		count    int
		finished bool
	}
	var rev []*elem
	siblings := col // keys at this column above belong to our mapping
	if len(ownDash) > 0 {
		limit = ownDash[0]
		rev = append(rev, &elem{dash: ownDash[0]})
		siblings = -1 // a new item: its mapping starts on this line
	}
	end := lineStart
	for end > 0 {
		start := bytes.LastIndexByte(src[:end-1], '\n') + 1
		l, ok := parseYAMLLine(src[start : end-1])
		end = start
		if !ok {
			continue
		}
		indent := l.keyCol
		if l.dash >= 0 {
			indent = l.dash
		}
		for _, e := range rev {
			if e.dash < 0 || e.finished {
				continue
			}
			if l.dash == e.dash {
				e.count++
			} else if indent < e.dash {
				e.finished = true
			}
		}
		if siblings >= 0 {
			if l.keyCol == siblings && l.key != "" {
				c.present = append(c.present, l.key)
			}
			if indent < siblings {
				siblings = -1
			}
		}
		if limit > 0 && l.keyCol < limit && l.key != "" && l.opens {
			rev = append(rev, &elem{key: l.key, dash: -1})
			limit = l.keyCol
		}
		if limit > 0 && l.dash >= 0 && l.dash < limit {
			rev = append(rev, &elem{dash: l.dash})
			limit = l.dash
		}
	}
	for i := len(rev) - 1; i >= 0; i-- {
		if rev[i].dash >= 0 {
			c.path = append(c.path, strconv.Itoa(rev[i].count))
		} else {
			c.path = append(c.path, rev[i].key)
		}
	}
	return c
}

// tomlCursor reads TOML: the last table header above the cursor names the
// table, and a dotted key on the cursor's line goes further.
func tomlCursor(src []byte, off int) cursor {
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	// index holds the current element of every array of tables: [[a]]
	// moves a to its next element and starts the arrays under it afresh.
	index := map[string]int{}
	var table []string
	var present []string
	for _, line := range bytes.Split(src[:lineStart], []byte("\n")) {
		s := strings.TrimSpace(string(line))
		switch {
		case strings.HasPrefix(s, "[["):
			keys := tomlKeys(strings.TrimPrefix(strings.SplitN(s, "]]", 2)[0], "[["))
			p := strings.Join(keys, ".")
			if n, ok := index[p]; ok {
				index[p] = n + 1
			} else {
				index[p] = 0
			}
			for q := range index {
				if strings.HasPrefix(q, p+".") {
					delete(index, q)
				}
			}
			table, present = keys, nil
		case strings.HasPrefix(s, "["):
			table, present = tomlKeys(strings.TrimPrefix(strings.SplitN(s, "]", 2)[0], "[")), nil
		default:
			if k, _, ok := strings.Cut(s, "="); ok && !strings.HasPrefix(s, "#") {
				if keys := tomlKeys(k); len(keys) > 0 {
					present = append(present, keys[0])
				}
			}
		}
	}
	var c cursor
	for i, k := range table {
		c.path = append(c.path, k)
		if n, ok := index[strings.Join(table[:i+1], ".")]; ok {
			c.path = append(c.path, strconv.Itoa(n))
		}
	}
	cur := string(src[lineStart:off])
	if strings.HasPrefix(strings.TrimSpace(cur), "[") {
		return cursor{} // in a header
	}
	if k, v, ok := strings.Cut(cur, "="); ok {
		keys := tomlKeys(k)
		if len(keys) == 0 {
			return cursor{}
		}
		c.path = append(c.path, keys[:len(keys)-1]...)
		c.key = keys[len(keys)-1]
		v = strings.TrimLeft(v, " \t")
		c.from = off - len(v)
		c.partial = v
		if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "'") {
			c.quoted = true
			c.from++
			c.partial = v[1:]
		}
		return c
	}
	c.inKey = true
	c.present = present
	word := strings.TrimLeft(cur, " \t")
	if i := strings.LastIndexByte(word, '.'); i >= 0 {
		c.path = append(c.path, tomlKeys(word[:i])...)
		word = word[i+1:]
		c.present = nil
	}
	c.from = off - len(word)
	c.partial = word
	if strings.HasPrefix(word, `"`) {
		c.quoted = true
		c.from++
		c.partial = word[1:]
	}
	return c
}

// tomlKeys splits a dotted TOML key, unquoting its parts.
func tomlKeys(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ".") {
		p = strings.TrimSpace(p)
		if len(p) >= 2 && (p[0] == '"' || p[0] == '\'') && p[len(p)-1] == p[0] {
			p = p[1 : len(p)-1]
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
