package schema

import (
	"bytes"
	"sort"
	"unicode/utf8"
)

// Unit is what a column counts.
type Unit uint8

// The units of a column.
const (
	// Runes counts characters (Unicode code points), as Pos.Col does and
	// as LSP's "utf-32" encoding does.
	Runes Unit = iota
	// UTF16 counts UTF-16 code units (two for a character outside the
	// Basic Multilingual Plane): LSP's default encoding.
	UTF16
	// Bytes counts bytes: LSP's "utf-8" encoding.
	Bytes
)

// Lines indexes the lines of a source once, so that a position (line and
// column) becomes a byte offset, and a byte offset a position, in time
// that does not grow with the length of the line: a minified config is one
// long line, and walking it from its start for every token or finding
// costs the square of its length. The loaders position the tree with it,
// lint locates fixes and cuts source excerpts with it, and the language
// server converts its positions with it.
//
// A line that is ASCII maps columns to bytes directly. A longer line that
// is not keeps the byte offset and the UTF-16 count of every 64th
// character, made on first use; a short one is walked. A Lines is not safe
// for concurrent use (it caches the last line looked up and those marks).
type Lines struct {
	src    []byte
	starts []int  // the offset of each line's first byte
	ascii  []bool // whether each line is ASCII
	marks  map[int]*lineMarks
	last   int // the line of the last lookup by offset
}

// lineMarks are the marks of one long line that is not ASCII.
type lineMarks struct {
	off   []int // byte offset of characters 0, markEvery, 2·markEvery …
	units []int // UTF-16 code units before each of them
}

// markEvery is how many characters lie between two marks; a line longer
// than markLine bytes gets marks.
const (
	markEvery = 64
	markLine  = 256
)

// NewLines indexes the lines of src. Lines end at "\n"; a "\r" before it
// is part of the line's text for Pos and Offset (the loaders count it as a
// column) and not for AtColumn's clamping.
func NewLines(src []byte) *Lines {
	n := 1 + bytes.Count(src, []byte{'\n'})
	x := &Lines{src: src, starts: make([]int, 1, n), ascii: make([]bool, 0, n)}
	ascii := true
	for i, c := range src {
		switch {
		case c == '\n':
			x.ascii = append(x.ascii, ascii)
			x.starts = append(x.starts, i+1)
			ascii = true
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	x.ascii = append(x.ascii, ascii)
	return x
}

// Count is the number of lines (one more than the number of "\n").
func (x *Lines) Count() int { return len(x.starts) }

// Bounds returns the offset of the first byte of line i (0-based) and the
// offset of the "\n" that ends it (len(src) on the last line).
func (x *Lines) Bounds(i int) (start, end int) {
	if i+1 < len(x.starts) {
		return x.starts[i], x.starts[i+1] - 1
	}
	return x.starts[i], len(x.src)
}

// Text returns line n (1-based) without its line break and a "\r" before
// it, or nil when out of range. It shares the source's bytes.
func (x *Lines) Text(n int) []byte {
	if n < 1 || n > len(x.starts) {
		return nil
	}
	start, end := x.Bounds(n - 1)
	if end > start && x.src[end-1] == '\r' {
		end--
	}
	return x.src[start:end]
}

// LineOf returns the line (0-based) that holds byte offset off, clamped
// to the source.
func (x *Lines) LineOf(off int) int {
	off = max(0, min(off, len(x.src)))
	// Lookups mostly move forward through a source: try the last line and
	// the next before searching.
	if i := x.last; x.starts[i] <= off {
		for k := 0; k < 2 && i < len(x.starts); k, i = k+1, i+1 {
			if i+1 == len(x.starts) || off < x.starts[i+1] {
				x.last = i
				return i
			}
		}
	}
	i := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off }) - 1
	x.last = i
	return i
}

// Offset returns the byte offset of p (1-based line, column in
// characters); ok is false when p is not in the source. A column may point
// just past the last character of its line.
func (x *Lines) Offset(p Pos) (int, bool) {
	line, want := int(p.Line)-1, int(p.Col)-1
	if line < 0 || line >= len(x.starts) || want < 0 {
		return 0, false
	}
	start, end := x.Bounds(line)
	off, col := x.seek(line, start, end, want, Runes)
	return off, col == want
}

