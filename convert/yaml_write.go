package convert

import (
	"bufio"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// YAML output is written straight from the JSON encoding of each entry
// (the struct tags already say which keys, in which order, and what is
// omitted), one entry at a time, so that memory stays proportional to one
// entry rather than to the whole document. The layout is block style with
// two-space indents, sequences indented under their key, as gopkg.in/yaml.v3
// writes with SetIndent(2).

// yamlWriter writes YAML to a buffered writer.
type yamlWriter struct {
	w   *bufio.Writer
	in  []byte // the JSON being written
	pos int
}

// errBadJSON means the JSON handed to the YAML writer is malformed, which
// encoding/json never produces.
var errBadJSON = errors.New("convert: internal error: malformed JSON for YAML output")

// seqItem writes one JSON value (compact or indented, as encoding/json
// writes it) as an item of a block sequence whose dashes are at indent.
func (y *yamlWriter) seqItem(js []byte, indent int) error {
	y.in, y.pos = js, 0
	y.spaces(indent)
	y.w.WriteString("- ")
	if err := y.value(indent+2, true); err != nil {
		return err
	}
	y.w.WriteByte('\n')
	return nil
}

func (y *yamlWriter) spaces(n int) {
	for ; n > 0; n-- {
		y.w.WriteByte(' ')
	}
}

func (y *yamlWriter) skipSpace() {
	for y.pos < len(y.in) {
		switch y.in[y.pos] {
		case ' ', '\t', '\n', '\r':
			y.pos++
		default:
			return
		}
	}
}

// peek returns the next significant byte, or 0 at the end.
func (y *yamlWriter) peek() byte {
	y.skipSpace()
	if y.pos >= len(y.in) {
		return 0
	}
	return y.in[y.pos]
}

// value writes the next JSON value. The cursor is either just after "- "
// (inline: a mapping starts on this line) or just after "key:" (a scalar
// follows after a space, a collection on the next lines at indent).
func (y *yamlWriter) value(indent int, inline bool) error {
	switch y.peek() {
	case '{':
		y.pos++
		if y.peek() == '}' {
			y.pos++
			y.scalarSep(inline)
			y.w.WriteString("{}")
			return nil
		}
		return y.mapping(indent, inline)
	case '[':
		y.pos++
		if y.peek() == ']' {
			y.pos++
			y.scalarSep(inline)
			y.w.WriteString("[]")
			return nil
		}
		return y.sequence(indent, inline)
	case '"':
		s, err := y.str()
		if err != nil {
			return err
		}
		y.scalarSep(inline)
		writeYAMLString(y.w, s)
		return nil
	case 0:
		return errBadJSON
	default: // number, true, false, null: the same text in YAML
		start := y.pos
		for y.pos < len(y.in) && !strings.ContainsRune(",]} \t\r\n", rune(y.in[y.pos])) {
			y.pos++
		}
		y.scalarSep(inline)
		y.w.Write(y.in[start:y.pos])
		return nil
	}
}

// scalarSep writes the space between "key:" and a scalar; after "- " none
// is needed.
func (y *yamlWriter) scalarSep(inline bool) {
	if !inline {
		y.w.WriteByte(' ')
	}
}

func (y *yamlWriter) mapping(indent int, inline bool) error {
	for first := true; ; first = false {
		if y.peek() != '"' {
			return errBadJSON
		}
		k, err := y.str()
		if err != nil {
			return err
		}
		if !first || !inline {
			y.w.WriteByte('\n')
			y.spaces(indent)
		}
		writeYAMLString(y.w, k)
		y.w.WriteByte(':')
		if y.peek() != ':' {
			return errBadJSON
		}
		y.pos++
		if err := y.value(indent+2, false); err != nil {
			return err
		}
		switch y.peek() {
		case ',':
			y.pos++
		case '}':
			y.pos++
			return nil
		default:
			return errBadJSON
		}
	}
}

// sequence writes the items of a non-empty array. Under a key the dashes
// go on the next lines, indented; after "- " the first item stays on the
// line ("- - a").
func (y *yamlWriter) sequence(indent int, inline bool) error {
	for first := true; ; first = false {
		if !first || !inline {
			y.w.WriteByte('\n')
			y.spaces(indent)
		}
		y.w.WriteString("- ")
		if err := y.value(indent+2, true); err != nil {
			return err
		}
		switch y.peek() {
		case ',':
			y.pos++
		case ']':
			y.pos++
			return nil
		default:
			return errBadJSON
		}
	}
}

// str reads a JSON string at the cursor.
func (y *yamlWriter) str() (string, error) {
	start := y.pos
	y.pos++
	esc := false
	for y.pos < len(y.in) {
		switch y.in[y.pos] {
		case '\\':
			esc = true
			y.pos += 2
			continue
		case '"':
			y.pos++
			raw := y.in[start:y.pos]
			if !esc {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", errBadJSON
			}
			return s, nil
		}
		y.pos++
	}
	return "", errBadJSON
}

// writeYAMLString writes s as a plain scalar when that reads back as the
// same string in YAML 1.1 and 1.2 readers alike (Xray's loader and mihomo
// among them), and double-quoted otherwise, with every control or
// non-printable character escaped — including DEL, the C1 controls and
// U+0085, which a plain or single-quoted scalar would turn into a line
// break or a space. Invalid UTF-8 (which encoding/json already replaced)
// is written as U+FFFD.
func writeYAMLString(w *bufio.Writer, s string) {
	if plainYAML(s) {
		w.WriteString(s)
		return
	}
	w.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"' || r == '\\':
			w.WriteByte('\\')
			w.WriteRune(r)
		case r == '\n':
			w.WriteString(`\n`)
		case r == '\t':
			w.WriteString(`\t`)
		case r == '\r':
			w.WriteString(`\r`)
		case r == utf8.RuneError && size == 1:
			w.WriteString(`\uFFFD`)
		case r < 0x100 && !unicode.IsPrint(r) && r != ' ':
			w.WriteString(`\x`)
			w.WriteString(hex2(byte(r)))
		case !unicode.IsPrint(r) && r != ' ':
			if r > 0xFFFF {
				w.WriteString(`\U`)
				w.WriteString(leftPad(strconv.FormatInt(int64(r), 16), 8))
			} else {
				w.WriteString(`\u`)
				w.WriteString(leftPad(strconv.FormatInt(int64(r), 16), 4))
			}
		default:
			w.WriteRune(r)
		}
	}
	w.WriteByte('"')
}

