package convert

import (
	"strings"
)

// Links as they arrive from aggregators are sometimes run together with
// no separator ("…fQ==vless://…") or wrapped at 76 columns the way the
// base64 tool writes. Both are repaired here, before a line is read as a
// link.

// linkSchemes are the share-link schemes found in subscriptions, longest
// first where one is a suffix of another, for finding where a link that
// runs into the previous one starts.
var linkSchemes = []string{
	"vmess1", "vmess", "vless", "trojan", "ssr", "ss", "socks5", "socks4", "socks",
	"https", "http", "hysteria2", "hysteria", "hy2", "tuic", "wireguard", "wg",
	"anytls", "juicity", "brook", "mieru", "shadowtls", "naive+https",
}

// gluedSeparators may stand between two links run together on one line
// (collectors have been seen to join links with a backtick); they belong
// to neither link.
const gluedSeparators = "`'\",;| \t"

// splitGlued cuts a line holding several links run together into the
// links. A "://" can never be part of base64, so after a vmess:// base64
// body (and any gluedSeparators) any known scheme starts the next link;
// elsewhere only vmess:// and vmess1:// do (a remark such as
// "#join https://t.me/x" stays a remark). A line without such a seam comes
// back as the one element.
//
// Where the base64 body of the current link ends is found once per link,
// not once per seam: a seam is a split after a v2rayN body only if it
// lies inside that run. The scans of successive links do not overlap, so
// the whole line is read in linear time.
func splitGlued(line string) []string {
	i := strings.Index(line, "://")
	if i < 0 {
		return []string{line}
	}
	var parts []string
	start, from := 0, i+3
	bodyEnd := v2rayNBodyEnd(line, start)
	for {
		j := strings.Index(line[from:], "://")
		if j < 0 {
			break
		}
		j += from
		seg := line[start:j]
		if scheme := gluedScheme(seg); scheme != "" {
			cut := len(seg) - len(scheme)
			prev := strings.TrimRight(seg[:cut], gluedSeparators)
			if len(prev) > len("vmess://") && (hasPrefixFold(scheme, "vmess") || start+len(prev) <= bodyEnd) {
				parts = append(parts, prev)
				start += cut
				bodyEnd = v2rayNBodyEnd(line, start)
			}
		}
		from = j + 3
	}
	if len(parts) == 0 {
		return []string{line}
	}
	return append(parts, strings.TrimRight(line[start:], gluedSeparators))
}

// v2rayNBodyEnd returns where the run of base64 characters after the
// vmess:// that starts line[start:] ends, or -1 when line[start:] does not
// start with vmess://. line[start:k] is a v2rayN body (isV2RayNBody) for
// every k from start+len("vmess://") up to that end.
func v2rayNBodyEnd(line string, start int) int {
	if !hasPrefixFold(line[start:], "vmess://") {
		return -1
	}
	k := start + len("vmess://")
	for k < len(line) && isBase64Char(line[k]) {
		k++
	}
	return k
}

// gluedScheme returns the longest known scheme that text ends with
// (matched case-insensitively, returned as written), or "".
func gluedScheme(text string) string {
	best := ""
	for _, s := range linkSchemes {
		if len(s) > len(best) && len(text) >= len(s) && strings.EqualFold(text[len(text)-len(s):], s) {
			best = text[len(text)-len(s):]
		}
	}
	return best
}

// isV2RayNBody reports whether link is vmess:// followed by base64 text
// only (the v2rayN form, without a #remark or query).
func isV2RayNBody(link string) bool {
	return hasPrefixFold(link, "vmess://") && isBase64Text(link[len("vmess://"):])
}

// isBase64Text reports whether s holds only characters of the standard or
// URL-safe base64 alphabets and padding.
func isBase64Text(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isBase64Char(s[i]) {
			return false
		}
	}
	return true
}

// isBase64Char reports whether c belongs to the standard or URL-safe
// base64 alphabet or is padding.
func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

// wrappedV2RayN reports whether line is the start of a v2rayN link whose
// base64 was wrapped onto the following lines of rest: the line is
// vmess:// and base64 only, does not decode to a whole JSON object by
// itself, and the next line is base64 only.
func wrappedV2RayN(line, rest string) bool {
	if !isV2RayNBody(line) || strings.HasSuffix(line, "=") {
		return false
	}
	next, _ := cutLine(rest)
	next = strings.TrimSpace(next)
	if next == "" || !isBase64Text(next) {
		return false
	}
	_, _, err := decodeV2RayNPayload(line[len("vmess://"):])
	return err != nil
}

// joinWrapped appends to line the base64-only lines that follow it in
// rest, up to and including one that ends in padding, and returns the
// joined link, what is left of rest and how many lines were taken.
func joinWrapped(line, rest string) (string, string, int) {
	var b strings.Builder
	b.WriteString(line)
	taken := 0
	for len(rest) > 0 {
		next, after := cutLine(rest)
		next = strings.TrimSpace(next)
		if next == "" || !isBase64Text(next) {
			break
		}
		b.WriteString(next)
		rest = after
		taken++
		if strings.HasSuffix(next, "=") {
			break
		}
	}
	return b.String(), rest, taken
}
