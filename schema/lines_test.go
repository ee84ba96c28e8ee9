package schema

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// naiveLines answers what Lines answers by walking the source from its
// start, as the code before Lines did.
type naiveLines struct{ src []byte }

func (n naiveLines) lines() [][2]int {
	var out [][2]int
	start := 0
	for i, c := range n.src {
		if c == '\n' {
			out = append(out, [2]int{start, i})
			start = i + 1
		}
	}
	return append(out, [2]int{start, len(n.src)})
}

func (n naiveLines) width(r rune, size int, u Unit) int {
	switch {
	case u == Bytes:
		return size
	case u == UTF16 && r >= 0x10000:
		return 2
	}
	return 1
}

func (n naiveLines) column(off int, u Unit) (int, int) {
	for i, l := range n.lines() {
		if off >= l[0] && (off <= l[1]) {
			col := 0
			for at := l[0]; at < off; {
				r, size := utf8.DecodeRune(n.src[at:])
				col += n.width(r, size, u)
				at += size
			}
			return i, col
		}
	}
	return -1, -1
}

func (n naiveLines) atColumn(line, col int, u Unit) int {
	ls := n.lines()
	if line >= len(ls) {
		return len(n.src)
	}
	start, end := ls[line][0], ls[line][1]
	if end > start && n.src[end-1] == '\r' && end < len(n.src) {
		end--
	}
	at, units := start, 0
	for at < end {
		r, size := utf8.DecodeRune(n.src[at:end])
		w := n.width(r, size, u)
		if units+w > col {
			break
		}
		units += w
		at += size
	}
	return at
}

// randomSource makes lines of mixed ASCII, two- and three-byte characters,
// characters outside the BMP, invalid bytes and CRLF endings, some of them
// long enough to get marks.
func randomSource(r *rand.Rand) []byte {
	pieces := []string{"a", "b", " ", "\"", "é", "中", "😀", "\xff", "\x80", "\xe4\xb8", "\r\n", "\n", "\r"}
	var b strings.Builder
	n := r.Intn(3000)
	for i := 0; i < n; i++ {
		p := pieces[r.Intn(len(pieces))]
		if (p == "\n" || p == "\r\n") && r.Intn(20) != 0 {
			p = "x"
		}
		b.WriteString(p)
	}
	return []byte(b.String())
}

func TestLinesAgreeWithAWalk(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		src := randomSource(r)
		x, nv := NewLines(src), naiveLines{src}
		ls := nv.lines()
		if x.Count() != len(ls) {
			t.Fatalf("Count %d, want %d", x.Count(), len(ls))
		}
		// Offsets in a random order, so that the cached line is tried
		// both ways.
		for k := 0; k < 200; k++ {
			off := r.Intn(len(src) + 1)
			for off < len(src) && off > 0 && !utf8.RuneStart(src[off]) {
				off--
			}
			for _, u := range []Unit{Runes, UTF16, Bytes} {
				gl, gc := x.Column(off, u)
				wl, wc := nv.column(off, u)
				if gl != wl || gc != wc {
					t.Fatalf("Column(%d, %d) = %d:%d, want %d:%d in %q", off, u, gl, gc, wl, wc, src)
				}
			}
			p := x.Pos(off)
			if back, ok := x.Offset(p); !ok || back != off {
				t.Fatalf("Offset(Pos(%d) = %v) = %d, %v", off, p, back, ok)
			}
		}
		for k := 0; k < 200; k++ {
			line, col := r.Intn(len(ls)+1), r.Intn(400)
			for _, u := range []Unit{Runes, UTF16, Bytes} {
				if got, want := x.AtColumn(line, col, u), nv.atColumn(line, col, u); got != want {
					t.Fatalf("AtColumn(%d, %d, %d) = %d, want %d in %q", line, col, u, got, want, src)
				}
			}
			if line < len(ls) {
				_, want := nv.column(ls[line][1], Runes)
				_, ok := x.Offset(Pos{Line: int32(line + 1), Col: int32(col + 1)})
				if ok != (col <= want) {
					t.Fatalf("Offset(%d:%d) ok %v, line has %d characters", line+1, col+1, ok, want)
				}
			}
		}
		for n := 0; n <= len(ls)+1; n++ {
			var want string
			if n >= 1 && n <= len(ls) {
				want = strings.TrimSuffix(string(src[ls[n-1][0]:ls[n-1][1]]), "\r")
			}
			if got := string(x.Text(n)); got != want {
				t.Fatalf("Text(%d) = %q, want %q", n, got, want)
			}
		}
	}
}

// TestLinesSurrogatePair: a UTF-16 column inside a character outside the
// BMP gives the offset before it.
func TestLinesSurrogatePair(t *testing.T) {
	x := NewLines([]byte("a😀b"))
	for col, want := range []int{0, 1, 1, 5, 6, 6} {
		if got := x.AtColumn(0, col, UTF16); got != want {
			t.Errorf("AtColumn(0, %d) = %d, want %d", col, got, want)
		}
	}
}

// BenchmarkLinesLongLine converts every offset of one long line that is
// not ASCII, at doubling lengths: the time per conversion must stay flat.
func BenchmarkLinesLongLine(b *testing.B) {
	for _, n := range []int{10_000, 20_000, 40_000, 80_000} {
		src := []byte(strings.Repeat("é😀ab", n/4))
		b.Run("chars="+itoa(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				x := NewLines(src)
				for off := 0; off < len(src); off += 97 {
					_, col := x.Column(off, UTF16)
					_ = x.AtColumn(0, col, UTF16)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(src)/97), "ns/conversion")
		})
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
