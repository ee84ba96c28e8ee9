package safetext

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Masker hides a set of secrets wherever they appear in a text, in one
// pass over the text however many secrets it holds, and keeps the text's
// width in characters, so that a caret under a masked source line still
// points at the right column:
//
//	"27848739-7e62-4138-9fd3-098a63964b6b" -> "2784****-****-****-****-********4b6b"
//
// A secret is found as a whole quoted string or word, also when it is
// written with escapes (`…4b6\u0062`) or, in YAML, unquoted after "key:";
// inside longer text (a path, a URL) when it is 8 to 64 bytes long; and any
// text shaped like a UUID is hidden whether or not it was added (a VLESS
// or Trojan credential, an id from a part that could not be parsed).
//
// The zero Masker masks UUID shapes only. A Masker is not safe for
// concurrent Add and Mask.
type Masker struct {
	exact map[string]struct{}
	// byLen holds the rolling hashes of the secrets of each length from
	// minInside to maxInside; lens lists those lengths in order.
	byLen map[int]*hashSet
	lens  []int
	// longest is the length of the longest secret, which bounds how far
	// a plain value is read.
	longest int
	// short has bit n set when a secret is n bytes long (n < 64), and
	// long lists the lengths of longer ones: a token of another length is
	// not looked up.
	short uint64
	long  map[int]bool
}

func (m *Masker) hasLen(n int) bool {
	if n < 64 {
		return m.short&(1<<n) != 0
	}
	return m.long[n]
}

// isSecret reports whether s is one of the secrets.
func (m *Masker) isSecret(s string) bool {
	if !m.hasLen(len(s)) {
		return false
	}
	_, ok := m.exact[s]
	return ok
}

// hashSet is a set of hashes with a bit filter in front: most positions of
// a text start no secret, and a bit test is much cheaper than a map.
type hashSet struct {
	bits [1 << 10]uint64 // bit h>>48 of each hash
	set  map[uint64]struct{}
}

func (hs *hashSet) add(h uint64) {
	hs.bits[h>>54] |= 1 << (h >> 48 & 63)
	hs.set[h] = struct{}{}
}

func (hs *hashSet) has(h uint64) bool {
	if hs.bits[h>>54]&(1<<(h>>48&63)) == 0 {
		return false
	}
	_, ok := hs.set[h]
	return ok
}

// Secrets shorter than minInside bytes are masked only as whole strings
// or words: a short name inside other text is too likely to be a
// coincidence. Longer than maxInside, likewise: the search inside text
// costs one pass per distinct length, so the lengths are bounded.
const (
	minInside = 8
	maxInside = 64
)

// Add makes s a secret. Adding a secret again costs nothing.
func (m *Masker) Add(s string) {
	if s == "" {
		return
	}
	if m.exact == nil {
		m.exact = make(map[string]struct{})
		m.byLen = make(map[int]*hashSet)
	}
	if _, dup := m.exact[s]; dup {
		return
	}
	m.exact[s] = struct{}{}
	m.longest = max(m.longest, len(s))
	if len(s) < 64 {
		m.short |= 1 << len(s)
	} else {
		if m.long == nil {
			m.long = make(map[int]bool)
		}
		m.long[len(s)] = true
	}
	if len(s) < minInside || len(s) > maxInside {
		return
	}
	hs := m.byLen[len(s)]
	if hs == nil {
		hs = &hashSet{set: make(map[uint64]struct{})}
		m.byLen[len(s)] = hs
		i, _ := slices.BinarySearch(m.lens, len(s))
		m.lens = slices.Insert(m.lens, i, len(s))
	}
	hs.add(hashOf(s))
}

// Len is the number of distinct secrets.
func (m *Masker) Len() int { return len(m.exact) }

// Mask returns s with every secret in it hidden.
func (m *Masker) Mask(s string) string {
	spans := m.Find(s)
	if len(spans) == 0 {
		return s
	}
	return HideIn(s, spans, 0, len(s))
}

// Span is a byte range [From, To) of a text that Mask hides.
type Span struct{ From, To int }

