package lint

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"sync"

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
}

func newSecrets(show bool) *secrets { return &secrets{show: show} }

// collect adds the value of every key that holds an id in the tree (see
// idKey): VMess and VLESS users, inbound clients, and ids under a misspelt
// key, which lint's did-you-mean quotes the line of.
func (s *secrets) collect(n *schema.Node) {
	if s.show || n == nil {
		return
	}
	switch n.Kind {
	case schema.Object:
		for i := range n.Members {
			m := &n.Members[i]
			if m.Value.Kind == schema.String && idKey(m.Key) {
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

// idKey reports whether a key's value is to be kept secret: `id` in any
// case, a key that starts or ends with "id" (`idd`, `uuid`, `userId`,
// `users_id`: a misspelt or foreign name for it, which lint suggests
// renaming to `id` while it shows the line), and `password` (the
// credential of the protocols that have no id) — but not the keys of Xray
// that only end in "id" (`alterId`, REALITY's `shortId`), whose values
// lint quotes.
func idKey(k string) bool {
	if len(k) < 2 || len(k) > 32 {
		return false
	}
	switch k = strings.ToLower(k); k {
	case "alterid", "shortid":
		return false
	case "password":
		return true
	}
	return strings.HasPrefix(k, "id") || strings.HasSuffix(k, "id")
}

// looseIDRE finds the keys idKey names and their values in text that could
// not be parsed: JSON ("id": "…"), YAML (id: …, 'id': '…') and TOML
// (id = "…").
var looseIDRE = regexp.MustCompile(`(?i)(?:^|[^\w-])["']?(\w*id|id\w*|password)["']?[ \t]*[:=][ \t]*("(?:[^"\\\n]|\\.)*"?|'(?:[^'\n]|'')*'?|[^\s"',}\]#][^,}\]#\n]*)`)

// collectLoose adds the values of id keys in a source that could not be
// parsed, so that the line of a syntax error does not show an id in full
// (only UUID-shaped text is masked without knowing the ids).
func (s *secrets) collectLoose(src []byte) {
	if s.show {
		return
	}
	for _, m := range looseIDRE.FindAllSubmatch(src, -1) {
		if !idKey(string(m[1])) {
			continue
		}
		m[1] = m[2]
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

// source is what the findings of one document need to show their source
// line: the lines they are on and the document's secrets. The findings
// share it, and the excerpt is cut when a renderer asks for it (Excerpt),
// so a finding keeps no copy of its line and formats that show none (JSON,
// SARIF, an editor) cut none. It holds either the whole text, when the
// findings' lines make up much of it (a hostile file of many findings, a
// minified one), or copies of just those lines, so that a run over many
// large files with a few findings each keeps no file in memory.
type source struct {
	mu sync.Mutex // the caches fill as excerpts are asked for
	// src and lines are the whole text, or nil when only holds the lines
	// (by number) that findings are on.
	src   []byte
	lines *schema.Lines
	only  map[int][]byte

	secrets *secrets
	// long holds the lines longer than an excerpt that findings have
	// asked for: a minified file is one long line with many findings, and
	// copying it, or finding its secrets, once per finding would cost the
	// square of its length.
	long map[int]*longLine
}

// newSource keeps what the findings ds of doc need for their excerpts.
func newSource(doc *schema.Document, ds []Diagnostic, sec *secrets) *source {
	s := &source{secrets: sec}
	lines := doc.Lines()
	size := 0
	only := make(map[int][]byte)
	for _, d := range ds {
		n := int(d.Pos.Line)
		if _, ok := only[n]; ok || !d.Pos.IsValid() {
			continue
		}
		text := lines.Text(n)
		only[n] = text
		if size += len(text); 2*size > len(doc.Source) {
			// Most of the text: keep it whole.
			s.src, s.lines = doc.Source, lines
			return s
		}
	}
	for n, text := range only {
		only[n] = bytes.Clone(text)
	}
	s.only = only
	return s
}

// text returns line n without its line break.
func (s *source) text(n int) []byte {
	if s.lines != nil {
		return s.lines.Text(n)
	}
	return s.only[n]
}

// longLine is a long source line as text, its length in characters, where
// its secrets are (found in the whole line: a window could cut an id into
// parts that no longer look like one) and its characters indexed.
type longLine struct {
	text  string
	runes int
	spans []safetext.Span
	index *schema.Lines
}

// The source excerpt of a finding is at most maxExcerpt characters, with
// the finding at most excerptLead characters from its start: a minified
// file is one long line, and echoing it whole for every finding made the
// output grow with the square of the file.
const (
	maxExcerpt  = 200
	excerptLead = 80
)

// excerpt cuts the window of line n that a finding at column col shows,
// with the secrets hidden. A cut is marked with "…", which stands for the
// text cut off; first is the column of the excerpt's first character.
func (s *source) excerpt(n, col int) (text string, first int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw := s.text(n)
	if raw == nil {
		return "", 0
	}
	if len(raw) <= maxExcerpt { // at most as many characters as bytes
		line := string(raw)
		var spans []safetext.Span
		if !s.secrets.show {
			spans = s.secrets.masker.Find(line)
		}
		return safetext.HideIn(line, spans, 0, len(line)), 1
	}
	l := s.long[n]
	if l == nil {
		l = &longLine{text: string(raw), index: schema.NewLines(raw)}
		_, l.runes = l.index.Column(len(raw), schema.Runes)
		if !s.secrets.show {
			l.spans = s.secrets.masker.Find(l.text)
		}
		if s.long == nil {
			s.long = make(map[int]*longLine)
		}
		s.long[n] = l
	}
	line, spans, runes := l.text, l.spans, l.runes
	if runes <= maxExcerpt {
		return safetext.HideIn(line, spans, 0, len(line)), 1
	}
	// The byte offset in the line of a character.
	at := func(r int) int { return l.index.AtColumn(0, r, schema.Runes) }
	from := max(0, col-1-excerptLead) // characters, 0-based
	to := min(runes, from+maxExcerpt)
	from = max(0, to-maxExcerpt)
	first = from + 1
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
		from++ // the ellipsis stands for the first character
	}
	if to < runes {
		b.WriteString(safetext.HideIn(line, spans, at(from), at(to-1)))
		b.WriteString("…")
	} else {
		b.WriteString(safetext.HideIn(line, spans, at(from), len(line)))
	}
	return b.String(), first
}
