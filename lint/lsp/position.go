package lsp

import (
	"bytes"
	"unicode/utf8"

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

// text is a document's bytes with the offset of each line, for turning
// positions into offsets and back.
type text struct {
	src    []byte
	starts []int
	enc    encoding
}

func newText(src []byte, enc encoding) *text {
	starts := make([]int, 1, 1+bytes.Count(src, []byte{'\n'}))
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &text{src: src, starts: starts, enc: enc}
}

// lineEnd is the offset of line i's line break (or the end of the text).
func (t *text) lineEnd(i int) int {
	if i+1 < len(t.starts) {
		end := t.starts[i+1] - 1
		if end > t.starts[i] && t.src[end-1] == '\r' {
			end--
		}
		return end
	}
	return len(t.src)
}

// offset turns an LSP position into a byte offset. Positions past the end
// of a line or of the text are clamped, as the protocol asks.
func (t *text) offset(p position) int {
	if p.Line < 0 {
		return 0
	}
	if p.Line >= len(t.starts) {
		return len(t.src)
	}
	off, end := t.starts[p.Line], t.lineEnd(p.Line)
	for units := 0; off < end && units < p.Character; {
		r, n := utf8.DecodeRune(t.src[off:end])
		units += t.width(r, n)
		if units > p.Character {
			break // inside a surrogate pair: stay before it
		}
		off += n
	}
	return off
}

func (t *text) width(r rune, n int) int {
	switch t.enc {
	case utf8Bytes:
		return n
	case utf32:
		return 1
	}
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// position turns a byte offset into an LSP position.
func (t *text) position(off int) position {
	off = max(0, min(off, len(t.src)))
	lo, hi := 0, len(t.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if t.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	units := 0
	for i := t.starts[lo]; i < off; {
		r, n := utf8.DecodeRune(t.src[i:off])
		units += t.width(r, n)
		i += n
	}
	return position{Line: lo, Character: units}
}

// byteOf turns a loader position (1-based line, column in code points)
// into a byte offset.
func (t *text) byteOf(p schema.Pos) int {
	if p.Line < 1 {
		return 0
	}
	if p.Line > len(t.starts) {
		return len(t.src)
	}
	off, end := t.starts[p.Line-1], t.lineEnd(p.Line-1)
	for col := 1; col < p.Col && off < end; col++ {
		_, n := utf8.DecodeRune(t.src[off:end])
		off += n
	}
	return off
}

// fromPos turns a loader position into an LSP position.
func (t *text) fromPos(p schema.Pos) position { return t.position(t.byteOf(p)) }

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
