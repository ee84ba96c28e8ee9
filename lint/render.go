package lint

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xvmtools/xvm/schema/safetext"
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
// and a summary line when there are findings. Everything that came from
// the input (file names, messages, hints, source lines) is shown through
// safetext.Escape, so it can neither move the cursor nor start a line of
// its own.
func RenderText(w io.Writer, r Report, st Styler) error {
	if st == nil {
		st = PlainStyler{}
	}
	b := bufio.NewWriter(w)
	var num []byte
	for _, d := range r.Diagnostics {
		num = strconv.AppendInt(num[:0], int64(d.Pos.Line), 10)
		b.WriteString(st.Position(textFile(d.File) + ":" + string(num) + ":" + strconv.Itoa(int(d.Pos.Col)) + ":"))
		b.WriteByte(' ')
		b.WriteString(st.Severity(d.Severity, d.Severity.String()+":"))
		b.WriteByte(' ')
		b.WriteString(safetext.Escape(d.Message))
		b.WriteByte(' ')
		b.WriteString(st.Rule("[" + d.Rule + "]"))
		b.WriteByte('\n')
		hint := safetext.Escape(d.Hint)
		if excerpt, first := d.Excerpt(); excerpt != "" {
			src, caretAt, width := sourceAndCaret(d, excerpt, first)
			b.WriteByte(' ')
			b.WriteString(st.Dim(string(num)))
			b.WriteByte(' ')
			b.WriteString(st.Dim("|"))
			b.WriteByte(' ')
			b.WriteString(src)
			b.WriteString("\n ")
			writeSpaces(b, len(num))
			b.WriteByte(' ')
			b.WriteString(st.Dim("|"))
			b.WriteByte(' ')
			writeSpaces(b, caretAt)
			b.WriteString(st.Caret("^" + strings.Repeat("~", width-1)))
			b.WriteByte('\n')
			if hint != "" {
				b.WriteByte(' ')
				writeSpaces(b, len(num))
				b.WriteByte(' ')
				b.WriteString(st.Dim("="))
				b.WriteString(" hint: ")
				b.WriteString(hint)
				b.WriteByte('\n')
			}
		} else if hint != "" {
			b.WriteString("  hint: ")
			b.WriteString(hint)
			b.WriteByte('\n')
		}
	}
	c := Count(r.Diagnostics)
	if len(r.Diagnostics) > 0 {
		fmt.Fprintf(b, "\n%s in %d %s\n", summary(c), r.Files, plural(r.Files, "file", "files"))
	}
	return b.Flush()
}

const spaces = "                                                                "

// writeSpaces writes n spaces without making a string of them.
func writeSpaces(b *bufio.Writer, n int) {
	for n > len(spaces) {
		b.WriteString(spaces)
		n -= len(spaces)
	}
	b.WriteString(spaces[:max(n, 0)])
}

// textFile shows a file name: escaped, and never starting with "::", even
// after blanks, so that a file named like a GitHub workflow command cannot
// act as one at the start of a line ("./" keeps it a usable path).
func textFile(name string) string {
	name = safetext.Escape(name)
	if safetext.CommandAt(name) >= 0 {
		return "./" + name
	}
	return name
}

// sourceAndCaret returns the escaped source excerpt of d (excerpt, whose
// first character is at column first), with tabs as one space each, and
// where the caret goes under it: the number of characters before it and
// its width (at least 1, at most to the end of the excerpt).
func sourceAndCaret(d Diagnostic, excerpt string, first int) (src string, caretAt, width int) {
	first = max(first, 1)
	w := 1
	if d.End.Line == d.Pos.Line && d.End.Col > d.Pos.Col {
		w = int(d.End.Col - d.Pos.Col)
	}
	src = excerpt
	if strings.IndexByte(src, '\t') >= 0 {
		src = strings.ReplaceAll(src, "\t", " ")
	}
	esc := safetext.Escape(src)
	if esc == src {
		// The common case, without copies: one character per column.
		n := utf8.RuneCountInString(src)
		at := min(max(int(d.Pos.Col)-first, 0), n)
		return src, at, max(1, min(w, n-at))
	}
	// The whole line is escaped at once (an escape may depend on what
	// precedes it, as the bracket of "##[" does), and the caret is placed
	// by the widths of its escaped prefixes: escaping a prefix gives a
	// prefix of the escaped whole.
	n := utf8.RuneCountInString(src)
	at := min(max(int(d.Pos.Col)-first, 0), n)
	w = max(1, min(w, n-at))
	caretAt = utf8.RuneCountInString(safetext.Escape(src[:runeOffset(src, at)]))
	through := utf8.RuneCountInString(safetext.Escape(src[:runeOffset(src, at+w)]))
	return esc, caretAt, max(1, through-caretAt)
}

