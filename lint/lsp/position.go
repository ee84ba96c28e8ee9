package lsp

import (
	"github.com/xvmtools/xvm/schema"
)

// encoding is how the client counts characters within a line: LSP's
// default is UTF-16 code units; a 3.17 client may offer UTF-8 bytes or
// UTF-32 code points instead.
type encoding int

const (
	utf16 encoding = iota
	utf8Bytes
	utf32
)

func (e encoding) String() string {
	switch e {
	case utf8Bytes:
		return "utf-8"
	case utf32:
		return "utf-32"
	}
	return "utf-16"
}

// pickEncoding chooses from what the client offers, preferring UTF-16,
// which every client supports and the protocol requires as the default.
func pickEncoding(offered []string) encoding {
	if len(offered) == 0 {
		return utf16
	}
	for _, o := range offered {
		if o == "utf-16" {
			return utf16
		}
	}
	switch offered[0] {
	case "utf-8":
		return utf8Bytes
	case "utf-32":
		return utf32
	}
	return utf16
}

// unit is the schema.Unit the encoding counts in.
func (e encoding) unit() schema.Unit {
	switch e {
	case utf8Bytes:
		return schema.Bytes
	case utf32:
		return schema.Runes
	}
	return schema.UTF16
}

// text is a document's bytes with its lines indexed once (schema.Lines),
// for turning positions into offsets and back in time that does not grow
// with the length of a line: the findings of a minified config all lie on
// one line.
type text struct {
	src   []byte
	lines *schema.Lines
	unit  schema.Unit
}

func newText(src []byte, enc encoding) *text {
	return &text{src: src, lines: schema.NewLines(src), unit: enc.unit()}
}

// offset turns an LSP position into a byte offset. Positions past the end
// of a line or of the text are clamped, as the protocol asks.
func (t *text) offset(p position) int {
	return t.lines.AtColumn(p.Line, p.Character, t.unit)
}

// position turns a byte offset into an LSP position.
func (t *text) position(off int) position {
	line, col := t.lines.Column(off, t.unit)
	return position{Line: line, Character: col}
}

// byteOf turns a loader position (1-based line, column in code points)
// into a byte offset, clamped as offset clamps.
func (t *text) byteOf(p schema.Pos) int {
	if p.Line < 1 {
		return 0
	}
	return t.lines.AtColumn(int(p.Line)-1, int(p.Col)-1, schema.Runes)
}

// span is the LSP range of [from, to); an invalid or backwards end gives
// a one-character range.
func (t *text) span(from, to schema.Pos) lspRange {
	start := t.byteOf(from)
	end := start + 1
	if to.IsValid() && !to.Less(from) && to != from {
		end = t.byteOf(to)
	}
	end = min(end, len(t.src))
	return lspRange{Start: t.position(start), End: t.position(max(end, start))}
}

// rangeOf is the LSP range of the bytes [from, to).
func (t *text) rangeOf(from, to int) lspRange {
	return lspRange{Start: t.position(from), End: t.position(to)}
}
