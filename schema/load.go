package schema

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Limits that keep hostile input from exhausting memory or the stack.
const (
	// MaxDepth is the deepest nesting of arrays and objects Load accepts.
	MaxDepth = 512
	// MaxNodes bounds the values a document may expand to (YAML aliases
	// can make a small file describe a huge tree).
	MaxNodes = 2_000_000
	// MaxSize is the largest input Load accepts, in bytes.
	MaxSize = 64 << 20
)

// SyntaxError is a document that could not be parsed. It says where.
type SyntaxError struct {
	File string
	Pos  Pos
	Msg  string
}

// Error formats the error as file:line:col: message.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// ErrTooLarge is returned for inputs over MaxSize.
var ErrTooLarge = errors.New("schema: input is larger than 64 MiB; split it into several files")

// FormatOf picks the format from a file name's extension: .yaml/.yml are
// YAML, .toml is TOML, everything else (.json, .jsonc, stdin) is JSON
// unless the content says otherwise (see Sniff).
func FormatOf(name string, data []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return YAML
	case ".toml":
		return TOML
	case ".json", ".jsonc":
		return JSON
	}
	return Sniff(data)
}

// Sniff guesses the format of content with no telling file name (stdin):
// JSON when the first significant character opens an object or array,
// TOML when the first line is a [table] header or key = value, else YAML.
func Sniff(data []byte) Format {
	rest := data
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || bytes.HasPrefix(t, []byte("//")) || bytes.HasPrefix(t, []byte("/*")) {
			continue
		}
		switch {
		case t[0] == '{':
			return JSON
		case t[0] == '[':
			// "[[outbounds]]" or "[outbounds.settings]" is TOML; "[" or
			// "[{" or "[ \"x\"" is JSON.
			inner := bytes.TrimSpace(bytes.Trim(t, "[]"))
			if len(inner) > 0 && !bytes.ContainsAny(inner, "{\"'") && bytes.HasSuffix(t, []byte("]")) && !bytes.ContainsAny(inner, ",") {
				return TOML
			}
			return JSON
		case bytes.Contains(t, []byte(" = ")) || (bytes.IndexByte(t, '=') > 0 && bytes.IndexByte(t, ':') < 0):
			return TOML
		}
		return YAML
	}
	return JSON
}

// Load parses data into a positioned Document. The format comes from
// FormatOf(name, data). Parse errors are *SyntaxError values.
func Load(name string, data []byte) (*Document, error) {
	return LoadFormat(name, FormatOf(name, data), data)
}

// LoadFormat is Load with the format given.
func LoadFormat(name string, f Format, data []byte) (*Document, error) {
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	doc := &Document{Name: name, Format: f, Source: data, lines: NewLines(data)}
	var err error
	switch f {
	case YAML:
		doc.Root, err = parseYAML(name, data)
	case TOML:
		doc.Root, err = parseTOML(name, data, doc.lines)
	default:
		doc.Format = JSON
		doc.Root, doc.Trailing, err = parseJSON(name, data, doc.lines)
	}
	if err != nil {
		return nil, err
	}
	return doc, nil
}
