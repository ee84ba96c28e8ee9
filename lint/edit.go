package lint

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xvmtools/xvm/schema"
)

// fixer is a rule whose findings may carry a Fix. fix returns nil when the
// finding cannot be fixed mechanically in this document (a YAML anchor
// shared by several places, a TOML table header, a value spread over
// lines): editing then would change more than the finding says.
type fixer interface {
	rule
	fix(e *editor, d Diagnostic) *Fix
}

// attachFixes works out the fix of each diagnostic of a fixable rule,
// marks the diagnostic Fixable, and keeps the Fix when keep is set.
func (l *Linter) attachFixes(c *checkContext, ds []Diagnostic, keep bool) {
	var e *editor
	var fixers map[string]fixer
	for i := range ds {
		if fixers == nil {
			fixers = make(map[string]fixer)
			for _, r := range l.rules {
				if f, ok := r.(fixer); ok {
					fixers[r.meta().ID] = f
				}
			}
		}
		f := fixers[ds[i].Rule]
		if f == nil {
			continue
		}
		if e == nil {
			e = newEditor(c)
		}
		if fix := f.fix(e, ds[i]); fix != nil {
			ds[i].Fixable = true
			if keep {
				ds[i].Fix = fix
			}
		}
	}
}

// editor turns positions of the loaded tree into byte edits of the source.
// The loaders give where every key and value starts; the editor scans the
// source from there to where the token ends, in the document's own syntax,
// and checks that what it finds is what the loader read.
type editor struct {
	c      *checkContext
	src    []byte
	format schema.Format
	lines  *schema.Lines
	// shared holds YAML positions reached through more than one path: an
	// anchored value used by aliases or a merge key. Editing one would
	// edit every place that uses it.
	shared map[schema.Pos]bool
	// byPointer indexes the schema findings, built on first use.
	byPointer map[findingKey]int
	// objects indexes the members of large objects, built on first use.
	objects map[*schema.Node]*memberIndex
}

// memberScan is the size up to which an object's members are searched
// one by one; a larger object is searched through a memberIndex, so that
// the fixes of many of its members cost time in proportion to their
// number, and little memory.
const memberScan = 16

// memberIndex finds the members of a large object. Their keys are written
// one after another, so a finding's member is found by binary search on
// where keys start (a map is made only for the odd object whose keys are
// not in that order). Members are counted by key, folded as Xray matches
// keys, for each key asked about: one scan per key, and one map of every
// key once more than keyScans keys have been asked about.
type memberIndex struct {
	byPos map[schema.Pos]int // when keys are not in source order
	uses  map[string]keyUse
	all   bool // uses holds every key of the object
}

// keyScans is how many keys of one object are counted by a scan each
// before all of its keys are counted at once.
const keyScans = 8

// keyUse is how many members spell a key (in any case) and the last of
// them, which is the one Xray reads (-1 when none does).
type keyUse struct{ n, last int }

// members returns the index of object n, or nil when n is small enough to
// search.
func (e *editor) members(n *schema.Node) *memberIndex {
	if len(n.Members) <= memberScan {
		return nil
	}
	if x := e.objects[n]; x != nil {
		return x
	}
	x := &memberIndex{uses: make(map[string]keyUse)}
	for j := 1; j < len(n.Members); j++ {
		if !n.Members[j-1].KeyPos.Less(n.Members[j].KeyPos) {
			x.byPos = make(map[schema.Pos]int, 2*len(n.Members))
			for k := range n.Members {
				m := &n.Members[k]
				x.byPos[m.KeyPos] = k
				if _, ok := x.byPos[m.Value.Pos]; !ok {
					x.byPos[m.Value.Pos] = k
				}
			}
			break
		}
	}
	if e.objects == nil {
		e.objects = make(map[*schema.Node]*memberIndex)
	}
	e.objects[n] = x
	return x
}

// at returns the member of n (indexed by x) whose key or value may start
// at p: the last whose key starts at or before p.
func (x *memberIndex) at(n *schema.Node, p schema.Pos) (int, bool) {
	if x.byPos != nil {
		j, ok := x.byPos[p]
		return j, ok
	}
	j := sort.Search(len(n.Members), func(j int) bool { return p.Less(n.Members[j].KeyPos) }) - 1
	return j, j >= 0
}

