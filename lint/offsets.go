package lint

import (
	"bytes"
	"sort"
	"unicode/utf8"

	"github.com/xvmtools/xvm/schema"
)

// posIndex turns positions (1-based line and character column) into byte
// offsets of a source and back to lines, in time that does not grow with
// the column: a minified file is one long line, and walking it from its
// start for every finding made fixes cost the square of its length. Lines
// are indexed once; a line that is ASCII maps columns to bytes directly,
// and a long line that is not gets the offset of every 64th character,
// made on first use.
type posIndex struct {
	src    []byte
	starts []int  // byte offset of each line start
	ascii  []bool // whether each line is ASCII
	every  map[int][]int
}

func newPosIndex(src []byte) *posIndex {
	n := 1 + bytes.Count(src, []byte{'\n'})
	x := &posIndex{src: src, starts: make([]int, 1, n), ascii: make([]bool, 0, n)}
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

// lineEnd is the offset of the line break that ends line i (0-based), or
// len(src) on the last line.
func (x *posIndex) lineEnd(i int) int {
	if i+1 < len(x.starts) {
		return x.starts[i+1] - 1
	}
	return len(x.src)
}

// offset returns the byte offset of p; ok is false when p is not in the
// source. A column may point just past the last character of its line.
func (x *posIndex) offset(p schema.Pos) (int, bool) {
	if p.Line < 1 || p.Line > len(x.starts) || p.Col < 1 {
		return 0, false
	}
	i := p.Line - 1
	start, end := x.starts[i], x.lineEnd(i)
	if x.ascii[i] {
		off := start + p.Col - 1
		return off, off <= end
	}
	col, off := 1, start
	if end-start > 256 {
		every := x.every[i]
		if every == nil {
			for o, k := start, 0; o < end; k++ {
				if k%64 == 0 {
					every = append(every, o)
				}
				_, n := utf8.DecodeRune(x.src[o:end])
				o += n
			}
			if x.every == nil {
				x.every = make(map[int][]int)
			}
			x.every[i] = every
		}
		k := min((p.Col-1)/64, len(every)-1)
		col, off = 1+64*k, every[k]
	}
	for ; col < p.Col; col++ {
		if off >= end {
			return 0, false
		}
		_, n := utf8.DecodeRune(x.src[off:end])
		off += n
	}
	return off, true
}

// lineOf returns the start of the line holding off and the offset of the
// line break that ends it (len(src) on the last line).
func (x *posIndex) lineOf(off int) (start, end int) {
	i := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off }) - 1
	return x.starts[i], x.lineEnd(i)
}
