package subscription

import (
	"encoding/base64"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTitle bounds a source's name, in runes.
const maxTitle = 80

// Title is the name a provider gives its subscription, from the response
// headers as the Clash family of clients reads them: profile-title first
// (plain, or "base64:" followed by the base64 of UTF-8 text, as Marzban and
// Remnawave send non-ASCII names), then the file name of
// content-disposition (filename*, RFC 5987, before filename). The result
// is safe to print: control and formatting characters are dropped and it
// is at most 80 characters. It is "" when the headers name nothing.
func Title(h http.Header) string {
	if t := profileTitle(h.Get("Profile-Title")); t != "" {
		return t
	}
	if cd := h.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			// mime decodes filename* into "filename".
			if t := cleanTitle(params["filename"]); t != "" {
				return t
			}
		}
	}
	return ""
}

func profileTitle(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "base64:") {
		enc := strings.TrimSpace(v[7:])
		for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if dec, err := e.DecodeString(enc); err == nil && utf8.Valid(dec) {
				return cleanTitle(string(dec))
			}
		}
		// Not base64 after all: the text as sent beats no name.
	}
	return cleanTitle(v)
}

// cleanTitle makes provider text safe for a terminal: no control or
// formatting characters (escape sequences, bidi overrides), invalid UTF-8
// replaced, spaces collapsed, at most maxTitle runes.
func cleanTitle(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if n >= maxTitle {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
