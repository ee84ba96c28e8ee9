// Package safetext makes text that came from input safe to print for a
// person: Escape shows control characters and terminal escape sequences
// visibly, and a Masker hides secrets (user ids) in it.
//
// It is a leaf package (standard library only) under schema, the input
// layer that lint, convert and probe may all import, so that every
// renderer, in those packages and in cmd/xvm, escapes and masks the same
// way. Machine formats (JSON, SARIF) do not need Escape: their encoders
// escape control characters already.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character that a terminal or a log reader
// would act on shown as a visible escape instead: C0 and C1 control
// characters (newline, carriage return, ESC, which starts ANSI sequences,
// BEL, DEL …) as \n, \r, \x1b, \u0085 …, Unicode line and paragraph
// separators and bidirectional overrides as \u2028 … \u202e, and bytes
// that are not UTF-8 as \xNN. Everything else, backslashes included, is
// kept, so ordinary text reads as written. The result holds no line break,
// so no input can start a line of its own (a GitHub workflow command such
// as ::error must start one; see AtLineStart for text that starts a line).
//
// The bracket of "##[" is shown as \x5b: GitHub's runner still obeys the
// legacy workflow commands (##[error], ##[add-mask], ##[stop-commands])
// anywhere in a line (ActionCommand.TryParse in actions/runner).
func Escape(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == '[' && legacyMarker(s, i) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s // the common case: nothing to escape, no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case needsEscape(r, size):
			writeEscape(&b, s[i], r, size)
		case r == '[' && legacyMarker(s, i):
			b.WriteString(`\x5b`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// legacyMarker reports whether the '[' at s[i] ends "##[".
func legacyMarker(s string, i int) bool {
	return i >= 2 && s[i-1] == '#' && s[i-2] == '#'
}

// AtLineStart is Escape for text that starts a line of output (a file
// name before its findings, the first cell of a table row): when the text,
// after leading white space, begins with "::", its first colon is shown as
// \x3a. GitHub's runner trims leading white space and then reads a line
// that begins with "::" as a workflow command (ActionCommand.TryParseV2).
func AtLineStart(s string) string {
	s = Escape(s)
	if i := CommandAt(s); i >= 0 {
		return s[:i] + `\x3a` + s[i+1:]
	}
	return s
}

// CommandAt returns the offset of the "::" that would make a line starting
// with s a workflow command (after leading white space, which the runner
// trims, as unicode.IsSpace does), or -1.
func CommandAt(s string) int {
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	if !strings.HasPrefix(t, "::") {
		return -1
	}
	return len(s) - len(t)
}

// Unsafe reports whether Escape shows the character r escaped: a control
// character, a line or paragraph separator or a bidirectional control.
// Machine formats (JSON, SARIF) write these as \uXXXX escapes, which read
// back as the same text, so that the raw character reaches no terminal or
// log a person reads them in.
func Unsafe(r rune) bool { return r != utf8.RuneError && needsEscape(r, utf8.RuneLen(r)) }

// needsEscape reports whether rune r, read from size bytes, must be shown
// escaped.
func needsEscape(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true // not UTF-8
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true // C0, DEL, C1 (U+0085 NEL ends a line in some readers)
	case r == 0x2028, r == 0x2029:
		return true // line and paragraph separators
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidirectional controls, which reorder what is shown
	}
	return false
}

func writeEscape(b *strings.Builder, first byte, r rune, size int) {
	switch {
	case r == utf8.RuneError && size == 1:
		b.WriteString(`\x`)
		writeHex(b, uint32(first), 2)
	case r == '\a':
		b.WriteString(`\a`)
	case r == '\b':
		b.WriteString(`\b`)
	case r == '\f':
		b.WriteString(`\f`)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\v':
		b.WriteString(`\v`)
	case r < 0x80:
		b.WriteString(`\x`)
		writeHex(b, uint32(r), 2)
	default:
		b.WriteString(`\u`)
		writeHex(b, uint32(r), 4)
	}
}

func writeHex(b *strings.Builder, v uint32, digits int) {
	s := strconv.FormatUint(uint64(v), 16)
	for i := len(s); i < digits; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
}