// Find returns the ranges of s that Mask hides, in order, merged where
// they overlap. With HideIn, a caller that shows several windows of one
// long text (source excerpts of a minified file) finds the secrets once,
// in the whole text, so that a window cannot cut a secret into parts that
// no longer look like it.
func (m *Masker) Find(s string) []Span {
	var spans []span
	if len(m.exact) > 0 {
		spans = m.tokens(s, spans)
		spans = m.inside(s, 0, spans)
	}
	spans = uuidShapes(s, spans)
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	out := make([]Span, 0, len(spans))
	for i := 0; i < len(spans); {
		from, to := spans[i].from, spans[i].to
		for i++; i < len(spans) && spans[i].from < to; i++ {
			to = max(to, spans[i].to)
		}
		out = append(out, Span{from, to})
	}
	return out
}

// HideIn returns s[from:to] with the secrets at spans (what Find returned
// for s) hidden as Mask hides them. A secret the window cuts shows, of the
// first and last four characters Mask keeps, only those inside the
// window. With no secret in the window it returns s[from:to] itself.
func HideIn(s string, spans []Span, from, to int) string {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].To > from })
	if i == len(spans) || spans[i].From >= to {
		return s[from:to]
	}
	var b strings.Builder
	b.Grow(to - from)
	at := from
	for ; i < len(spans) && spans[i].From < to; i++ {
		sp := spans[i]
		lo, hi := max(sp.From, at), min(sp.To, to)
		b.WriteString(s[at:lo])
		hide(&b, s[sp.From:sp.To], lo-sp.From, hi-sp.From)
		at = hi
	}
	b.WriteString(s[at:to])
	return b.String()
}

// span is a byte range [from, to) of text to hide.
type span struct{ from, to int }

// tokens finds secrets written as a whole quoted string, a word, or a
// YAML plain value after "key:".
func (m *Masker) tokens(s string, spans []span) []span {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			j := closingQuote(s, i)
			inner := s[i+1 : j]
			text, escaped := unquote(inner, c)
			if m.isSecret(text) {
				spans = append(spans, span{i + 1, j})
			} else if escaped && m.hasInside(text) {
				spans = append(spans, span{i + 1, j})
			}
			i = j + 1
		case c == ':' || c == '=':
			// A plain value runs to a comment, a flow delimiter or the
			// end: `id: my id`. It is read no further than the longest
			// secret (and some space), so a line of many colons costs
			// time in proportion to its length.
			j := i + 1
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if j > i+1 && j < len(s) && s[j] != '"' && s[j] != '\'' {
				end, limit := j, min(len(s), j+m.longest+16)
				for end < limit && s[end] != ',' && s[end] != '}' && s[end] != ']' && !(s[end] == '#' && s[end-1] == ' ') {
					end++
				}
				if end < limit || limit == len(s) {
					v := strings.TrimRight(s[j:end], " \t")
					if m.isSecret(v) {
						spans = append(spans, span{j, j + len(v)})
					}
				}
			}
			i++
		case isWordByte(c):
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if m.isSecret(s[i:j]) {
				spans = append(spans, span{i, j})
			}
			i = j
		default:
			i++
		}
	}
	return spans
}

// isWordByte tells the bytes of a bare word: not space, quote or JSON,
// YAML or TOML punctuation.
func isWordByte(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', ',', ':', '=', '[', ']', '{', '}', '#':
		return false
	}
	return true
}

// closingQuote returns the index of the quote that closes the string
// opening at s[i], or len(s) when the string runs to the end.
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q == '"' {
				j++
			}
		case q:
			if q == '\'' && j+1 < len(s) && s[j+1] == '\'' {
				j++ // YAML's '' inside single quotes
				continue
			}
			return j
		}
	}
	return len(s)
}

