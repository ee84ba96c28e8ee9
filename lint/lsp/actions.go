package lsp

import (
	"context"
	"strconv"

	udiff "github.com/aymanbagabas/go-udiff"
)

// codeActions offers lint's fix for each finding in the range as a quick
// fix, and all of them at once as source.fixAll.xvm (what `xvm lint --fix`
// would write).
func (s *server) codeActions(ctx context.Context, p codeActionParams) (any, error) {
	d, src, ds, ok := s.snapshot(ctx, p.TextDocument.URI)
	actions := []codeAction{}
	if !ok {
		return actions, nil
	}
	t := newText(src, s.enc)
	wantQuick, wantAll := wanted(p.Context.Only)
	fixable := false
	for _, x := range ds {
		if x.Fix == nil {
			continue
		}
		fixable = true
		diag := toDiagnostic(t, x)
		if !wantQuick || !overlaps(diag.Range, p.Range) {
			continue
		}
		edits := make([]textEdit, 0, len(x.Fix.Edits))
		for _, e := range x.Fix.Edits {
			edits = append(edits, textEdit{Range: t.rangeOf(e.Start, e.End), NewText: e.New})
		}
		actions = append(actions, codeAction{
			Title:       x.Fix.Title,
			Kind:        "quickfix",
			Diagnostics: []diagnostic{diag},
			IsPreferred: true,
			Edit:        &workspaceEdit{Changes: map[string][]textEdit{d.uri: edits}},
		})
	}
	if wantAll && fixable {
		if a, ok := s.fixAll(ctx, d, src, t); ok {
			actions = append(actions, a)
		}
	}
	return actions, nil
}

// wanted reads a code action request's "only" filter.
func wanted(only []string) (quick, all bool) {
	if len(only) == 0 {
		return true, true
	}
	for _, k := range only {
		switch k {
		case "quickfix":
			quick = true
		case "source", "source.fixAll", "source.fixAll.xvm":
			all = true
		}
	}
	return quick, all
}

func before(a, b position) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Character < b.Character
}

// overlaps reports whether two ranges share a position (touching counts:
// a cursor at the end of a finding still gets its fix).
func overlaps(a, b lspRange) bool {
	return !before(a.End, b.Start) && !before(b.End, a.Start)
}

// fixAll is every fix at once, as line edits of the document.
func (s *server) fixAll(ctx context.Context, d *document, src []byte, t *text) (codeAction, bool) {
	l, _ := s.settings.linterFor(d.path)
	if l == nil {
		return codeAction{}, false
	}
	res, err := l.FixBytes(ctx, d.name(), src)
	if err != nil || !res.Changed() {
		return codeAction{}, false
	}
	var edits []textEdit
	for _, e := range udiff.Strings(string(src), string(res.Source)) {
		edits = append(edits, textEdit{Range: t.rangeOf(e.Start, e.End), NewText: e.New})
	}
	return codeAction{
		Title: "fix all xvm findings that can be fixed (" + plural(len(res.Fixed), "finding") + ")",
		Kind:  "source.fixAll.xvm",
		Edit:  &workspaceEdit{Changes: map[string][]textEdit{d.uri: edits}},
	}, true
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
