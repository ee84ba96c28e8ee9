package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/xvmtools/xvm/schema"
)

// Edit replaces the source bytes [Start, End) with New. Offsets are byte
// offsets into the document the diagnostic came from; an insertion has
// Start == End.
type Edit struct {
	Start, End int
	New        string
}

// Fix is a mechanical change that resolves one finding. It is a list of
// byte edits at the positions the loader found, never a re-serialisation,
// so comments, key order, indentation and line endings stay as written.
// Rules offer one only when it cannot change the meaning beyond what the
// finding says.
type Fix struct {
	// Title says what the fix does, in the words an editor shows for a
	// code action.
	Title string
	Edits []Edit

	// scope is the byte range of the source the fix may change the meaning
	// of (a renamed key's whole member, say): a finding that appears there
	// after the fix is the fix's doing.
	scope [2]int
	// exposes marks a fix that makes an unreadable document readable: what
	// lint then finds was there before, hidden by the syntax error.
	exposes bool
}

// span returns the first and last byte the fix touches.
func (f *Fix) span() (int, int) {
	lo, hi := f.Edits[0].Start, f.Edits[0].End
	for _, e := range f.Edits[1:] {
		lo, hi = min(lo, e.Start), max(hi, e.End)
	}
	return lo, hi
}

// wellFormed reports whether every edit runs forwards and none overlaps
// another edit of the same fix.
func (f *Fix) wellFormed() bool {
	if len(f.Edits) == 1 {
		return f.Edits[0].Start <= f.Edits[0].End
	}
	es := append([]Edit(nil), f.Edits...)
	sort.Slice(es, func(i, j int) bool { return es[i].Start < es[j].Start })
	for i, e := range es {
		if e.Start > e.End || i > 0 && e.Start < es[i-1].End {
			return false
		}
	}
	return true
}

// ApplyFixes applies the fixes of ds to src and returns the new source and
// the diagnostics whose fixes were applied. A fix whose span overlaps an
// earlier one is left out (the next pass of FixBytes applies it to the new
// text); so are fixes with edits outside src.
func ApplyFixes(src []byte, ds []Diagnostic) ([]byte, []Diagnostic) {
	out, applied, _ := applyFixes(src, ds)
	return out, applied
}

// applyFixes is ApplyFixes that also returns the edits it made, sorted, for
// mapping offsets of the new text back to the old.
func applyFixes(src []byte, ds []Diagnostic) ([]byte, []Diagnostic, []Edit) {
	type cand struct {
		d      Diagnostic
		lo, hi int
	}
	var cands []cand
	for _, d := range ds {
		if d.Fix == nil || len(d.Fix.Edits) == 0 {
			continue
		}
		lo, hi := d.Fix.span()
		if lo < 0 || hi > len(src) || !d.Fix.wellFormed() {
			continue
		}
		cands = append(cands, cand{d, lo, hi})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].lo < cands[j].lo })
	var edits []Edit
	var applied []Diagnostic
	// Candidates are sorted by where they start, so a fix is clear of all
	// accepted ones when it starts after the furthest end so far. A fix
	// occupies its whole span; two insertions at one offset, or an
	// insertion where a replacement ends, would depend on order.
	lastLo, lastHi := -1, -1
	for _, c := range cands {
		if c.lo < lastHi || c.lo == lastHi && (c.lo == c.hi || lastLo == lastHi) {
			continue
		}
		lastLo, lastHi = c.lo, max(c.hi, lastHi)
		edits = append(edits, c.d.Fix.Edits...)
		applied = append(applied, c.d)
	}
	if len(edits) == 0 {
		return src, nil, nil
	}
	sort.Slice(edits, func(i, j int) bool {
		if edits[i].Start != edits[j].Start {
			return edits[i].Start < edits[j].Start
		}
		return edits[i].End < edits[j].End
	})
	grow := 0
	for _, e := range edits {
		grow += len(e.New) - (e.End - e.Start)
	}
	out := make([]byte, 0, len(src)+max(grow, 0))
	at := 0
	for _, e := range edits {
		out = append(out, src[at:e.Start]...)
		out = append(out, e.New...)
		at = e.End
	}
	out = append(out, src[at:]...)
	return out, applied, edits
}

// editMap maps offsets of an edited text back to its source by binary
// search, for the many findings of one fixed document: the edits are
// sorted and do not overlap, so at most the last edit that starts before
// an offset can hold it.
type editMap struct {
	edits []Edit
	// newStart and newEnd are where each edit's text lies in the edited
	// text; shift is how far the text after it moved.
	newStart, newEnd, shift []int
}