// unquote reads the inside of a quoted string as JSON, YAML or TOML would,
// as well as it can (an unknown escape is kept as written); escaped says
// whether the text differs from what is written.
func unquote(inner string, q byte) (text string, escaped bool) {
	if q == '\'' {
		if !strings.Contains(inner, "''") {
			return inner, false
		}
		return strings.ReplaceAll(inner, "''", "'"), true
	}
	if !strings.Contains(inner, `\`) {
		return inner, false
	}
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c != '\\' || i+1 >= len(inner) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := inner[i]; e {
		case '"', '\\', '/', '\'':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x', 'u', 'U':
			n := 2
			switch e {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			var v uint64
			err := strconv.ErrSyntax
			if i+1+n <= len(inner) {
				v, err = strconv.ParseUint(inner[i+1:i+1+n], 16, 32)
			}
			if err != nil {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			r := rune(v)
			i += n
			if utf16High(r) && i+7 <= len(inner) && inner[i+1] == '\\' && inner[i+2] == 'u' {
				if lo, err := strconv.ParseUint(inner[i+3:i+7], 16, 32); err == nil && utf16Low(rune(lo)) {
					r = (r-0xd800)<<10 | (rune(lo) - 0xdc00) + 0x10000
					i += 6
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String(), true
}

func utf16High(r rune) bool { return r >= 0xd800 && r < 0xdc00 }
func utf16Low(r rune) bool  { return r >= 0xdc00 && r < 0xe000 }

// hashBase is the multiplier of the rolling hash (arithmetic mod 2^64).
const hashBase = 1099511628211

func hashOf(s string) uint64 {
	var h uint64
	for i := 0; i < len(s); i++ {
		h = h*hashBase + uint64(s[i])
	}
	return h
}

// inside finds secrets of minInside to maxInside bytes anywhere in s, with
// one rolling hash per distinct length: O(len(s) × lengths), whatever the
// number of secrets. off is added to the spans.
func (m *Masker) inside(s string, off int, spans []span) []span {
	for _, l := range m.lens {
		if l > len(s) {
			break
		}
		hs := m.byLen[l]
		pow := uint64(1)
		for i := 1; i < l; i++ {
			pow *= hashBase
		}
		h := hashOf(s[:l])
		for i := 0; ; i++ {
			if hs.has(h) {
				if _, ok := m.exact[s[i:i+l]]; ok {
					spans = append(spans, span{off + i, off + i + l})
				}
			}
			if i+l >= len(s) {
				break
			}
			h = (h-uint64(s[i])*pow)*hashBase + uint64(s[i+l])
		}
	}
	return spans
}

// hasInside reports whether a secret occurs in s.
func (m *Masker) hasInside(s string) bool {
	if m.isSecret(s) {
		return true
	}
	return len(m.inside(s, 0, nil)) > 0
}

// uuidShapes finds UUID-looking text: a word of 32 hex digits in groups
// of 8-4-4-4-12, each dash optional (the regular expression
// \b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b,
// case-insensitive, matched by hand: a regexp is several times slower).
func uuidShapes(s string, spans []span) []span {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) || (i > 0 && isWordChar(s[i-1])) {
			continue
		}
		if j := uuidAt(s, i); j > 0 {
			spans = append(spans, span{i, j})
			i = j - 1
		}
	}
	return spans
}

// uuidAt returns the end of the UUID shape that starts at s[i], or 0.
func uuidAt(s string, i int) int {
	for g, n := range [...]int{8, 4, 4, 4, 12} {
		if g > 0 && i < len(s) && s[i] == '-' {
			i++
		}
		for k := 0; k < n; k++ {
			if i >= len(s) || !isHex(s[i]) {
				return 0
			}
			i++
		}
	}
	if i < len(s) && isWordChar(s[i]) {
		return 0
	}
	return i
}

// isWordChar is regexp's \w: ASCII letters, digits and underscore.
func isWordChar(c byte) bool {
	return isHex(c) || c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z' || c == '_'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// hide writes the bytes [from, to) of secret with every character but
// dashes turned into '*', keeping the first and last four characters of a
// secret of 16 characters or more: enough to tell ids apart, too little
// to use one.
func hide(b *strings.Builder, secret string, from, to int) {
	n := utf8.RuneCountInString(secret)
	keep := 4
	if n < 16 {
		keep = 0
	}
	for i, j := 0, 0; j < to; i++ {
		r, size := utf8.DecodeRuneInString(secret[j:])
		switch {
		case j < from:
		case i < keep || i >= n-keep:
			b.WriteString(secret[j : j+size])
		case r == '-':
			b.WriteByte('-')
		default:
			b.WriteByte('*')
		}
		j += size
	}
}