// Pos returns the position (1-based line, column in characters) of byte
// offset off, clamped to the source.
func (x *Lines) Pos(off int) Pos {
	line, col := x.Column(off, Runes)
	return Pos{Line: int32(line + 1), Col: int32(col + 1)}
}

// Column returns the line (0-based) of byte offset off, clamped to the
// source, and its column (0-based) in unit u: how many characters, UTF-16
// code units or bytes of the line come before it. An offset inside a
// character counts that character as before it.
func (x *Lines) Column(off int, u Unit) (line, col int) {
	off = max(0, min(off, len(x.src)))
	line = x.LineOf(off)
	start := x.starts[line]
	if u == Bytes || x.ascii[line] {
		return line, off - start
	}
	from, n := start, 0
	if _, end := x.Bounds(line); end-start > markLine {
		m := x.marksOf(line, start, end)
		k := sort.SearchInts(m.off, off+1) - 1 // the last mark at or before off
		from, n = m.off[k], k*markEvery
		if u == UTF16 {
			n = m.units[k]
		}
	}
	for from < off {
		r, size := utf8.DecodeRune(x.src[from:])
		from += size
		n += width(r, size, u)
	}
	return line, n
}

// AtColumn returns the byte offset of column col (0-based, in unit u) of
// line (0-based). A line past the last gives the end of the source; a
// column past the end of the line's text gives the end of the text
// (before "\r\n" or "\n"); a column inside a character (half of a UTF-16
// surrogate pair) gives the offset before it. This is how the Language
// Server Protocol asks positions to be read.
func (x *Lines) AtColumn(line, col int, u Unit) int {
	if line < 0 {
		return 0
	}
	if line >= len(x.starts) {
		return len(x.src)
	}
	start, end := x.Bounds(line)
	if end > start && x.src[end-1] == '\r' && end < len(x.src) {
		end--
	}
	if x.ascii[line] {
		return start + max(0, min(col, end-start))
	}
	off, _ := x.seek(line, start, end, max(col, 0), u)
	return off
}

// seek walks line (bytes [start, end)) to column col in unit u and returns
// the offset reached and the column there: col itself, or less at the end
// of the line or before a character that would pass col.
func (x *Lines) seek(line, start, end, col int, u Unit) (off, at int) {
	if x.ascii[line] {
		off = min(start+col, end)
		return off, off - start
	}
	off = start
	if u == Bytes {
		// Straight to the column, then back to the start of the character
		// it falls in.
		off = start + min(col, end-start)
		for p := off - 1; p >= max(start, off-3); p-- {
			if utf8.RuneStart(x.src[p]) {
				if _, size := utf8.DecodeRune(x.src[p:end]); p+size > off {
					off = p // inside the character at p
				}
				break
			}
		}
		return off, off - start
	}
	if end-start > markLine {
		m := x.marksOf(line, start, end)
		var k int
		if u == UTF16 {
			k = sort.SearchInts(m.units, col+1) - 1
			at = m.units[k]
		} else {
			k = min(col/markEvery, len(m.off)-1)
			at = k * markEvery
		}
		off = m.off[k]
	}
	for off < end {
		r, size := utf8.DecodeRune(x.src[off:end])
		w := width(r, size, u)
		if at+w > col {
			break
		}
		off += size
		at += w
	}
	return off, at
}

// marksOf returns the marks of a long line, made on first use.
func (x *Lines) marksOf(line, start, end int) *lineMarks {
	if m := x.marks[line]; m != nil {
		return m
	}
	m := &lineMarks{}
	units := 0
	for off, k := start, 0; off < end; k++ {
		r, size := utf8.DecodeRune(x.src[off:end])
		if k%markEvery == 0 {
			m.off = append(m.off, off)
			m.units = append(m.units, units)
		}
		off += size
		units += width(r, size, UTF16)
	}
	if len(m.off) == 0 {
		m.off, m.units = []int{start}, []int{0}
	}
	if x.marks == nil {
		x.marks = make(map[int]*lineMarks)
	}
	x.marks[line] = m
	return m
}

// width is how many units of u character r, read from size bytes, takes.
func width(r rune, size int, u Unit) int {
	switch {
	case u == Bytes:
		return size
	case u == UTF16 && r >= 0x10000:
		return 2
	}
	return 1
}
