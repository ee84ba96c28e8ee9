package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xvmtools/xvm/schema/safetext"
)

// TestHostileTextInEveryFormat puts one hostile key at a time into a
// config and renders its findings in every format lint writes: text,
// github, json, sarif and the --diff of its fixes. Each format must treat
// the same input the same way: no raw control character, bidirectional
// control, "##[" or line-leading "::" of the input reaches the output.
// Human formats (text, github, diff) show the key as safetext.Escape
// shows it; machine formats (json, sarif) escape the same characters as
// \uXXXX and decode back to the key as written.
func TestHostileTextInEveryFormat(t *testing.T) {
	hostile := []struct {
		name string
		key  string // the key as lint reads it
		src  string // the key as written in the JSON source
	}{
		{"bell", "a\x07b", `a\u0007b`},
		{"ansi colour", "\x1b[31mred\x1b[0m", `\u001b[31mred\u001b[0m`},
		{"terminal title", "\x1b]0;pwned\x07", `\u001b]0;pwned\u0007`},
		{"workflow command", "x\n::error file=README.md,line=1::injected\n", `x\n::error file=README.md,line=1::injected\n`},
		{"carriage return", "ok\r::warning::forged", `ok\r::warning::forged`},
		{"legacy command", "##[error]pwned", "##[error]pwned"},
		{"bidi override", "\u202egnp.exe", "\u202egnp.exe"},
		{"bidi isolate", "a\u2066b\u2069", "a\u2066b\u2069"},
		{"c1 next line", "a\u0085::error::x", "a\u0085::error::x"},
		{"line separator", "a\u2028b", "a\u2028b"},
		{"delete", "a\x7fb", `a\u007fb`},
		{"delete written raw", "a\x7fb", "a\x7fb"},
	}
	l := newTestLinter(t, Options{})
	for _, h := range hostile {
		src := "{\"protocol\": \"vmess\",\n" +
			"  \"settings\": {\"address\": \"a.example.com\", \"port\": \"443\", \"id\": \"27848739-7e62-4138-9fd3-098a63964b6b\"},\n" +
			"  \"" + h.src + "\": 1}\n"
		read := func(string) ([]byte, error) { return []byte(src), nil }
		rep, err := l.Run(context.Background(), []string{"c.json"}, read)
		if err != nil {
			t.Fatal(err)
		}
		var quoted bool
		for _, d := range rep.Diagnostics {
			quoted = quoted || strings.Contains(d.Message, h.key)
		}
		if !quoted {
			t.Fatalf("%s: no finding quotes the key: %v", h.name, rep.Diagnostics)
		}
		fixed, err := l.FixBytes(context.Background(), "c.json", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		formats := []struct {
			name    string
			machine bool
			render  func(*bytes.Buffer) error
		}{
			{"text", false, func(b *bytes.Buffer) error { return RenderText(b, rep, nil) }},
			{"github", false, func(b *bytes.Buffer) error { return RenderGitHub(b, rep) }},
			{"diff", false, func(b *bytes.Buffer) error {
				return RenderDiff(b, "c.json", []byte(src), fixed.Source, DiffOptions{})
			}},
			{"json", true, func(b *bytes.Buffer) error { return RenderJSON(b, rep) }},
			{"sarif", true, func(b *bytes.Buffer) error { return RenderSARIF(b, rep, SARIFOptions{}) }},
		}
		for _, f := range formats {
			t.Run(h.name+"/"+f.name, func(t *testing.T) {
				var b bytes.Buffer
				if err := f.render(&b); err != nil {
					t.Fatal(err)
				}
				out := b.String()
				requireNothingRaw(t, out)
				for _, line := range strings.Split(out, "\n") {
					if safetext.CommandAt(line) >= 0 && !(f.name == "github" && ourCommand(line)) {
						t.Errorf("a line starts a workflow command: %q", line)
					}
				}
				if !f.machine {
					want := safetext.Escape(h.key)
					switch f.name {
					case "github":
						want = strings.ReplaceAll(want, "%", "%25")
					case "diff":
						want = safetext.Escape(h.src) // the diff shows the source as written
					}
					if !strings.Contains(out, want) {
						t.Errorf("the key is not shown as safetext.Escape shows it, %q:\n%s", want, out)
					}
					return
				}
				var v any
				if err := json.Unmarshal(b.Bytes(), &v); err != nil {
					t.Fatal(err)
				}
				if !holds(v, h.key) {
					t.Errorf("no string of the document holds the key %q as written:\n%s", h.key, out)
				}
			})
		}
	}
}

// requireNothingRaw fails when out holds a character safetext.Escape
// escapes (other than the line breaks of the output itself) or "##[".
func requireNothingRaw(t *testing.T, out string) {
	t.Helper()
	for i, r := range out {
		if r == '\n' || r == '\t' {
			continue
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || safetext.Unsafe(r) {
			t.Errorf("raw %U at byte %d: %q", r, i, out[max(0, i-20):min(len(out), i+20)])
		}
	}
	if strings.Contains(out, "##[") {
		t.Errorf("holds ##[:\n%s", out)
	}
}

// ourCommand reports whether line is one of RenderGitHub's own commands.
func ourCommand(line string) bool {
	for _, c := range []string{"::error file=c.json,", "::warning file=c.json,", "::notice file=c.json,"} {
		if strings.HasPrefix(line, c) {
			return true
		}
	}
	return false
}

// holds reports whether a string in the decoded JSON value v contains s.
func holds(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, s)
	case []any:
		for _, x := range v {
			if holds(x, s) {
				return true
			}
		}
	case map[string]any:
		for _, x := range v {
			if holds(x, s) {
				return true
			}
		}
	}
	return false
}