// use counts the members of n (indexed by x) that spell key.
func (x *memberIndex) use(n *schema.Node, key string) keyUse {
	k := foldKey(key)
	if u, ok := x.uses[k]; ok || x.all {
		if !ok {
			return keyUse{last: -1}
		}
		return u
	}
	if len(x.uses) < keyScans {
		u := keyUse{last: -1}
		for j := range n.Members {
			if strings.EqualFold(n.Members[j].Key, key) {
				u = keyUse{n: u.n + 1, last: j}
			}
		}
		x.uses[k] = u
		return u
	}
	clear(x.uses)
	for j := range n.Members {
		f := foldKey(n.Members[j].Key)
		x.uses[f] = keyUse{n: x.uses[f].n + 1, last: j}
	}
	x.all = true
	return x.use(n, key)
}

// member returns object n's member key as Node.Member does (matched
// case-insensitively, the last match wins).
func (e *editor) member(n *schema.Node, key string) *schema.Member {
	x := e.members(n)
	if x == nil {
		return n.Member(key)
	}
	if u := x.use(n, key); u.n > 0 {
		return &n.Members[u.last]
	}
	return nil
}

// foldKey maps a key to one spelling for all its case variants, as
// strings.EqualFold matches them: every character becomes the smallest
// of the characters it folds with (so "k", "K" and the Kelvin sign all
// become "K").
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// lookup resolves a JSON pointer as Document.Lookup does, through the
// indexes of large objects.
func (e *editor) lookup(pointer string) (*schema.Node, bool) {
	n := e.c.doc.Root
	if n == nil || pointer != "" && pointer[0] != '/' {
		return nil, false
	}
	if pointer == "" {
		return n, true
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = schema.UnescapePointer(tok)
		switch n.Kind {
		case schema.Object:
			m := e.member(n, tok)
			if m == nil {
				return nil, false
			}
			n = m.Value
		case schema.Array:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Items) {
				return nil, false
			}
			n = n.Items[i]
		default:
			return nil, false
		}
	}
	return n, true
}

func newEditor(c *checkContext) *editor {
	e := &editor{c: c, src: c.doc.Source, format: c.doc.Format, lines: c.doc.Lines()}
	if e.format == schema.YAML && c.doc.Root != nil && bytes.IndexByte(e.src, '*') >= 0 {
		seen := make(map[schema.Pos]bool)
		e.shared = make(map[schema.Pos]bool)
		var walk func(n *schema.Node, depth int)
		walk = func(n *schema.Node, depth int) {
			if depth > schema.MaxDepth {
				return
			}
			mark := func(p schema.Pos) {
				if seen[p] {
					e.shared[p] = true
				}
				seen[p] = true
			}
			mark(n.Pos)
			for i := range n.Members {
				mark(n.Members[i].KeyPos)
				walk(n.Members[i].Value, depth+1)
			}
			for _, it := range n.Items {
				walk(it, depth+1)
			}
		}
		walk(c.doc.Root, 0)
	}
	return e
}

func (e *editor) offset(p schema.Pos) (int, bool) { return e.lines.Offset(p) }

// lineOf returns the start of the line holding off, and the offset of its
// line break (len(src) on the last line).
func (e *editor) lineOf(off int) (start, end int) { return e.lines.Bounds(e.lines.LineOf(off)) }

// afterLine returns the offset just past the line break that ends the
// line holding off (len(src) on the last line).
func (e *editor) afterLine(off int) int {
	_, end := e.lineOf(off)
	if end < len(e.src) {
		return end + 1
	}
	return end
}