// runeOffset is the byte offset of the n-th character of s (len(s) past
// its end), counting an invalid byte as one character, as range does.
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
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
// {"diagnostics":[...],"files":N,"errors":N,"warnings":N}, indented by two
// spaces as encoding/json would. It is written one diagnostic at a time
// (jsonDiagnostic.appendIndented), so a report of many findings is neither
// held twice in memory nor re-indented.
func RenderJSON(w io.Writer, r Report) error {
	c := Count(r.Diagnostics)
	b := bufio.NewWriter(&jsonGuard{w: w})
	var buf []byte
	b.WriteString("{\n  \"diagnostics\": [")
	for i, d := range r.Diagnostics {
		end := d.End
		if !end.IsValid() {
			end = d.Pos
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ")
		buf = jsonDiagnostic{
			File: d.File, Line: int(d.Pos.Line), Column: int(d.Pos.Col), EndLine: int(end.Line), EndColumn: int(end.Col),
			Pointer: d.Pointer, Rule: d.Rule, Severity: d.Severity.String(), Message: d.Message, Hint: d.Hint,
		}.appendIndented(buf[:0], "    ")
		b.Write(buf)
	}
	if len(r.Diagnostics) > 0 {
		b.WriteString("\n  ")
	}
	fmt.Fprintf(b, "],\n  \"files\": %d,\n  \"errors\": %d,\n  \"warnings\": %d\n}\n", r.Files, c.Errors, c.Warnings)
	return b.Flush()
}

// jsonGuard writes JSON so that what a person reads it in acts on none
// of it, as the text formats are escaped: the bracket of every "##[" is
// written \u005b (a JSON log printed in a GitHub Actions job is read line
// by line by the runner, which obeys a legacy workflow command, ##[error]
// …, anywhere in a line), and every character safetext.Escape escapes that
// encoding/json leaves raw (DEL, C1 controls such as U+0085,
// bidirectional overrides such as U+202E) as \uXXXX. In JSON such text can only occur
// inside a string, where the escape reads back as the same character, so
// the document means the same.
type jsonGuard struct {
	w io.Writer
	// last holds the final two bytes written so far, for a marker split
	// between writes; partial, a character cut by the end of a write.
	last    [2]byte
	partial []byte
}

func (g *jsonGuard) Write(p []byte) (int, error) {
	n := len(p)
	if len(g.partial) > 0 {
		p = append(g.partial, p...)
		g.partial = nil
	}
	// Hold back a character the write cuts, to escape it whole.
	if i := lastRuneStart(p); i >= 0 && !utf8.FullRune(p[i:]) {
		g.partial = append([]byte(nil), p[i:]...)
		p = p[:i]
	}
	var out []byte // made only when there is something to replace
	from := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '[':
			var b1, b2 byte // the two bytes before p[i]
			switch i {
			case 0:
				b1, b2 = g.last[1], g.last[0]
			case 1:
				b1, b2 = p[0], g.last[1]
			default:
				b1, b2 = p[i-1], p[i-2]
			}
			if b1 == '#' && b2 == '#' {
				out = append(append(out, p[from:i]...), `\u005b`...)
				from = i + 1
			}
		case c == 0x7f: // DEL, which encoding/json leaves raw
			out = append(append(out, p[from:i]...), `\u007f`...)
			from = i + 1
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p[i:])
			if safetext.Unsafe(r) {
				out = append(append(out, p[from:i]...), fmt.Sprintf(`\u%04x`, r)...)
				from = i + size
			}
			i += size - 1
		}
	}
	switch {
	case len(p) >= 2:
		g.last = [2]byte{p[len(p)-2], p[len(p)-1]}
	case len(p) == 1:
		g.last = [2]byte{g.last[1], p[0]}
	}
	if out == nil {
		if _, err := g.w.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	if _, err := g.w.Write(append(out, p[from:]...)); err != nil {
		return 0, err
	}
	return n, nil
}

// lastRuneStart returns the offset of the first byte of the last
// character of p (-1 for none): at most three bytes back.
func lastRuneStart(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			return i
		}
	}
	return -1
}

// appendIndented appends d as encoding/json's Encoder with SetIndent(prefix,
// "  ") and SetEscapeHTML(false) writes it, without its reflection and
// re-indenting: one field after another, in the struct's order.
// TestJSONDiagnosticMatchesEncoder keeps the two equal.
func (d jsonDiagnostic) appendIndented(buf []byte, prefix string) []byte {
	field := func(name string) {
		buf = append(buf, '\n')
		buf = append(buf, prefix...)
		buf = append(buf, `  "`...)
		buf = append(buf, name...)
		buf = append(buf, `": `...)
	}
	buf = append(buf, '{')
	field("file")
	buf = appendJSONString(buf, d.File)
	for _, f := range []struct {
		name string
		v    int
	}{{"line", d.Line}, {"column", d.Column}, {"end_line", d.EndLine}, {"end_column", d.EndColumn}} {
		buf = append(buf, ',')
		field(f.name)
		buf = strconv.AppendInt(buf, int64(f.v), 10)
	}
	for _, f := range []struct{ name, v string }{
		{"pointer", d.Pointer}, {"rule", d.Rule}, {"severity", d.Severity}, {"message", d.Message}, {"hint", d.Hint},
	} {
		buf = append(buf, ',')
		field(f.name)
		buf = appendJSONString(buf, f.v)
	}
	buf = append(buf, '\n')
	buf = append(buf, prefix...)
	return append(buf, '}')
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it with HTML escaping off: quotes, backslashes and control
// characters escaped, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// RenderGitHub writes GitHub Actions workflow commands, one per
// diagnostic, so findings show as annotations on the pull request. These
// are the only lines that start with "::": text from the input is escaped
// (safetext.Escape, then the workflow command escapes), so it cannot end a
// command or start another.
func RenderGitHub(w io.Writer, r Report) error {
	b := bufio.NewWriter(w)
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
		msg := safetext.Escape(d.Message)
		if d.Hint != "" {
			msg += "\n" + "hint: " + safetext.Escape(d.Hint)
		}
		fmt.Fprintf(b, "::%s file=%s,line=%d,col=%d,endLine=%d,endColumn=%d,title=%s::%s\n",
			level, ghProperty(safetext.Escape(d.File)), d.Pos.Line, d.Pos.Col, end.Line, end.Col, ghProperty("xvm "+d.Rule), ghData(msg))
	}
	return b.Flush()
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
