package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// Severity orders findings: Info < Warning < Error.
type Severity int

// The severities.
const (
	Info Severity = iota + 1
	Warning
	Error
)

// String is the lower-case name used in every output format.
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "off"
}

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
	// Source is the source line at Pos, with secrets masked unless asked
	// otherwise; renderers echo it.
	Source string
	// Fix, when set, resolves the finding mechanically (`xvm lint --fix`,
	// an editor's code action). Its edits are byte offsets into the
	// document as it was linted.
	Fix *Fix

	fileIndex int
}

// String is the compact form used by golden files:
// "file:line:col: message [rule]".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", d.File, d.Pos.Line, d.Pos.Col, d.Message, d.Rule)
}

// sortDiagnostics orders by input order of the file, then line, column,
// rule and message, and drops exact duplicates.
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.fileIndex != b.fileIndex {
			return a.fileIndex < b.fileIndex
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos != b.Pos {
			return a.Pos.Less(b.Pos)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
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
