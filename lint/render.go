package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Report is the result of linting several files, ready to render.
type Report struct {
	Diagnostics []Diagnostic
	// Files is how many files (documents) were linted.
	Files int
}

// Styler colours parts of the text output. The CLI fills it with lipgloss
// styles on a TTY; PlainStyler leaves text alone.
type Styler interface {
	Severity(s Severity, text string) string
	Position(text string) string
	Rule(text string) string
	Caret(text string) string
	Dim(text string) string
}

// PlainStyler is the Styler for pipes and files: no escape codes.
type PlainStyler struct{}

// Severity returns text unchanged.
func (PlainStyler) Severity(_ Severity, text string) string { return text }

// Position returns text unchanged.
func (PlainStyler) Position(text string) string { return text }

// Rule returns text unchanged.
func (PlainStyler) Rule(text string) string { return text }

// Caret returns text unchanged.
func (PlainStyler) Caret(text string) string { return text }

// Dim returns text unchanged.
func (PlainStyler) Dim(text string) string { return text }

// RenderText writes one block per diagnostic:
//
//	file:line:col: severity: message [rule]
//	   12 |       "port": "443",
//	      |               ^~~~~
//	      = hint: remove the quotes: 443
//
// and a summary line when there are findings.
func RenderText(w io.Writer, r Report, st Styler) error {
	if st == nil {
		st = PlainStyler{}
	}
	var b strings.Builder
	for _, d := range r.Diagnostics {
		fmt.Fprintf(&b, "%s %s %s %s\n",
			st.Position(fmt.Sprintf("%s:%d:%d:", d.File, d.Pos.Line, d.Pos.Col)),
			st.Severity(d.Severity, d.Severity.String()+":"),
			d.Message,
			st.Rule("["+d.Rule+"]"))
		if d.Source != "" && d.Pos.IsValid() {
			num := fmt.Sprintf("%d", d.Pos.Line)
			pad := strings.Repeat(" ", len(num))
			src := strings.ReplaceAll(d.Source, "\t", " ")
			fmt.Fprintf(&b, " %s %s %s\n", st.Dim(num), st.Dim("|"), src)
			width := 1
			if d.End.Line == d.Pos.Line && d.End.Col > d.Pos.Col {
				width = d.End.Col - d.Pos.Col
			}
			lineLen := utf8.RuneCountInString(src)
			if d.Pos.Col-1+width > lineLen+1 {
				width = max(1, lineLen+1-(d.Pos.Col-1))
			}
			caret := "^" + strings.Repeat("~", width-1)
			fmt.Fprintf(&b, " %s %s %s%s\n", pad, st.Dim("|"), strings.Repeat(" ", max(0, d.Pos.Col-1)), st.Caret(caret))
			if d.Hint != "" {
				fmt.Fprintf(&b, " %s %s %s\n", pad, st.Dim("="), "hint: "+d.Hint)
			}
		} else if d.Hint != "" {
			fmt.Fprintf(&b, "  %s\n", "hint: "+d.Hint)
		}
	}
	c := Count(r.Diagnostics)
	if len(r.Diagnostics) > 0 {
		fmt.Fprintf(&b, "\n%s in %d %s\n", summary(c), r.Files, plural(r.Files, "file", "files"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func summary(c Counts) string {
	parts := []string{
		fmt.Sprintf("%d %s", c.Errors, plural(c.Errors, "error", "errors")),
		fmt.Sprintf("%d %s", c.Warnings, plural(c.Warnings, "warning", "warnings")),
	}
	if c.Infos > 0 {
		parts = append(parts, fmt.Sprintf("%d info", c.Infos))
	}
	return strings.Join(parts, ", ")
}

// jsonDiagnostic is one element of the --format json output (the CLI
// contract in docs/cli.md#the-lint-json-object).
type jsonDiagnostic struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
	Pointer   string `json:"pointer"`
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Message   string `json:"message"`
	Hint      string `json:"hint"`
}

type jsonReport struct {
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
	Files       int              `json:"files"`
	Errors      int              `json:"errors"`
	Warnings    int              `json:"warnings"`
}

// RenderJSON writes the report as one JSON object:
// {"diagnostics":[...],"files":N,"errors":N,"warnings":N}.
func RenderJSON(w io.Writer, r Report) error {
	c := Count(r.Diagnostics)
	out := jsonReport{Diagnostics: make([]jsonDiagnostic, 0, len(r.Diagnostics)), Files: r.Files, Errors: c.Errors, Warnings: c.Warnings}
	for _, d := range r.Diagnostics {
		end := d.End
		if !end.IsValid() {
			end = d.Pos
		}
		out.Diagnostics = append(out.Diagnostics, jsonDiagnostic{
			File: d.File, Line: d.Pos.Line, Column: d.Pos.Col, EndLine: end.Line, EndColumn: end.Col,
			Pointer: d.Pointer, Rule: d.Rule, Severity: d.Severity.String(), Message: d.Message, Hint: d.Hint,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// RenderGitHub writes GitHub Actions workflow commands, one per
// diagnostic, so findings show as annotations on the pull request.
func RenderGitHub(w io.Writer, r Report) error {
	var b strings.Builder
	for _, d := range r.Diagnostics {
		level := "error"
		switch d.Severity {
		case Warning:
			level = "warning"
		case Info:
			level = "notice"
		}
		end := d.End
		if !end.IsValid() {
			end = d.Pos
		}
		msg := d.Message
		if d.Hint != "" {
			msg += "\n" + "hint: " + d.Hint
		}
		fmt.Fprintf(&b, "::%s file=%s,line=%d,col=%d,endLine=%d,endColumn=%d,title=%s::%s\n",
			level, ghProperty(d.File), d.Pos.Line, d.Pos.Col, end.Line, end.Col, ghProperty("xvm "+d.Rule), ghData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Escapers for workflow commands, built once rather than per diagnostic.
var (
	ghDataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghPropertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// ghData escapes a workflow command's message.
func ghData(s string) string { return ghDataEscaper.Replace(s) }

// ghProperty escapes a workflow command property value.
func ghProperty(s string) string { return ghPropertyEscaper.Replace(s) }
