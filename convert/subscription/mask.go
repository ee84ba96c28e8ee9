package subscription

import (
	"net/url"
	"strings"

	"github.com/xvmtools/xvm/vmess"
)

// MaskURL returns rawURL for messages with its secrets hidden the way xvm
// hides user ids (vmess.MaskID): the user and password of the authority,
// the query values that may be credentials, and the path segments that
// subscription panels use as tokens. The scheme, host, port and the shape
// of the path stay readable, so a user can still tell which subscription a
// message is about. The fragment, which is never sent, is dropped.
//
// A path segment is masked when it follows one of the segment names panels
// put in front of a token (sub, link, subscribe, s, token, …: Marzban's
// /sub/TOKEN, SSPanel's /link/TOKEN, Remnawave's /api/sub/TOKEN, 3x-ui's
// /sub/ID), or when it looks like a secret on its own (16 characters or
// more mixing letters and digits, as random tokens, UUIDs and gist ids do).
// A query value is kept only when its key is known to be harmless (flag,
// target, format, …) and the value does not look like a secret; a value
// that is itself a URL (a converter's url=…) is masked recursively.
//
// Text that does not parse as a URL is masked whole.
func MaskURL(rawURL string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" {
		return vmess.MaskID(rawURL)
	}
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(vmess.MaskID(u.User.Username()))
		if _, ok := u.User.Password(); ok {
			b.WriteString(":…")
		}
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	b.WriteString(maskPath(u.EscapedPath()))
	if u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(maskQuery(u.RawQuery))
	}
	return b.String()
}

// tokenSegments are path segments that panels put in front of a token.
var tokenSegments = map[string]bool{
	"sub": true, "subs": true, "subscribe": true, "subscription": true, "subscriptions": true,
	"link": true, "links": true, "s": true, "t": true, "token": true, "getsub": true, "getsubscribe": true,
}

func maskPath(p string) string {
	if p == "" {
		return ""
	}
	segs := strings.Split(p, "/")
	afterToken := false
	for i, s := range segs {
		if s == "" {
			continue
		}
		plain, err := url.PathUnescape(s)
		if err != nil {
			plain = s
		}
		if afterToken || looksSecret(plain) {
			segs[i] = vmess.MaskID(plain)
			afterToken = false
			continue
		}
		afterToken = tokenSegments[strings.ToLower(plain)]
	}
	return strings.Join(segs, "/")
}

// harmlessKeys are query keys whose values choose a format or a client,
// never a credential.
var harmlessKeys = map[string]bool{
	"flag": true, "target": true, "format": true, "client": true, "app": true, "type": true, "types": true,
	"sub": true, "list": true, "udp": true, "emoji": true, "insert": true, "scv": true, "tfo": true, "ver": true,
	"filter": true, "include": true, "exclude": true, "sort": true, "new_name": true,
}

func maskQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, hasValue := strings.Cut(p, "=")
		if !hasValue {
			// A bare word: a token given without a key (…/sub?abcdef).
			if plain, err := url.QueryUnescape(k); err == nil && (looksSecret(plain) || len(plain) >= 8) {
				parts[i] = vmess.MaskID(plain)
			}
			continue
		}
		plain, err := url.QueryUnescape(v)
		if err != nil {
			plain = v
		}
		key, _ := url.QueryUnescape(k)
		switch {
		case plain == "":
		case strings.Contains(plain, "://"):
			parts[i] = k + "=" + MaskURL(plain)
		case harmlessKeys[strings.ToLower(key)] && !looksSecret(plain):
		default:
			parts[i] = k + "=" + vmess.MaskID(plain)
		}
	}
	return strings.Join(parts, "&")
}

// looksSecret reports text that reads like a random token: 16 characters
// or more of letters, digits and the URL-safe punctuation tokens use, with
// both letters and digits in it.
func looksSecret(s string) bool {
	if len(s) < 16 {
		return false
	}
	letters, digits := false, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letters = true
		case c == '-', c == '_', c == '.', c == '=', c == '+', c == '~':
		default:
			return false
		}
	}
	return letters && digits
}
