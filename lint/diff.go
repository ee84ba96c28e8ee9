package lint

import (
	"bufio"
	"io"
	"path/filepath"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/xvmtools/xvm/schema/safetext"
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
//
// The diff is for a person as much as for git, and CI logs show it: file
// names and lines are escaped as safetext escapes them (control
// characters, terminal escapes, the legacy "##[" and a "::" that would
// start a GitHub workflow command), except a tab and the carriage return
// of a CRLF line ending, which git needs. A line that needed escaping no
// longer matches the file, so a diff that holds one does not apply.
func RenderDiff(w io.Writer, name string, before, after []byte, opts DiffOptions) error {
	if string(before) == string(after) {
		return nil
	}
	from, to := safetext.Escape(name), safetext.Escape(name)
	if !filepath.IsAbs(name) {
		slash := safetext.Escape(filepath.ToSlash(filepath.Clean(name)))
		from, to = "a/"+slash, "b/"+slash
	}
	edits := udiff.Lines(string(before), string(after))
	text, err := udiff.ToUnified(from, to, string(before), edits, udiff.DefaultContextLines)
	if err != nil {
		return err
	}
	if !opts.ShowSecrets {
		s := newSecrets(false)
		s.collectSource(name, before)
		s.collectSource(name, after)
		text = s.text(text)
	}
	b := bufio.NewWriter(w)
	for len(text) > 0 {
		line, rest, _ := strings.Cut(text, "\n")
		b.WriteString(escapeDiffLine(line))
		if len(rest) > 0 || strings.HasSuffix(text, "\n") {
			b.WriteByte('\n')
		}
		text = rest
	}
	return b.Flush()
}

// escapeDiffLine escapes one line of a diff (without its "\n") for a
// reader, keeping tabs and the carriage return of a CRLF ending as they
// are, and shows the colon of a "::" that would start a workflow command
// (after leading blanks, tabs included) as \x3a.
func escapeDiffLine(line string) string {
	cr := strings.HasSuffix(line, "\r")
	if cr {
		line = line[:len(line)-1]
	}
	out := line
	if strings.IndexByte(line, '\t') < 0 {
		out = safetext.Escape(line)
	} else {
		parts := strings.Split(line, "\t")
		for i, p := range parts {
			parts[i] = safetext.Escape(p)
		}
		out = strings.Join(parts, "\t")
	}
	if i := safetext.CommandAt(out); i >= 0 {
		out = out[:i] + `\x3a` + out[i+1:]
	}
	if cr {
		out += "\r"
	}
	return out
}