func newEditMap(edits []Edit) *editMap {
	m := &editMap{edits: edits, newStart: make([]int, len(edits)), newEnd: make([]int, len(edits)), shift: make([]int, len(edits))}
	shift := 0
	for i, e := range edits {
		m.newStart[i] = e.Start + shift
		m.newEnd[i] = m.newStart[i] + len(e.New)
		shift += len(e.New) - (e.End - e.Start)
		m.shift[i] = shift
	}
	return m
}

func (m *editMap) old(off int) int {
	k := sort.SearchInts(m.newStart, off+1) // edits that start at or before off
	if k == 0 {
		return off
	}
	if off < m.newEnd[k-1] {
		return m.edits[k-1].Start
	}
	return off - m.shift[k-1]
}

// FixResult is what FixBytes did to one document.
type FixResult struct {
	// Source is the fixed document; it is the input when nothing was fixed.
	Source []byte
	// Fixed are the findings the applied fixes resolved, as reported on the
	// text each pass started from.
	Fixed []Diagnostic
	// Remaining are the findings of the fixed document.
	Remaining []Diagnostic
	// Withheld are fixes xvm did not apply because linting the result found
	// something new where they edit (a renamed key whose value is wrong
	// under its new name, say). Editors still offer them.
	Withheld []Diagnostic
}

// Changed reports whether the fixes changed the document.
func (r FixResult) Changed() bool { return len(r.Fixed) > 0 }

// The fix loop is bounded: a pass applies every fix that does not overlap
// another and lints the result once; when something new appears, the
// fixes it is blamed on are withheld and the rest applied again (an
// attempt: one more lint), and a further pass takes the fixes that
// overlapped or were withheld before other fixes changed the text. One
// pass, and one or two lints after the first, are the rule; a text that
// was linted already is not linted again.
const (
	maxFixPasses   = 4
	maxFixAttempts = 3
)

// FixBytes lints data, applies every fix, and lints the result again. A
// fix after which lint finds something it did not find before, where the
// fix edits, is withheld and the rest applied again; passes repeat while
// fixes remain (fixes that overlapped wait for the next), so fixing the
// result again changes nothing — unless the loop's bound (maxFixPasses
// passes of maxFixAttempts attempts) was reached with fixes still to
// apply: those stay among Remaining, with their fixes, for another run.
// Errors are those of LintBytes.
func (l *Linter) FixBytes(ctx context.Context, name string, data []byte) (FixResult, error) {
	res, _, err := l.fixBytes(ctx, name, data)
	return res, err
}

// fixBytes is FixBytes, also returning its loop's state for tests.
func (l *Linter) fixBytes(ctx context.Context, name string, data []byte) (FixResult, *fixLoop, error) {
	res := FixResult{Source: data}
	fl := &fixLoop{l: l, ctx: ctx, name: name}
	ds, err := fl.lint(data)
	if err != nil {
		return res, fl, err
	}
	// Fixes withheld on the current text, by rule and the offset of their
	// first edit. Once other fixes change the text, they get another try:
	// what made them wrong may be gone. So the result is a text on which
	// every remaining fix is withheld, and fixing it again changes nothing.
	withheld := make(map[withheldKey]bool)
	for pass := 0; pass < maxFixPasses; pass++ {
		var todo []Diagnostic
		for _, d := range ds {
			if d.Fix != nil && !withheld[keyOf(d)] {
				todo = append(todo, d)
			}
		}
		if len(todo) == 0 {
			break
		}
		next, nds, applied, err := fl.pass(res.Source, ds, todo, withheld, &res)
		if err != nil {
			return res, fl, err
		}
		if len(applied) == 0 {
			break
		}
		clear(withheld)
		res.Fixed = append(res.Fixed, applied...)
		res.Source, ds = next, nds
	}
	// Withheld reports what is still withheld on the final text.
	kept := res.Withheld[:0]
	for _, d := range ds {
		if d.Fix != nil && withheld[keyOf(d)] {
			kept = append(kept, d)
		}
	}
	res.Withheld = kept
	res.Remaining = ds
	return res, fl, nil
}

// withheldKey names a fix across passes: the rule and the text it edits.
type withheldKey struct {
	rule string
	at   int
}

func keyOf(d Diagnostic) withheldKey {
	lo, _ := d.Fix.span()
	return withheldKey{d.Rule, lo}
}

// fixLoop is the state of one FixBytes: the texts it has linted, so that a
// text met again (a withheld fix retried on the text where it was blamed)
// is not linted twice.
type fixLoop struct {
	l      *Linter
	ctx    context.Context
	name   string
	linted []lintedText
	lints  int // how many texts it linted
}

type lintedText struct {
	text []byte
	ds   []Diagnostic
}