// locate finds the member a diagnostic is about: the object its pointer's
// parent names, and in it the member whose key or value starts where the
// diagnostic does (a pointer alone cannot tell case-variant duplicates
// apart).
func (e *editor) locate(d Diagnostic) (parent *schema.Node, i int, ok bool) {
	if e.c.doc.Root == nil {
		return nil, 0, false
	}
	cut := strings.LastIndexByte(d.Pointer, '/')
	if cut < 0 {
		return nil, 0, false
	}
	n, found := e.lookup(d.Pointer[:cut])
	if !found || n.Kind != schema.Object {
		return nil, 0, false
	}
	key := schema.UnescapePointer(d.Pointer[cut+1:])
	is := func(j int) bool {
		m := &n.Members[j]
		return strings.EqualFold(m.Key, key) && (m.KeyPos == d.Pos || m.Value.Pos == d.Pos)
	}
	j := -1
	if x := e.members(n); x != nil {
		if k, ok := x.at(n, d.Pos); ok && is(k) {
			j = k
		}
	} else {
		for k := range n.Members {
			if is(k) {
				j = k
				break
			}
		}
	}
	if j < 0 {
		return nil, 0, false
	}
	if m := &n.Members[j]; e.shared[m.KeyPos] || e.shared[m.Value.Pos] {
		return nil, 0, false
	}
	return n, j, true
}

// keySpan returns the bytes of member m's key as written (quotes included).
func (e *editor) keySpan(m *schema.Member) (int, int, bool) {
	start, ok := e.offset(m.KeyPos)
	if !ok || start >= len(e.src) {
		return 0, 0, false
	}
	src := e.src
	switch e.format {
	case schema.JSON:
		if src[start] != '"' {
			return 0, 0, false
		}
		return e.quoted(start, '"', true, false)
	case schema.TOML:
		switch src[start] {
		case '"':
			return e.quoted(start, '"', true, false)
		case '\'':
			return e.quoted(start, '\'', false, false)
		}
		end := start
		for end < len(src) && isBareKeyByte(src[end]) {
			end++
		}
		if string(src[start:end]) != m.Key {
			return 0, 0, false
		}
		return start, end, true
	case schema.YAML:
		switch src[start] {
		case '"':
			return e.quoted(start, '"', true, false)
		case '\'':
			return e.yamlSingle(start)
		}
		end := start + len(m.Key)
		if end > len(src) || string(src[start:end]) != m.Key {
			return 0, 0, false
		}
		rest := bytes.TrimLeft(src[end:], " \t")
		if len(rest) == 0 || rest[0] != ':' {
			return 0, 0, false
		}
		return start, end, true
	}
	return 0, 0, false
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoted scans a quoted token from its opening quote; escapes says a
// backslash escapes the next byte, multiline that the token may span lines.
func (e *editor) quoted(start int, q byte, escapes, multiline bool) (int, int, bool) {
	src := e.src
	for i := start + 1; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\' && escapes:
			i++
		case c == q:
			return start, i + 1, true
		case c == '\n' && !multiline:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// yamlSingle scans a YAML single-quoted scalar (” is a quote).
func (e *editor) yamlSingle(start int) (int, int, bool) {
	src := e.src
	for i := start + 1; i < len(src); i++ {
		if src[i] == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				i++
				continue
			}
			return start, i + 1, true
		}
	}
	return 0, 0, false
}

