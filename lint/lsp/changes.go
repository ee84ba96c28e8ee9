package lsp

// applyChanges applies a didChange's edits to src in order, as the
// protocol defines them: each range is a position in the document as the
// edits before it left it. A run of edits each of which ends before the
// previous one starts (what editors send for a multi-cursor edit or a
// replace-all, last occurrence first) leaves the text before each edit as
// it was, so the whole run is located on one index of the text and
// applied in one copy. Any other edit costs an index and a copy of the
// document of its own; ok is false when those would pass maxChangeWork,
// and the document is then not followed any further.
func applyChanges(src []byte, changes []contentChange, enc encoding) (text []byte, ok bool) {
	work := 0
	for i := 0; i < len(changes); {
		if changes[i].Range == nil {
			src = []byte(changes[i].Text)
			i++
			continue
		}
		j := i + 1
		for j < len(changes) && changes[j].Range != nil && !after(changes[j].Range.End, changes[j-1].Range.Start) {
			j++
		}
		if j-i == 1 {
			if work += len(src); work > maxChangeWork {
				return nil, false
			}
		}
		src = applyRun(src, changes[i:j], enc)
		i = j
	}
	return src, true
}

// applyRun applies edits located on one index of src, in descending
// order of position (run[k+1] ends at or before run[k] starts).
func applyRun(src []byte, run []contentChange, enc encoding) []byte {
	t := newText(src, enc)
	type span struct{ from, to int }
	spans := make([]span, len(run))
	size := len(src)
	prevFrom := len(src)
	for k, c := range run {
		from, to := t.offset(c.Range.Start), t.offset(c.Range.End)
		if to < from {
			from, to = to, from
		}
		// Clamped positions could overlap the edit after them in the text;
		// keep the spans ordered and disjoint.
		to = min(to, prevFrom)
		from = min(from, to)
		prevFrom = from
		spans[k] = span{from, to}
		size += len(c.Text) - (to - from)
	}
	out := make([]byte, 0, size)
	pos := 0
	for k := len(run) - 1; k >= 0; k-- {
		out = append(out, src[pos:spans[k].from]...)
		out = append(out, run[k].Text...)
		pos = spans[k].to
	}
	return append(out, src[pos:]...)
}

// after reports whether position a lies after b.
func after(a, b position) bool {
	return a.Line > b.Line || a.Line == b.Line && a.Character > b.Character
}
