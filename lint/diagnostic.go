package lint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/schema/safetext"
)

// Severity orders findings: Info < Warning < Error. It is the severity
// every xvm package uses (schema.Severity), so that lint's findings and
// convert's messages speak one vocabulary.
type Severity = schema.Severity

// The severities.
const (
	Info    = schema.Info
	Warning = schema.Warning
	Error   = schema.Error
)

// ParseSeverity reads "error", "warning" (or "warn") and "info"; anything
// else is an *UnknownError.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info", "note":
		return Info, nil
	}
	return 0, &UnknownError{What: "severity", Value: s, Want: "error, warning or info"}
}

// Diagnostic is one finding: where, which rule, how bad, what and how to
// fix it. Lines and columns are 1-based; End is just past the span.
type Diagnostic struct {
	File     string
	Pos, End schema.Pos
	// Pointer is the RFC 6901 JSON pointer of the key or value concerned.
	Pointer  string
	Rule     string
	Severity Severity
	Message  string
	Hint     string
	// Fix, when set, resolves the finding mechanically (`xvm lint --fix`,
	// an editor's code action). Its edits are byte offsets into the
	// document as it was linted. Lint sets it only when asked
	// (Options.Fixes).
	Fix *Fix
	// Fixable says that the finding has a fix, when lint was asked to work
	// fixes out (Options.Fixes), whether or not it kept it in Fix.
	Fixable bool

	// src is the document's text, shared by its findings, for Excerpt.
	src       *source
	fileIndex int32
	seq       int32 // the order in which the rules reported it
}

// Excerpt returns the source line of the finding, for a renderer to echo:
// user ids masked unless Options.ShowSecrets, and a line longer than 200
// characters cut to a window around Pos, each cut shown as "…". first is
// the column of the excerpt's first character. It is empty when the
// finding has no position or its document is not at hand (a Diagnostic
// made by hand).
func (d Diagnostic) Excerpt() (text string, first int) {
	if d.src == nil || !d.Pos.IsValid() {
		return "", 0
	}
	return d.src.excerpt(int(d.Pos.Line), int(d.Pos.Col))
}

// String is the compact form used by golden files:
// "file:line:col: message [rule]", escaped for a terminal (safetext).
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", safetext.Escape(d.File), d.Pos.Line, d.Pos.Col, safetext.Escape(d.Message), d.Rule)
}

// sortDiagnostics orders by input order of the file, then line, column,
// rule and message (and, for equals, the order they were reported in), and
// drops exact duplicates.
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	slices.SortFunc(ds, func(a, b Diagnostic) int {
		if a.fileIndex != b.fileIndex {
			return cmp.Compare(a.fileIndex, b.fileIndex)
		}
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Pos != b.Pos {
			if a.Pos.Less(b.Pos) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		if c := strings.Compare(a.Message, b.Message); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 {
			p := out[len(out)-1]
			if p.File == d.File && p.Pos == d.Pos && p.Rule == d.Rule && p.Message == d.Message {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// Counts tallies diagnostics by severity.
type Counts struct {
	Errors, Warnings, Infos int
}

// Count tallies ds.
func Count(ds []Diagnostic) Counts {
	var c Counts
	for _, d := range ds {
		switch d.Severity {
		case Error:
			c.Errors++
		case Warning:
			c.Warnings++
		case Info:
			c.Infos++
		}
	}
	return c
}

// Fails reports whether any diagnostic is at or above the threshold.
func Fails(ds []Diagnostic, threshold Severity) bool {
	for _, d := range ds {
		if d.Severity >= threshold {
			return true
		}
	}
	return false
}