// valueSpan returns the bytes of scalar n as written. Objects, arrays,
// multi-line TOML strings and YAML block scalars, anchors and tags give
// ok false.
func (e *editor) valueSpan(n *schema.Node) (int, int, bool) {
	if n == nil || n.Kind == schema.Object || n.Kind == schema.Array || e.shared[n.Pos] {
		return 0, 0, false
	}
	start, ok := e.offset(n.Pos)
	if !ok || start >= len(e.src) {
		return 0, 0, false
	}
	src := e.src
	stopAt := func(stops string) (int, int, bool) {
		end := start
		for end < len(src) && strings.IndexByte(stops, src[end]) < 0 {
			end++
		}
		return start, end, end > start
	}
	switch e.format {
	case schema.JSON:
		if src[start] == '"' {
			return e.quoted(start, '"', true, false)
		}
		return stopAt(" \t\r\n,]}/#")
	case schema.TOML:
		if bytes.HasPrefix(src[start:], []byte(`"""`)) || bytes.HasPrefix(src[start:], []byte(`'''`)) {
			return 0, 0, false
		}
		switch src[start] {
		case '"':
			return e.quoted(start, '"', true, false)
		case '\'':
			return e.quoted(start, '\'', false, false)
		}
		return stopAt(" \t\r\n,]}#")
	case schema.YAML:
		switch src[start] {
		case '"':
			return e.quoted(start, '"', true, true)
		case '\'':
			return e.yamlSingle(start)
		case '|', '>', '&', '!', '*':
			return 0, 0, false
		}
		_, eol := e.lineOf(start)
		raw := src[start:eol]
		if i := bytes.Index(raw, []byte(" #")); i >= 0 {
			raw = raw[:i]
		}
		raw = bytes.TrimRight(raw, " \t\r")
		if n.Kind == schema.String {
			// A plain string is written as read, unless it is folded over
			// several lines, which the check refuses.
			if !bytes.HasPrefix(raw, []byte(n.Text)) {
				return 0, 0, false
			}
			if rest := raw[len(n.Text):]; len(rest) > 0 && strings.IndexByte(",]}", rest[0]) < 0 {
				return 0, 0, false
			}
			return start, start + len(n.Text), true
		}
		if i := bytes.IndexAny(raw, ",]}"); i >= 0 {
			raw = bytes.TrimRight(raw[:i], " \t")
		}
		return start, start + len(raw), len(raw) > 0
	}
	return 0, 0, false
}