// lint lints text with fixes attached, or returns what linting it gave.
func (fl *fixLoop) lint(text []byte) ([]Diagnostic, error) {
	for _, t := range fl.linted {
		if bytes.Equal(t.text, text) {
			return t.ds, nil
		}
	}
	fl.lints++
	ds, err := fl.l.lintFixes(fl.ctx, fl.name, text)
	if err != nil {
		return nil, err
	}
	if len(fl.linted) == maxFixAttempts+1 {
		fl.linted = fl.linted[1:]
	}
	fl.linted = append(fl.linted, lintedText{text, ds})
	return ds, nil
}

// pass applies todo to src (whose findings are ds), lints the result and
// withholds fixes that made something new appear, until what is left is
// clean. It returns the new text and its findings, and the fixes applied.
func (fl *fixLoop) pass(src []byte, ds, todo []Diagnostic, withheld map[withheldKey]bool, res *FixResult) (next []byte, nds, applied []Diagnostic, err error) {
	idx := schema.NewLines(src)
	type seen struct {
		rule string
		at   int
	}
	before := make(map[seen]int, len(ds))
	for _, d := range ds {
		if off, ok := idx.Offset(d.Pos); ok {
			before[seen{d.Rule, off}]++
		}
	}
	for attempt := 0; attempt < maxFixAttempts && len(todo) > 0; attempt++ {
		var edits []Edit
		next, applied, edits = applyFixes(src, todo)
		if len(applied) == 0 {
			return src, ds, nil, nil
		}
		if nds, err = fl.lint(next); err != nil {
			return nil, nil, nil, err
		}
		exposing := false
		fixedAt := make(map[seen]int, len(applied))
		for _, d := range applied {
			exposing = exposing || d.Fix.exposes
			if off, ok := idx.Offset(d.Pos); ok {
				fixedAt[seen{d.Rule, off}]++
			}
		}
		if exposing {
			return next, nds, applied, nil
		}
		// What is new after the fixes, located in the old text.
		var fresh []int
		nidx, back := schema.NewLines(next), newEditMap(edits)
		left := make(map[seen]int, len(before))
		for k, v := range before {
			left[k] = v - fixedAt[k]
		}
		for _, d := range nds {
			off, ok := nidx.Offset(d.Pos)
			if !ok {
				continue
			}
			k := seen{d.Rule, back.old(off)}
			if left[k] > 0 {
				left[k]--
				continue
			}
			fresh = append(fresh, k.at)
		}
		if len(fresh) == 0 {
			return next, nds, applied, nil
		}
		// Withhold the fixes whose scope holds something new; if none
		// does, the fixes interact in a way xvm cannot attribute: apply
		// none of them.
		slices.Sort(fresh)
		var keep []Diagnostic
		blamed := false
		for _, d := range todo {
			// The scope's end is where the next member starts, not the
			// fix's own: what is new at the scope's start is the fix's,
			// even for a scope of no bytes.
			lo, hi := d.Fix.scope[0], max(d.Fix.scope[1], d.Fix.scope[0]+1)
			if k, _ := slices.BinarySearch(fresh, lo); k < len(fresh) && fresh[k] < hi {
				blamed = true
				withheld[keyOf(d)] = true
				res.Withheld = append(res.Withheld, d)
				continue
			}
			keep = append(keep, d)
		}
		if !blamed {
			for _, d := range todo {
				withheld[keyOf(d)] = true
			}
			res.Withheld = append(res.Withheld, todo...)
			return src, ds, nil, nil
		}
		todo = keep
	}
	return src, ds, nil, nil
}

// FileFix is what FixRun did to one named input.
type FileFix struct {
	// Name is the input as given ("-" for stdin).
	Name string
	// Before is the input as read.
	Before []byte
	FixResult
}

// FixRun fixes the named inputs in parallel (as Run lints them) and returns
// one FileFix per input, in input order. Nothing is written: the caller
// decides whether to write, print or diff. A file that cannot be read is
// an error.
func (l *Linter) FixRun(ctx context.Context, names []string, read ReadFunc) ([]FileFix, error) {
	out := make([]FileFix, len(names))
	errs := make([]error, len(names))
	eachInput(ctx, names, func(i int, display string) {
		data, err := read(names[i])
		if err != nil {
			errs[i] = fmt.Errorf("lint: read %s: %w", names[i], err)
			return
		}
		res, err := l.FixBytes(ctx, display, data)
		for j := range res.Remaining {
			res.Remaining[j].fileIndex = int32(i)
		}
		out[i], errs[i] = FileFix{Name: names[i], Before: data, FixResult: res}, err
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

// RemainingReport is the report of what is left after fixes: every
// remaining finding, in input order.
func RemainingReport(fixes []FileFix) Report {
	rep := Report{Files: len(fixes)}
	for _, f := range fixes {
		rep.Diagnostics = append(rep.Diagnostics, f.Remaining...)
	}
	rep.Diagnostics = sortDiagnostics(rep.Diagnostics)
	return rep
}
