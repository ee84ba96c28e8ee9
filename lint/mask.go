package lint

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/schema/safetext"
	"github.com/xvmtools/xvm/vmess"
)

// secrets hides the user ids of one document in everything lint says
// about it: messages, hints and the source lines it echoes. The ids are
// collected once per document and matched by one safetext.Masker, so the
// cost per finding does not grow with the number of ids.
type secrets struct {
	show   bool
	masker safetext.Masker
	doc    *schema.Document
	lines  map[int]*sourceLine // masked lines, made once per line
}

func newSecrets(show bool, doc *schema.Document) *secrets {
	return &secrets{show: show, doc: doc}
}

// collect adds the value of every key named id (any case) in the tree:
// VMess and VLESS users, inbound clients.
func (s *secrets) collect(n *schema.Node) {
	if s.show || n == nil {
		return
	}
	switch n.Kind {
	case schema.Object:
		for i := range n.Members {
			m := &n.Members[i]
			if m.Value.Kind == schema.String && strings.EqualFold(m.Key, "id") {
				s.masker.Add(m.Value.Text)
			}
			s.collect(m.Value)
		}
	case schema.Array:
		for _, it := range n.Items {
			s.collect(it)
		}
	}
}

// collectSource adds the ids of a document given as source: from its tree
// when it parses, else by the loose scan.
func (s *secrets) collectSource(name string, data []byte) {
	if doc, err := schema.Load(name, data); err == nil {
		s.collect(doc.Root)
		return
	}
	s.collectLoose(data)
}

// looseIDRE finds `id` keys and their values in text that could not be
// parsed: JSON ("id": "…"), YAML (id: …, 'id': '…') and TOML (id = "…").
var looseIDRE = regexp.MustCompile(`(?i)(?:^|[^\w-])["']?id["']?[ \t]*[:=][ \t]*("(?:[^"\\\n]|\\.)*"?|'(?:[^'\n]|'')*'?|[^\s"',}\]#][^,}\]#\n]*)`)

// collectLoose adds the values of id keys in a source that could not be
// parsed, so that the line of a syntax error does not show an id in full
// (only UUID-shaped text is masked without knowing the ids).
func (s *secrets) collectLoose(src []byte) {
	if s.show {
		return
	}
	for _, m := range looseIDRE.FindAllSubmatch(src, -1) {
		v := string(m[1])
		switch {
		case strings.HasPrefix(v, `"`):
			var text string
			if json.Unmarshal(m[1], &text) == nil {
				v = text
			} else {
				v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
			}
		case strings.HasPrefix(v, "'"):
			v = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'"), "''", "'")
		default:
			v = strings.TrimSpace(v)
		}
		s.masker.Add(v)
	}
}

// mask hides an id in a message, exactly as vmess.MaskID does (every xvm
// verb masks ids the same way): "2784…6b6b".
func (s *secrets) mask(v string) string {
	if s.show {
		return v
	}
	return vmess.MaskID(v)
}

// text hides every collected id (and UUID-shaped text) in a message or
// hint, which may quote the input.
func (s *secrets) text(v string) string {
	if s.show {
		return v
	}
	return s.masker.Mask(v)
}

// sourceLine is one masked source line and what it takes to cut a window
// out of it by column without walking it from the start.
type sourceLine struct {
	text  string
	ascii bool
	// every64 holds the byte offset of runes 0, 64, 128 … (lines that are
	// not ASCII only).
	every64 []int
	runes   int
}

// line returns source line n, masked. A long line (a minified file) is
// masked once and kept for the next finding on it; a short one costs
// little to mask again, and keeping every line would cost memory.
func (s *secrets) line(n int) *sourceLine {
	if l, ok := s.lines[n]; ok {
		return l
	}
	text := s.doc.Line(n)
	if !s.show {
		text = s.masker.Mask(text)
	}
	l := &sourceLine{text: text, ascii: true, runes: len(text)}
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			l.ascii = false
			break
		}
	}
	if !l.ascii {
		l.runes = 0
		for i := range text {
			if l.runes%64 == 0 {
				l.every64 = append(l.every64, i)
			}
			l.runes++
		}
	}
	if len(text) > maxExcerpt {
		if s.lines == nil {
			s.lines = make(map[int]*sourceLine)
		}
		s.lines[n] = l
	}
	return l
}

// offset returns the byte offset of rune r (0-based) of the line.
func (l *sourceLine) offset(r int) int {
	if r >= l.runes {
		return len(l.text)
	}
	if l.ascii {
		return r
	}
	i := l.every64[r/64]
	for k := r % 64; k > 0; k-- {
		_, size := utf8.DecodeRuneInString(l.text[i:])
		i += size
	}
	return i
}

// The source excerpt of a finding is at most maxExcerpt characters, with
// the finding at most excerptLead characters from its start: a minified
// file is one long line, and echoing it whole for every finding made the
// output grow with the square of the file.
const (
	maxExcerpt  = 200
	excerptLead = 80
)

// excerpt cuts the window of line n that a finding at column col shows.
// A cut is marked with "…", which stands for the text cut off; col is the
// column of the excerpt's first character.
func (s *secrets) excerpt(n, col int) (text string, first int) {
	l := s.line(n)
	if l.runes <= maxExcerpt {
		return l.text, 1
	}
	from := max(0, col-1-excerptLead) // runes, 0-based
	to := min(l.runes, from+maxExcerpt)
	from = max(0, to-maxExcerpt)
	var b strings.Builder
	first = from + 1
	if from > 0 {
		b.WriteString("…")
		from++ // the ellipsis stands for the first character
	}
	if to < l.runes {
		b.WriteString(l.text[l.offset(from):l.offset(to-1)])
		b.WriteString("…")
	} else {
		b.WriteString(l.text[l.offset(from):l.offset(to)])
	}
	return b.String(), first
}