// yamlPlainSafe matches strings YAML reads back as the same plain string.
var yamlPlainSafe = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./-]*$`)

// yamlSpecial are plain scalars YAML reads as something other than a
// string (YAML 1.1 booleans included, which Xray's YAML reader uses).
func yamlSpecial(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~":
		return true
	}
	return false
}

// literal writes s as a string in the style of the token it replaces
// (double or single quotes, or plain YAML / bare TOML key where s allows).
func (e *editor) literal(orig []byte, s string, key bool) string {
	dq := func() string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s) // a string always encodes
		return strings.TrimSuffix(b.String(), "\n")
	}
	q := byte(0)
	if len(orig) > 0 && (orig[0] == '"' || orig[0] == '\'') {
		q = orig[0]
	}
	switch e.format {
	case schema.YAML:
		switch {
		case q == '\'':
			return "'" + strings.ReplaceAll(s, "'", "''") + "'"
		case q == 0 && yamlPlainSafe.MatchString(s) && !yamlSpecial(s):
			return s
		}
	case schema.TOML:
		switch {
		case q == '\'' && !strings.ContainsAny(s, "'\n"):
			return "'" + s + "'"
		case q == 0 && key && s != "" && strings.IndexFunc(s, func(r rune) bool { return r > 0x7f || !isBareKeyByte(byte(r)) }) < 0:
			return s
		}
	}
	return dq()
}

// replaceValue is a fix that rewrites scalar n as text, written in the
// document's syntax by the caller.
func (e *editor) replaceValue(n *schema.Node, title string, text func(orig []byte) string) *Fix {
	s, t, ok := e.valueSpan(n)
	if !ok {
		return nil
	}
	return &Fix{Title: title, Edits: []Edit{{Start: s, End: t, New: text(e.src[s:t])}}, scope: [2]int{s, t}}
}

// renameKey is a fix that renames member i of parent to key. It refuses
// when the object already has key (the rename would make a duplicate) and
// when the value is an object or array in TOML, where the key may also be
// written in table headers elsewhere.
func (e *editor) renameKey(parent *schema.Node, i int, key, title string) *Fix {
	m := &parent.Members[i]
	if x := e.members(parent); x != nil {
		if u := x.use(parent, key); u.n > 1 || u.n == 1 && u.last != i {
			return nil
		}
	} else {
		for j := range parent.Members {
			if j != i && strings.EqualFold(parent.Members[j].Key, key) {
				return nil
			}
		}
	}
	if e.format == schema.TOML && (m.Value.Kind == schema.Object || m.Value.Kind == schema.Array) {
		return nil
	}
	s, t, ok := e.keySpan(m)
	if !ok {
		return nil
	}
	// The member's whole value is in scope: under its new name Xray and
	// lint read it for the first time.
	end := len(e.src)
	if i+1 < len(parent.Members) {
		if o, ok := e.offset(parent.Members[i+1].KeyPos); ok && o > t {
			end = o
		}
	} else if e.format == schema.JSON {
		if o, ok := e.offset(parent.End); ok && o > t {
			end = o
		}
	}
	return &Fix{Title: title, Edits: []Edit{{Start: s, End: t, New: e.literal(e.src[s:t], key, true)}}, scope: [2]int{s, end}}
}

// removeMember is a fix that deletes member i of parent, whose value must
// be a scalar, with its separator: the member's lines when it stands on
// lines of its own (a comment at its end goes with it), else the member
// and one comma. A YAML block mapping left empty becomes `{}`, so its key
// does not turn null.
func (e *editor) removeMember(parent *schema.Node, i int, title string) *Fix {
	m := &parent.Members[i]
	ks, ke, ok := e.keySpan(m)
	if !ok {
		return nil
	}
	vs, ve, ok := e.valueSpan(m.Value)
	if !ok || vs < ke {
		return nil
	}
	src := e.src
	if bytes.IndexByte(src[ke:vs], '#') >= 0 || bytes.Contains(src[ke:vs], []byte("//")) || bytes.Contains(src[ke:vs], []byte("/*")) {
		return nil // a comment between key and value: leave it to the user
	}
	if e.braced(ks, ve) {
		return e.removeBraced(parent, i, title, ks, ve)
	}
	// Block YAML or a TOML table: one member per line.
	ls, _ := e.lineOf(ks)
	_, le := e.lineOf(ve)
	before := src[ls:ks]
	rest := bytes.TrimLeft(bytes.TrimRight(src[ve:le], "\r"), " \t")
	if len(rest) > 0 && rest[0] != '#' {
		return nil
	}
	blank := len(bytes.Trim(before, " \t")) == 0
	switch e.format {
	case schema.TOML:
		if blank {
			return newFix(title, Edit{Start: ls, End: e.afterLine(ve)})
		}
		// A dotted key (a.b = 1) or something else on the line.
	case schema.YAML:
		dash := !blank && len(bytes.Trim(before, " \t-")) == 0
		switch {
		case len(parent.Members) == 1 && (blank || dash):
			return newFix(title, Edit{Start: ks, End: ve, New: "{}"})
		case blank:
			return newFix(title, Edit{Start: ls, End: e.afterLine(ve)})
		case dash && i+1 < len(parent.Members):
			// "- alterId: 0\n  id: x" -> "- id: x": the next key moves up
			// behind the dash.
			next := &parent.Members[i+1]
			ns, ok := e.offset(next.KeyPos)
			if !ok || next.KeyPos.Col != m.KeyPos.Col || ns < ve || len(bytes.TrimSpace(src[ve:ns])) != 0 {
				return nil
			}
			return newFix(title, Edit{Start: ks, End: ns})
		}
	}
	return nil
}

// newFix is a fix whose scope is the text it edits.
func newFix(title string, edits ...Edit) *Fix {
	f := &Fix{Title: title, Edits: edits}
	f.scope[0], f.scope[1] = f.span()
	return f
}

// braced reports whether the member spanning [ks, ve) sits in a {…}
// object with commas: JSON, a YAML flow mapping or a TOML inline table.
func (e *editor) braced(ks, ve int) bool {
	if e.format == schema.JSON {
		return true
	}
	src := e.src
	j := ve
	for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
		j++
	}
	if j < len(src) && (src[j] == ',' || src[j] == '}') {
		return true
	}
	k := ks - 1
	for k >= 0 && (src[k] == ' ' || src[k] == '\t') {
		k--
	}
	return k >= 0 && (src[k] == '{' || src[k] == ',')
}

// removeBraced removes member i, spanning [ks, ve), of a {…} object
// together with one comma. A comment between the value and its comma goes
// with the member; anything after the comma on the same line stays, and
// the member's line goes only when nothing but blanks and comments follow
// it there.
func (e *editor) removeBraced(parent *schema.Node, i int, title string, ks, ve int) *Fix {
	src := e.src
	ls, _ := e.lineOf(ks)
	_, le := e.lineOf(ve)
	blankBefore := len(bytes.Trim(src[ls:ks], " \t")) == 0
	// The comma after the value, if any: on the value's line, after blanks
	// and block comments that close on that line.
	comma := -1
	j := skipBlanksAndBlockComments(src, ve, le, e.format)
	if j < le && src[j] == ',' {
		comma = j
		j++
	}
	for j < le && (src[j] == ' ' || src[j] == '\t' || src[j] == '\r') {
		j++
	}
	if comma < 0 && i+1 < len(parent.Members) {
		// The comma that separates this member from the next is on a later
		// line, after a comment: leave such a layout to the user.
		return nil
	}
	lineEnds := onlyCommentsLeft(src[j:le], e.format)
	switch {
	case blankBefore && lineEnds && (comma >= 0 || i == 0):
		// The member's own line(s) go, comma and end-of-line comment with
		// them.
		return newFix(title, Edit{Start: ls, End: e.afterLine(ve)})
	case blankBefore && lineEnds:
		// The last member on its own line: its line goes, and the comma
		// after the member before it.
		c, ok := e.commaAfter(&parent.Members[i-1], ls)
		if !ok {
			return nil
		}
		return newFix(title, Edit{Start: c, End: c + 1}, Edit{Start: ls, End: e.afterLine(ve)})
	case comma >= 0 && lineEnds:
		// `…, "alterId": 0,` ending a line: drop it with the blanks before
		// it, keep the line break (and any comment after the comma).
		start := ks
		for start > ls && (src[start-1] == ' ' || src[start-1] == '\t') {
			start--
		}
		return newFix(title, Edit{Start: start, End: comma + 1})
	case comma >= 0:
		return newFix(title, Edit{Start: ks, End: j})
	case i == 0:
		return newFix(title, Edit{Start: ks, End: ve})
	default:
		c, ok := e.commaAfter(&parent.Members[i-1], ks)
		if !ok {
			return nil
		}
		return newFix(title, Edit{Start: c, End: ve})
	}
}

// commaAfter finds the comma that follows member prev's value, before
// limit, with only spaces and line breaks between the two (comments after
// the comma stay where they are).
func (e *editor) commaAfter(prev *schema.Member, limit int) (int, bool) {
	var pe int
	if e.format == schema.JSON {
		o, ok := e.offset(prev.Value.End)
		if !ok {
			return 0, false
		}
		pe = o
	} else {
		_, t, ok := e.valueSpan(prev.Value)
		if !ok {
			return 0, false
		}
		pe = t
	}
	src := e.src
	for j := pe; j < limit && j < len(src); j++ {
		switch src[j] {
		case ' ', '\t', '\r', '\n':
		case ',':
			return j, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// skipBlanksAndBlockComments returns the first offset from at, before
// limit, that is neither a blank nor inside a /* */ comment closed before
// limit.
func skipBlanksAndBlockComments(src []byte, at, limit int, f schema.Format) int {
	for at < limit {
		switch {
		case src[at] == ' ' || src[at] == '\t' || src[at] == '\r':
			at++
		case f == schema.JSON && bytes.HasPrefix(src[at:limit], []byte("/*")):
			end := bytes.Index(src[at+2:limit], []byte("*/"))
			if end < 0 {
				return at
			}
			at += 2 + end + 2
		default:
			return at
		}
	}
	return at
}

// onlyCommentsLeft reports whether the rest of a line, text, holds nothing
// but blanks and comments of the format: a line comment, or block comments
// that close on the line. A block comment that opens here and closes on a
// later line does not end the line: removing the line would cut it open.
func onlyCommentsLeft(text []byte, f schema.Format) bool {
	at := skipBlanksAndBlockComments(text, 0, len(text), f)
	if at == len(text) {
		return true
	}
	rest := text[at:]
	return rest[0] == '#' || f == schema.JSON && bytes.HasPrefix(rest, []byte("//"))
}
