package lint

import (
	"unicode"
	"unicode/utf8"
)

// didYouMean returns the candidate closest to s (case-insensitive edit
// distance), or "" when none is close enough to be a plausible typo.
func didYouMean(s string, candidates []string) string {
	return newSuggester(candidates).suggest(s)
}

// suggester answers did-you-mean questions against one list of
// candidates, indexed by length: a candidate whose length differs from
// the query's by more than the edit limit cannot be within it, so only
// the candidates of nearby lengths are compared, and at most maxCompared
// of them. A document with many tags and many bad tag references then
// costs time in proportion to its size, not to their product.
type suggester struct {
	byLen map[int][]string // candidates by length in runes, in list order
	order []string         // the list, for small lists
}

// maxCompared bounds the candidates one question to a long list
// compares: a long list is scanned from the nearest lengths out, and a
// typo is most often one edit away, so a close candidate tends to come
// early; past that, a suggestion is not worth the time.
const maxCompared = 32

// shortList is the length up to which a list is compared whole, in order.
const shortList = 256

func newSuggester(candidates []string) *suggester {
	if len(candidates) <= shortList {
		return &suggester{order: candidates}
	}
	byLen := make(map[int][]string)
	for _, c := range candidates {
		n := utf8.RuneCountInString(c)
		byLen[n] = append(byLen[n], c)
	}
	return &suggester{byLen: byLen}
}

// typoLimit is the edit distance up to which a candidate is a plausible
// typo of s: a third of its length, at least 1 and at most 3.
func typoLimit(s string) int {
	return min(max(len(s)/3, 1), 3)
}

func (g *suggester) suggest(s string) string {
	limit := typoLimit(s)
	var d distance
	n := foldRunes(s, &d.q)
	if n < 0 {
		return "" // longer than any plausible key or tag
	}
	d.nq = n
	best, bestD := "", limit+1
	consider := func(c string) {
		if v := d.to(c, bestD); v < bestD {
			best, bestD = c, v
		}
	}
	if g.byLen == nil {
		// A short list, compared in order, so the first of equally close
		// candidates wins.
		for _, c := range g.order {
			if abs(utf8.RuneCountInString(c)-n) <= limit {
				consider(c)
			}
		}
		return best
	}
	compared := 0
	for diff := 0; diff <= limit && bestD > diff; diff++ {
		for _, l := range []int{n - diff, n + diff} {
			for _, c := range g.byLen[l] {
				if compared == maxCompared || bestD <= diff {
					return best
				}
				compared++
				consider(c)
			}
			if diff == 0 {
				break
			}
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// distance measures optimal string alignment distances (Levenshtein with
// transpositions, ignoring case, so "secuirty" is one edit from
// "security") from one query, folded once, with its rows reused. Strings
// of more than 64 characters are not compared.
type distance struct {
	q    [64]rune
	nq   int
	c    [64]rune
	rows [3][65]int
}

// to returns the distance from the query to c, or bound (or more) when it
// is bound or more: the caller only wants closer ones.
func (d *distance) to(c string, bound int) int {
	na, nb := d.nq, foldRunes(c, &d.c)
	if nb < 0 {
		return 1 << 20
	}
	if abs(na-nb) >= bound {
		return bound
	}
	ra, rb := &d.q, &d.c
	prev2, prev, cur := &d.rows[0], &d.rows[1], &d.rows[2]
	for j := 0; j <= nb; j++ {
		prev[j] = j
	}
	for i := 1; i <= na; i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= nb; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > bound {
			return bound // every alignment is already too far
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[nb]
}

// foldRunes writes the lower-cased runes of s into buf and returns how
// many, or -1 when s has more than len(buf).
func foldRunes(s string, buf *[64]rune) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return foldSlow(s, buf)
		}
		if n == len(buf) {
			return -1
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = rune(c)
		n++
	}
	return n
}

func foldSlow(s string, buf *[64]rune) int {
	n := 0
	for _, r := range s {
		if n == len(buf) {
			return -1
		}
		buf[n] = unicode.ToLower(r)
		n++
	}
	return n
}