func hex2(b byte) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func leftPad(s string, n int) string {
	return strings.Repeat("0", max(0, n-len(s))) + s
}

// plainYAML reports whether s can be written unquoted: printable ASCII
// without the characters that start or end YAML syntax, not empty, not
// padded with spaces, and not a word or number that a YAML 1.1 or 1.2
// reader resolves to another type (null, booleans such as yes and off,
// numbers, timestamps). It errs on the side of quoting.
func plainYAML(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7F || strings.IndexByte(":#{}[],&*!|>'\"%@`\\", c) >= 0 {
			return false
		}
	}
	switch c := s[0]; {
	case c == '-' || c == '?' || c == '~' || c == '=' || c == '<':
		return false
	case c >= '0' && c <= '9' || c == '+' || c == '.':
		// A number, a base-60 number or a timestamp in YAML 1.1 uses only
		// these characters (or starts 0x, 0o, 0b); "6ba85179" does not.
		l := strings.ToLower(s)
		if strings.Trim(l, "0123456789_.:+-e") == "" || strings.HasPrefix(l, "0x") || strings.HasPrefix(l, "0o") ||
			strings.HasPrefix(l, "0b") || strings.HasPrefix(l, ".inf") || strings.HasPrefix(l, "+.inf") || l == ".nan" {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	return true
}
