package lint

import (
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/xvmtools/xvm/vmess"
)

// uuidRE finds UUID-looking text, masked in echoed source lines even when
// it is not a VMess id (it may be a VLESS or Trojan credential).
var uuidRE = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b`)

// Mask hides most of a secret for messages, exactly as vmess.MaskID does
// (every xvm verb masks ids the same way): "27848739-7e62-4138-9fd3-098a63964b6b"
// becomes "2784…6b6b"; short secrets are hidden harder.
func Mask(s string) string { return vmess.MaskID(s) }

// secrets collects the ids of one document so that messages and echoed
// source lines can hide them.
type secrets struct {
	show bool
	ids  []string // longest first, so that an id containing another is masked whole
}

func newSecrets(show bool) *secrets { return &secrets{show: show} }

func (s *secrets) add(id string) {
	if id == "" {
		return
	}
	i := sort.Search(len(s.ids), func(i int) bool { return len(s.ids[i]) < len(id) })
	s.ids = slices.Insert(s.ids, i, id)
}

func (s *secrets) mask(v string) string {
	if s.show {
		return v
	}
	return Mask(v)
}

func (s *secrets) maskLine(line string) string {
	if s.show {
		return line
	}
	for _, id := range s.ids {
		if strings.Contains(line, `"`+id+`"`) || strings.Contains(line, `'`+id+`'`) || strings.Contains(line, ": "+id) || strings.Contains(line, "= "+id) {
			line = strings.ReplaceAll(line, id, maskSameWidth(id))
		}
	}
	return uuidRE.ReplaceAllStringFunc(line, maskSameWidth)
}

// maskSameWidth hides a secret in an echoed source line without changing
// its width, so carets still point at the right column:
// "27848739-7e62-4138-9fd3-098a63964b6b" becomes
// "2784****-****-****-****-********4b6b".
func maskSameWidth(s string) string {
	r := []rune(s)
	keep := 4
	if len(r) < 16 {
		keep = 0
	}
	for i := keep; i < len(r)-keep; i++ {
		if r[i] != '-' {
			r[i] = '*'
		}
	}
	return string(r)
}
