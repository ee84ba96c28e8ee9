package safetext

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, ünïcode 中文 and a \\ backslash", "plain text, ünïcode 中文 and a \\ backslash"},
		{"x\n::error file=README.md,line=1::injected\n", `x\n::error file=README.md,line=1::injected\n`},
		{"\x1b]0;pwned\a\r\n", `\x1b]0;pwned\a\r\n`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"tab\there", `tab\there`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1 \u0085 next line, \u009b csi", `c1 \u0085 next line, \u009b csi`},
		{"line\u2028sep\u2029", `line\u2028sep\u2029`},
		{"bidi \u202eevil\u202c \u2066x\u2069", `bidi \u202eevil\u202c \u2066x\u2069`},
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`},
		{"a ##[error]b ##[add-mask]c ##[stop-commands]t", `a ##\x5berror]b ##\x5badd-mask]c ##\x5bstop-commands]t`},
		{"#[ # [ ##x[ [## ###[", `#[ # [ ##x[ [## ###\x5b`},
		{"\n##[error]x", `\n##\x5berror]x`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAtLineStart(t *testing.T) {
	tests := []struct{ in, want string }{
		{"::error::x", `\x3a:error::x`},
		{"  ::error::pwned .json", `  \x3a:error::pwned .json`},
		{"\u00a0\u2003::warning::x", "\u00a0\u2003\\x3a:warning::x"},
		{"\t::error::x", `\t::error::x`}, // the tab is shown, not trimmed
		{"a::b", "a::b"},
		{": :x", ": :x"},
		{"##[error]x", `##\x5berror]x`},
	}
	for _, tt := range tests {
		if got := AtLineStart(tt.in); got != tt.want {
			t.Errorf("AtLineStart(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const id = "27848739-7e62-4138-9fd3-098a63964b6b"

func TestMask(t *testing.T) {
	var m Masker
	m.Add(id)
	m.Add("hello")                        // a name-style id: whole words only
	m.Add("my secret name")               // with spaces
	m.Add("b831381d63244d53ad4f8cda48b3") // 28 bytes, not UUID-shaped
	m.Add(id)                             // again: no effect
	tests := []struct{ in, want string }{
		{`"id": "` + id + `",`, `"id": "2784****-****-****-****-********4b6b",`},
		{`"id": "27848739-7e62-4138-9fd3-098a63964b6\u0062"`, `"id": "2784****-****-****-****-*************0062"`},
		{`id: hello`, `id: *****`},
		{`id: 'hello' # a comment`, `id: '*****' # a comment`},
		{`id = "hello"`, `id = "*****"`},
		{`id: my secret name`, `id: **************`},
		{`"address": "hello.example.com"`, `"address": "hello.example.com"`},
		{`"path": "/b831381d63244d53ad4f8cda48b3/ws"`, `"path": "/b831********************48b3/ws"`},
		{`"path": "/ws?u=` + id + `"`, `"path": "/ws?u=2784****-****-****-****-********4b6b"`},
		{`an unrelated 11111111-2222-3333-4444-555555555555 uuid`, `an unrelated 1111****-****-****-****-********5555 uuid`},
		{`"id": "hello`, `"id": "*****`}, // unterminated, as in a syntax error
		{`nothing to hide`, `nothing to hide`},
	}
	for _, tt := range tests {
		got := m.Mask(tt.in)
		if got != tt.want {
			t.Errorf("Mask(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(tt.in) {
			t.Errorf("Mask(%s) changed the width", tt.in)
		}
	}
	if m.Len() != 4 {
		t.Errorf("Len = %d, want 4 (duplicates counted once)", m.Len())
	}
}

func TestZeroMaskerMasksUUIDShapes(t *testing.T) {
	var m Masker
	if got := m.Mask("x " + id + " y"); got != "x 2784****-****-****-****-********4b6b y" {
		t.Errorf("got %q", got)
	}
}

// BenchmarkMask masks a 64 KB line holding many ids with a Masker of
// doubling size: the time per op must not grow with the number of secrets.
func BenchmarkMask(b *testing.B) {
	for _, n := range []int{1_000, 2_000, 4_000, 8_000} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			var m Masker
			var line strings.Builder
			for i := 0; i < n; i++ {
				s := fmt.Sprintf("%08x-7e62-4138-9fd3-098a63964b6b", i)
				m.Add(s)
				m.Add(fmt.Sprintf("name%d", i))
				if line.Len() < 64<<10 {
					fmt.Fprintf(&line, `{"id": "%s", "path": "/p/name%d/x"}, `, s, i)
				}
			}
			s := line.String()
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Mask(s)
			}
		})
	}
}

// BenchmarkMaskLine masks lines of doubling length: time must double.
func BenchmarkMaskLine(b *testing.B) {
	var m Masker
	m.Add(id)
	m.Add("hello")
	for _, n := range []int{16 << 10, 32 << 10, 64 << 10, 128 << 10} {
		var line strings.Builder
		for line.Len() < n {
			fmt.Fprintf(&line, `"k%d": %d, a: b: "%s", `, line.Len(), line.Len(), id)
		}
		s := line.String()
		b.Run(fmt.Sprintf("bytes=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				m.Mask(s)
			}
		})
	}
}

func FuzzEscapeAndMask(f *testing.F) {
	f.Add("x\n::error file=a::b\n", "hello")
	f.Add("\x1b]0;pwned\a", id)
	f.Add(`"27848739-7e62-4138-9fd3-098a63964b6\u0062"`, id)
	f.Add("\xff\u2028'it''s'", "it's")
	f.Fuzz(func(t *testing.T, text, secret string) {
		e := Escape(text)
		for _, r := range e {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
				t.Fatalf("Escape(%q) = %q keeps %U", text, e, r)
			}
		}
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", text, e)
		}
		var m Masker
		m.Add(secret)
		got := m.Mask(text)
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(text) {
			t.Fatalf("Mask changed the width: %q -> %q", text, got)
		}
		if len(secret) >= minInside && len(secret) <= maxInside && !strings.ContainsAny(secret, "*-") && strings.Contains(got, secret) {
			t.Fatalf("Mask(%q) = %q still holds %q", text, got, secret)
		}
	})
}

