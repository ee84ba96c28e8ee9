package subscription

import (
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseUsage: any header value parses or fails without a panic, and
// what parses is non-negative and summarises.
func FuzzParseUsage(f *testing.F) {
	for _, s := range []string{
		"upload=455727941; download=6174315083; total=1073741824000; expire=1671815872",
		"upload=0; download=0; total=0; expire=0",
		"upload=1.5E9,download=,total=NaN,expire=-1",
		"expire=99999999999999999999999",
		";;==;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		u, err := ParseUsage(h)
		if err != nil {
			return
		}
		if u.Upload < 0 || u.Download < 0 || u.Total < 0 || u.Used() < 0 {
			t.Fatalf("negative usage %+v from %q", u, h)
		}
		_ = u.String()
	})
}

// FuzzTitle: whatever a provider sends, the title is printable and short.
func FuzzTitle(f *testing.F) {
	for _, s := range [][2]string{
		{"base64:0JzQvtC5IFZQTg==", ""},
		{"", `attachment; filename*=UTF-8''%E8%BF%9C%E7%A8%8B.yaml`},
		{"a\x1b]8;;http://x\x07b", `attachment; filename="\x00"`},
		{"base64:G1szMW0=", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, title, disposition string) {
		h := http.Header{}
		h.Set("Profile-Title", title)
		h.Set("Content-Disposition", disposition)
		got := Title(h)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > maxTitle+1 {
			t.Fatalf("title %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("title %q holds %U", got, r)
			}
		}
	})
}

// FuzzMaskURL: masking never panics, and a token-looking query value or a
// path segment after /sub/ never survives it, whether or not the URL
// parses.
func FuzzMaskURL(f *testing.F) {
	for _, s := range []string{
		"https://panel.example/api/v1/client/subscribe?token=a1b2c3d4e5f6a7b8c9d0",
		"https://u:p@x.example:8443/sub/abc/clash?flag=meta&url=https%3A%2F%2Fy%2Fsub%2Fz",
		"http://[::1]:80/%zz?%zz=%zz",
		"http://[127.0.0.1:1/sub/a1b2c3d4e5f6a7b8c9d0",
		"/sub/a1b2c3d4e5f6a7b8c9d0%zz",
		"file:///etc/sub/x",
		"not a url",
	} {
		f.Add(s, "a1b2c3d4e5f6a7b8c9d0")
	}
	f.Fuzz(func(t *testing.T, raw, token string) {
		_ = MaskURL(raw)
		if len(token) < 16 || !looksSecret(token) {
			return
		}
		for _, u := range []string{
			"https://h.example/p?token=" + token,
			"https://h.example/sub/" + token + "/x",
			"https://h.example/" + token,
			// shapes that do not parse (a provider's broken Location)
			"http://[h.example/sub/" + token,
			"/sub/" + token + "%zz",
			"http://h.example/%zz?token=" + token,
		} {
			if got := MaskURL(u); strings.Contains(got, token) {
				t.Fatalf("MaskURL(%q) = %q shows the token", u, got)
			}
		}
	})
}
