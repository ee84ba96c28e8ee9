package subscription

import (
	"net/url"
	"strings"

	"github.com/xvmtools/xvm/schema/safetext"
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
// Text that does not parse as a URL is masked by the same rules as far as
// its shape can be told (scheme://host, then the path and the query);
// text without that shape is masked whole.
func MaskURL(rawURL string) string { return maskURL(rawURL, nil) }

// urlSecrets returns the parts of rawURL that MaskURL hides, both as
// written and decoded, so that they can be hidden in any other text that
// repeats them (an error cause, a server's message).
func urlSecrets(rawURL string) []string {
	var found []string
	maskURL(rawURL, &found)
	return found
}

// maskURL is MaskURL, also appending what it hid to *found when found is
// not nil.
func maskURL(rawURL string, found *[]string) string {
	hide := func(plain string, written ...string) string {
		if found != nil {
			*found = append(*found, plain)
			*found = append(*found, written...)
		}
		return vmess.MaskID(plain)
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" {
		return maskLoose(strings.TrimSpace(rawURL), hide, found)
	}
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		writtenUser, writtenPass, _ := strings.Cut(u.User.String(), ":")
		b.WriteString(hide(u.User.Username(), writtenUser))
		if p, ok := u.User.Password(); ok {
			hide(p, writtenPass)
			b.WriteString(":…")
		}
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	b.WriteString(maskPath(u.EscapedPath(), hide))
	if u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(maskQuery(u.RawQuery, hide, found))
	}
	return b.String()
}

// addURLSecrets makes the parts of rawURL that MaskURL hides secrets of m.
func addURLSecrets(m *safetext.Masker, rawURL string) {
	for _, s := range urlSecrets(rawURL) {
		m.Add(s)
	}
}

// addHostSecrets makes the labels of a redirect target's host that look
// like a token secrets of m: a provider may send each user to a host of
// their own, whose name then shows in a DNS or TLS error. (The host the
// user gave is shown as it is: it names the subscription.)
func addHostSecrets(m *safetext.Masker, host string) {
	for _, label := range hostLabels(host) {
		if looksSecret(label) {
			m.Add(label)
			m.Add(strings.ToLower(label))
		}
	}
}

// maskLoose masks text that does not parse as a URL with a host (a
// Location header with a bad escape or bracket, a file:/// URL): an
// optional scheme://authority (its userinfo masked, its host kept unless a
// label looks like a token), then a path and a query masked as MaskURL
// masks them. Text that starts with neither is masked whole.
func maskLoose(raw string, hide hider, found *[]string) string {
	var b strings.Builder
	rest := raw
	if i := strings.Index(rest, "://"); i > 0 && !strings.ContainsAny(rest[:i], "/?#@ ") {
		b.WriteString(rest[:i+3])
		rest = rest[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		auth := rest[:end]
		rest = rest[end:]
		if at := strings.LastIndex(auth, "@"); at >= 0 {
			user, pass, hasPass := strings.Cut(auth[:at], ":")
			b.WriteString(hide(user))
			if hasPass {
				hide(pass)
				b.WriteString(":…")
			}
			b.WriteByte('@')
			auth = auth[at+1:]
		}
		if strings.IndexFunc(auth, func(r rune) bool { return r == '%' || r > 0x7e || r <= ' ' }) >= 0 {
			auth = hide(auth) // not a host name: it may be anything
		} else {
			auth = maskHostLabels(auth, hide)
		}
		b.WriteString(auth)
	} else if !strings.HasPrefix(rest, "/") {
		return hide(raw)
	}
	rest, _, _ = strings.Cut(rest, "#")
	path, query, hasQuery := strings.Cut(rest, "?")
	b.WriteString(maskPath(path, hide))
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(maskQuery(query, hide, found))
	}
	return b.String()
}

// maskHostLabels masks the labels of host that look like a token.
func maskHostLabels(host string, hide hider) string {
	for _, l := range hostLabels(host) {
		if looksSecret(l) {
			host = strings.Replace(host, l, hide(l), 1)
		}
	}
	return host
}

// hostLabels splits a host (name, IP literal, maybe with a port) into its
// labels.
func hostLabels(host string) []string {
	return strings.FieldsFunc(host, func(r rune) bool { return r == '.' || r == ':' || r == '[' || r == ']' })
}

// hider masks a secret given decoded (plain) and as written.
type hider func(plain string, written ...string) string

// tokenSegments are path segments that panels put in front of a token.
var tokenSegments = map[string]bool{
	"sub": true, "subs": true, "subscribe": true, "subscription": true, "subscriptions": true,
	"link": true, "links": true, "s": true, "t": true, "token": true, "getsub": true, "getsubscribe": true,
}

func maskPath(p string, hide hider) string {
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
			segs[i] = hide(plain, s)
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

func maskQuery(q string, hide hider, found *[]string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, hasValue := strings.Cut(p, "=")
		if !hasValue {
			// A bare word: a token given without a key (…/sub?abcdef).
			if plain, err := url.QueryUnescape(k); err == nil && (looksSecret(plain) || len(plain) >= 8) {
				parts[i] = hide(plain, k)
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
			parts[i] = k + "=" + maskURL(plain, found)
		case harmlessKeys[strings.ToLower(key)] && !looksSecret(plain):
		default:
			parts[i] = k + "=" + hide(plain, v)
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