// TestUUIDShapesAgreeWithRegexp checks the hand-written matcher against
// the regular expression it replaces.
func TestUUIDShapesAgreeWithRegexp(t *testing.T) {
	re := regexp.MustCompile(`(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b`)
	for _, s := range []string{
		id, "x" + id, "-" + id + "-", id + "x", id + "_", "278487397e6241389fd3098a63964b6b",
		"27848739-7e624138-9fd3098a63964b6b", "27848739--7e62-4138-9fd3-098a63964b6b",
		"a " + id + " b " + strings.ToUpper(id) + "/" + id, "2784873" + id, "é" + id + "é",
		"27848739-7e62-4138-9fd3-098a63964b6", "g27848739-7e62-4138-9fd3-098a63964b6b",
	} {
		var want []span
		for _, loc := range re.FindAllStringIndex(s, -1) {
			want = append(want, span{loc[0], loc[1]})
		}
		got := uuidShapes(s, nil)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: got %v, regexp %v", s, got, want)
		}
	}
}

// TestHideInIsAWindowOfMask: hiding a window of a text with the spans Find
// found in the whole text gives that window of Mask's result (Mask keeps
// the width in characters), for every window, secrets cut or not.
func TestHideInIsAWindowOfMask(t *testing.T) {
	var m Masker
	m.Add(id)
	m.Add("名字-secret-42") // multi-byte, inside longer text
	m.Add("shortid")
	s := `"id": "` + id + `", "path": "/x名字-secret-42y", id: shortid, 11111111-2222-3333-4444-555555555555é`
	masked := []rune(m.Mask(s))
	spans := m.Find(s)
	offs := []int{}
	for i := range s {
		offs = append(offs, i)
	}
	offs = append(offs, len(s))
	for a := 0; a < len(offs); a++ {
		for b := a; b < len(offs); b++ {
			got := HideIn(s, spans, offs[a], offs[b])
			if want := string(masked[a:b]); got != want {
				t.Fatalf("HideIn(%d, %d) = %q, want %q", a, b, got, want)
			}
		}
	}
	if HideIn(s, nil, 2, 5) != s[2:5] {
		t.Error("no spans: want the window itself")
	}
}
