package lint

import (
	"io"
	"path/filepath"

	udiff "github.com/aymanbagabas/go-udiff"
)

// DiffOptions configure RenderDiff.
type DiffOptions struct {
	// ShowSecrets prints user ids in full. Masked, the diff still shows
	// every change but no longer applies.
	ShowSecrets bool
}

// RenderDiff writes a unified diff (three lines of context) that turns
// before into after, labelled a/name and b/name the way git labels them,
// so that `git apply` or `patch -p1` applies it from where xvm ran. An
// absolute name is used as it is. Equal texts write nothing. User ids are
// masked in every line unless opts.ShowSecrets.
func RenderDiff(w io.Writer, name string, before, after []byte, opts DiffOptions) error {
	if string(before) == string(after) {
		return nil
	}
	from, to := name, name
	if !filepath.IsAbs(name) {
		slash := filepath.ToSlash(filepath.Clean(name))
		from, to = "a/"+slash, "b/"+slash
	}
	edits := udiff.Lines(string(before), string(after))
	text, err := udiff.ToUnified(from, to, string(before), edits, udiff.DefaultContextLines)
	if err != nil {
		return err
	}
	if !opts.ShowSecrets {
		s := newSecrets(false, nil)
		s.collectSource(name, before)
		s.collectSource(name, after)
		text = s.text(text)
	}
	_, err = io.WriteString(w, text)
	return err
}
