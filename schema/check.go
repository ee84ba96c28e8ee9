package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// FindingKind says what a schema Finding is about.
type FindingKind uint8

// Kinds of Finding.
const (
	// UnknownKey is a key the schema does not know; Xray ignores it.
	UnknownKey FindingKind = iota + 1
	// KeyCase is a key that matches a known key only case-insensitively.
	KeyCase
	// DuplicateKey is a key given twice in one object (Xray keeps the last).
	DuplicateKey
	// Violation is a value the schema refuses (type, range, allowed values).
	Violation
	// NullValue is a member whose value is null where the schema wants
	// another type. Xray's decoder (Go's encoding/json) leaves the field
	// alone, so the key is judged as absent, not as a wrong type.
	NullValue
)

// Finding is one result of Check. Pointer is the JSON pointer to the key or
// value concerned, spelt as in the document.
type Finding struct {
	Kind    FindingKind
	Pointer string
	// Key is the key as written (UnknownKey, KeyCase, DuplicateKey,
	// NullValue);
	// Canonical is the known spelling (KeyCase) or the earlier key that
	// this one repeats (DuplicateKey).
	Key, Canonical string
	// Node is the value concerned (Violation) and Member the key concerned
	// (UnknownKey, KeyCase, DuplicateKey, NullValue): the pointer alone cannot tell an
	// earlier duplicate key, or a case variant, from the one Xray keeps.
	Node   *Node
	Member *Member
	// Detail is what only UnknownKey and Violation findings carry (never
	// nil for them): kept apart so that the many findings of a hostile
	// file (duplicate keys, say) stay small.
	Detail *FindingDetail
}

// FindingDetail is the part of a Finding that only some kinds have.
type FindingDetail struct {
	// Known lists the keys the object may have (UnknownKey); the unknown
	// keys of one object share one FindingDetail.
	Known []string
	// Keyword is the JSON Schema keyword that failed (Violation), Message
	// the explanation, and Allowed the permitted values of an enum.
	Keyword, Message string
	Allowed          []string
}

// Check judges the subtree n (found at pointer base in its document)
// against root r. Keys and enumerated values are matched the way Xray
// matches them (case-insensitively); unknown keys are reported and then
// left out of the judgement, as Xray leaves them out.
//
// Check walks the positioned tree and the compiled schema together and
// applies the keywords the embedded schema uses (Compile refuses a schema
// that uses others). TestCheckAgreesWithValidator keeps its verdicts equal
// to jsonschema/v5's own validator.
func (s *Set) Check(r Root, n *Node, base string) ([]Finding, error) {
	sc := s.roots[r]
	if sc == nil {
		return nil, fmt.Errorf("schema: unknown schema %q", r)
	}
	w := &walker{set: s}
	w.walk(n, []*jsonschema.Schema{sc}, &path{base: base, index: -1})
	if w.dropped > 0 {
		kept := w.findings[:0]
		for _, f := range w.findings {
			if f.Kind != 0 {
				kept = append(kept, f)
			}
		}
		w.findings = kept
	}
	return w.findings, nil
}

// Canonical returns the plain value Check judges: keys and enum values
// spelt canonically, unknown keys dropped. Tests validate it with
// jsonschema/v5 to prove Check and the validator agree.
func (s *Set) Canonical(r Root, n *Node) (any, error) {
	sc := s.roots[r]
	if sc == nil {
		return nil, fmt.Errorf("schema: unknown schema %q", r)
	}
	w := &walker{set: s, build: true}
	return w.walk(n, []*jsonschema.Schema{sc}, &path{index: -1}), nil
}

// checkSupported refuses schemas that use keywords the walker does not
// apply, so that Check can never silently judge less than the schema says.
func checkSupported(root *jsonschema.Schema) error {
	seen := make(map[*jsonschema.Schema]bool)
	var visit func(sc *jsonschema.Schema) error
	visit = func(sc *jsonschema.Schema) error {
		if sc == nil || seen[sc] {
			return nil
		}
		seen[sc] = true
		switch {
		case sc.Not != nil, len(sc.AnyOf) > 0, len(sc.OneOf) > 0, len(sc.PatternProperties) > 0,
			sc.PropertyNames != nil, len(sc.Dependencies) > 0, len(sc.DependentRequired) > 0,
			len(sc.DependentSchemas) > 0, sc.UnevaluatedProperties != nil, sc.UnevaluatedItems != nil,
			sc.Contains != nil, sc.UniqueItems, sc.MultipleOf != nil, sc.ExclusiveMinimum != nil,
			sc.ExclusiveMaximum != nil, sc.MinItems != -1, sc.MaxItems != -1, sc.MinProperties != -1,
			len(sc.PrefixItems) > 0, sc.AdditionalItems != nil, sc.DynamicRef != nil, sc.RecursiveRef != nil:
			return fmt.Errorf("schema: %s uses a keyword the checker does not apply", sc.Location)
		}
		if sc.Items != nil {
			if _, ok := sc.Items.(*jsonschema.Schema); !ok {
				return fmt.Errorf("schema: %s uses tuple items", sc.Location)
			}
		}
		next := []*jsonschema.Schema{sc.Ref, sc.If, sc.Then, sc.Else, sc.Items2020}
		next = append(next, sc.AllOf...)
		if it, ok := sc.Items.(*jsonschema.Schema); ok {
			next = append(next, it)
		}
		if ap, ok := sc.AdditionalProperties.(*jsonschema.Schema); ok {
			next = append(next, ap)
		}
		for _, p := range sc.Properties {
			next = append(next, p)
		}
		for _, x := range next {
			if err := visit(x); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(root)
}

// walker walks a positioned tree and the compiled schema together.
type walker struct {
	set      *Set
	findings []Finding
	dropped  int  // findings whose Kind was zeroed (see drop)
	build    bool // also build the canonical plain value
}

// expansion is what a schema statically stands for: itself, its $ref
// chain and allOf members (flattened), plus the members that carry an
// if/then/else to decide per value.
type expansion struct {
	list  []*jsonschema.Schema
	conds []*jsonschema.Schema
}

// precompute flattens every reachable schema once, at Compile time, so the
// walker allocates nothing to resolve $ref on the hot path.
func (s *Set) precompute(root *jsonschema.Schema) {
	var visit func(sc *jsonschema.Schema)
	visit = func(sc *jsonschema.Schema) {
		if sc == nil || s.static[sc] != nil {
			return
		}
		e := &expansion{}
		s.static[sc] = e
		var add func(x *jsonschema.Schema, depth int)
		add = func(x *jsonschema.Schema, depth int) {
			if x == nil || depth > 32 {
				return
			}
			e.list = append(e.list, x)
			if x.If != nil {
				e.conds = append(e.conds, x)
			}
			add(x.Ref, depth+1)
			for _, a := range x.AllOf {
				add(a, depth+1)
			}
		}
		add(sc, 0)
		for _, x := range e.list {
			next := []*jsonschema.Schema{x.Then, x.Else, x.Items2020}
			if it, ok := x.Items.(*jsonschema.Schema); ok {
				next = append(next, it)
			}
			if ap, ok := x.AdditionalProperties.(*jsonschema.Schema); ok {
				next = append(next, ap)
			}
			for _, p := range x.Properties {
				next = append(next, p)
			}
			for _, y := range next {
				visit(y)
			}
		}
	}
	visit(root)
}

// expand resolves $ref, allOf and if/then/else into the list of schemas
// that apply to n. A nil n is a place whose value is unknown (an editor's
// half-typed document): then both branches of a condition apply.
func (w *walker) expand(scs []*jsonschema.Schema, n *Node) []*jsonschema.Schema {
	if len(scs) == 1 {
		if e := w.set.static[scs[0]]; e != nil && len(e.conds) == 0 {
			return e.list
		}
	}
	var out []*jsonschema.Schema
	var add func(sc *jsonschema.Schema, depth int)
	add = func(sc *jsonschema.Schema, depth int) {
		e := w.set.static[sc]
		if e == nil || depth > 8 {
			return
		}
		out = append(out, e.list...)
		for _, c := range e.conds {
			known := n != nil
			holds := known && w.holds(c.If, n, out)
			if (holds || !known) && c.Then != nil {
				add(c.Then, depth+1)
			}
			if (!holds || !known) && c.Else != nil {
				add(c.Else, depth+1)
			}
		}
	}
	for _, sc := range scs {
		add(sc, 0)
	}
	return out
}

// shallow is the part of n an "if" looks at: the members it names,
// canonicalised like the rest (objects and arrays left empty).
func (w *walker) shallow(n *Node, cond *jsonschema.Schema, scs []*jsonschema.Schema) any {
	if n.Kind != Object {
		return scalarValue(n, nil)
	}
	keys := append([]string(nil), cond.Required...)
	for k := range cond.Properties {
		keys = append(keys, k)
	}
	m := make(map[string]any, len(keys))
	for _, k := range keys {
		v := n.Present(k).value()
		if v == nil {
			continue
		}
		switch v.Kind {
		case Object:
			m[k] = map[string]any{}
		case Array:
			m[k] = []any{}
		default:
			m[k] = scalarValue(v, w.propSchemas(scs, k))
		}
	}
	return m
}

func scalarValue(n *Node, scs []*jsonschema.Schema) any {
	switch n.Kind {
	case Bool:
		return n.Text == "true"
	case Number:
		return json.Number(n.Text)
	case String:
		return canonicalEnum(n.Text, scs)
	}
	return nil
}

// caseSensitiveEnum lists the enumerated values Xray compares exactly
// (most it lower-cases first).
func caseSensitiveEnum(sc *jsonschema.Schema) bool {
	for _, suffix := range []string{
		"/$defs/xhttpSettings/properties/mode",
		"/$defs/outbound/properties/mux/properties/xudpProxyUDP443",
		"/$defs/tlsSettings/properties/echForceQuery",
	} {
		if strings.HasSuffix(sc.Location, suffix) {
			return true
		}
	}
	return false
}

// canonicalEnum returns the enum member s matches case-insensitively
// (where Xray lower-cases the value), or s.
func canonicalEnum(s string, scs []*jsonschema.Schema) string {
	for _, sc := range scs {
		for _, e := range sc.Enum {
			if es, ok := e.(string); ok && es == s {
				return s
			}
		}
	}
	for _, sc := range scs {
		if caseSensitiveEnum(sc) {
			continue
		}
		for _, e := range sc.Enum {
			if es, ok := e.(string); ok && strings.EqualFold(es, s) {
				return es
			}
		}
	}
	return s
}

func (w *walker) violation(n *Node, p *path, keyword, msg string) {
	w.findings = append(w.findings, Finding{Kind: Violation, Node: n, Pointer: p.String(), Detail: &FindingDetail{Keyword: keyword, Message: msg}})
}

// typeOK applies "type". Integers are integer literals, as Xray's integer
// fields require (Go's encoding/json refuses 443.0 for a uint16).
func typeOK(n *Node, types []string) bool {
	for _, t := range types {
		switch t {
		case "object":
			if n.Kind == Object {
				return true
			}
		case "array":
			if n.Kind == Array {
				return true
			}
		case "string":
			if n.Kind == String {
				return true
			}
		case "boolean":
			if n.Kind == Bool {
				return true
			}
		case "null":
			if n.Kind == Null {
				return true
			}
		case "number":
			if n.Kind == Number {
				return true
			}
		case "integer":
			if n.Kind == Number && n.IsInteger() {
				return true
			}
		}
	}
	return false
}

func kindName(n *Node) string {
	if n.Kind == Number {
		if n.IsInteger() {
			return "integer"
		}
		return "number"
	}
	return n.Kind.String()
}

// equalValue compares a node (with canonical string s) to a JSON value
// from the schema.
func equalValue(n *Node, s string, v any) bool {
	switch x := v.(type) {
	case string:
		return n.Kind == String && s == x
	case bool:
		return n.Kind == Bool && (n.Text == "true") == x
	case nil:
		return n.Kind == Null
	case json.Number:
		if n.Kind != Number {
			return false
		}
		a, ok1 := new(big.Rat).SetString(n.Text)
		b, ok2 := new(big.Rat).SetString(string(x))
		return ok1 && ok2 && a.Cmp(b) == 0
	case float64:
		if n.Kind != Number {
			return false
		}
		a, ok := new(big.Rat).SetString(n.Text)
		b := new(big.Rat).SetFloat64(x)
		return ok && b != nil && a.Cmp(b) == 0
	}
	return false
}

// inEnum reports whether a node (with canonical string s) equals one of
// the values of an enum.
func inEnum(n *Node, s string, enum []any) bool {
	for _, e := range enum {
		if equalValue(n, s, e) {
			return true
		}
	}
	return false
}

// propSchemas is everything the property key of scs stands for, expanded.
func (w *walker) propSchemas(scs []*jsonschema.Schema, key string) []*jsonschema.Schema {
	var props []*jsonschema.Schema
	for _, sc := range scs {
		if p, ok := sc.Properties[key]; ok {
			props = append(props, w.set.static[p].list...)
		}
	}
	return props
}

func quoteAll(vs []any) (string, []string) {
	parts := make([]string, 0, len(vs))
	allowed := make([]string, 0, len(vs))
	for _, v := range vs {
		b, _ := json.Marshal(v)
		parts = append(parts, string(b))
		if s, ok := v.(string); ok {
			allowed = append(allowed, s)
		} else {
			allowed = append(allowed, string(b))
		}
	}
	return strings.Join(parts, ", "), allowed
}

// scalarChecks applies the value keywords of every schema in all to n.
func (w *walker) scalarChecks(n *Node, canonical string, all []*jsonschema.Schema, p *path) {
	for _, sc := range all {
		if len(sc.Types) > 0 && !typeOK(n, sc.Types) {
			w.violation(n, p, "type", fmt.Sprintf("expected %s, but got %s", strings.Join(sc.Types, " or "), kindName(n)))
			return // other keywords would only repeat the point
		}
	}
	for _, sc := range all {
		if len(sc.Constant) > 0 && !equalValue(n, canonical, sc.Constant[0]) {
			b, _ := json.Marshal(sc.Constant[0])
			w.violation(n, p, "const", "value must be "+string(b))
		}
		if len(sc.Enum) > 0 && !inEnum(n, canonical, sc.Enum) {
			list, allowed := quoteAll(sc.Enum)
			w.findings = append(w.findings, Finding{Kind: Violation, Node: n, Pointer: p.String(), Detail: &FindingDetail{Keyword: "enum", Message: "value must be one of " + list, Allowed: allowed}})
		}
		switch n.Kind {
		case Number:
			if sc.Minimum != nil || sc.Maximum != nil {
				if iv, ok := n.Int(); ok && inRange(iv, sc.Minimum, sc.Maximum) {
					break // the common case, without big.Rat
				}
				v, ok := new(big.Rat).SetString(n.Text)
				if !ok {
					break
				}
				if sc.Minimum != nil && v.Cmp(sc.Minimum) < 0 {
					w.violation(n, p, "minimum", fmt.Sprintf("must be >= %s but found %s", sc.Minimum.RatString(), n.Text))
				}
				if sc.Maximum != nil && v.Cmp(sc.Maximum) > 0 {
					w.violation(n, p, "maximum", fmt.Sprintf("must be <= %s but found %s", sc.Maximum.RatString(), n.Text))
				}
			}
		case String:
			if sc.MinLength != -1 || sc.MaxLength != -1 {
				l := utf8.RuneCountInString(n.Text)
				if sc.MinLength != -1 && l < sc.MinLength {
					w.violation(n, p, "minLength", "length must be >= "+strconv.Itoa(sc.MinLength)+", but got "+strconv.Itoa(l))
				}
				if sc.MaxLength != -1 && l > sc.MaxLength {
					w.violation(n, p, "maxLength", "length must be <= "+strconv.Itoa(sc.MaxLength)+", but got "+strconv.Itoa(l))
				}
			}
			if sc.Pattern != nil && !sc.Pattern.MatchString(n.Text) {
				w.violation(n, p, "pattern", fmt.Sprintf("does not match pattern %q", sc.Pattern.String()))
			}
		}
	}
}

func (w *walker) walk(n *Node, scs []*jsonschema.Schema, p *path) any {
	if len(scs) == 0 {
		if !w.build {
			return nil
		}
		return plainValue(n)
	}
	all := w.expand(scs, n)
	switch n.Kind {
	case Object:
		for _, sc := range all {
			if len(sc.Types) > 0 && !typeOK(n, sc.Types) {
				w.violation(n, p, "type", fmt.Sprintf("expected %s, but got object", strings.Join(sc.Types, " or ")))
				return plainValue(n)
			}
		}
		closed := false
		var extra []*jsonschema.Schema
		for _, sc := range all {
			switch ap := sc.AdditionalProperties.(type) {
			case bool:
				if !ap {
					closed = true
				}
			case *jsonschema.Schema:
				extra = append(extra, ap)
			}
		}
		var out map[string]any
		if w.build {
			out = make(map[string]any, len(n.Members))
		}
		seen := newSeenKeys(len(n.Members))
		// One path for all members: findings keep its String, never it.
		cp := &path{parent: p, index: -1}
		var known *FindingDetail // the keys the object may have, made once
		for i := range n.Members {
			mem := &n.Members[i]
			key, props, isKnown := resolveKey(mem.Key, all)
			cp.key = mem.Key
			if !isKnown {
				key = mem.Key
				if closed {
					if known == nil {
						known = &FindingDetail{Known: knownKeys(all)}
					}
					w.findings = append(w.findings, Finding{Kind: UnknownKey, Pointer: cp.String(), Key: mem.Key, Member: mem, Detail: known})
					continue
				}
				props = extra
			} else if key != mem.Key {
				w.findings = append(w.findings, Finding{Kind: KeyCase, Pointer: cp.String(), Key: mem.Key, Canonical: key, Member: mem})
			}
			if mem.Value.Kind == Null && w.refusesNull(props, mem.Value) {
				// As if absent: not seen (so required still applies), not
				// judged, and no duplicate of another key.
				w.findings = append(w.findings, Finding{Kind: NullValue, Pointer: cp.String(), Key: mem.Key, Member: mem})
				continue
			}
			if prev, dup := seen.get(key); dup {
				// Reported on this (later) key: a pointer resolves to the
				// last of duplicate keys, as Xray reads it.
				w.findings = append(w.findings, Finding{Kind: DuplicateKey, Pointer: cp.String(), Key: mem.Key, Canonical: n.Members[prev.member].Key, Member: mem})
				// Xray keeps the last value; judge only that one.
				w.drop(prev.from, prev.to)
			}
			from := len(w.findings)
			v := w.walk(mem.Value, props, cp)
			seen.set(key, seenKey{member: i, from: from, to: len(w.findings)})
			if w.build {
				out[key] = v
			}
		}
		for _, sc := range all {
			if sc.MaxProperties != -1 && seen.len() > sc.MaxProperties {
				w.violation(n, p, "maxProperties", fmt.Sprintf("maximum %d properties allowed, but found %d properties", sc.MaxProperties, seen.len()))
			}
			for _, req := range sc.Required {
				if _, ok := seen.get(req); !ok {
					w.findings = append(w.findings, Finding{Kind: Violation, Node: n, Pointer: p.String(), Key: req,
						Detail: &FindingDetail{Keyword: "required", Message: "missing properties: " + strconv.Quote(req)}})
				}
			}
		}
		if !w.build {
			return nil
		}
		return out
	case Array:
		for _, sc := range all {
			if len(sc.Types) > 0 && !typeOK(n, sc.Types) {
				w.violation(n, p, "type", fmt.Sprintf("expected %s, but got array", strings.Join(sc.Types, " or ")))
				return plainValue(n)
			}
		}
		var items []*jsonschema.Schema
		for _, sc := range all {
			if sc.Items2020 != nil {
				items = append(items, sc.Items2020)
			} else if s, ok := sc.Items.(*jsonschema.Schema); ok {
				items = append(items, s)
			}
		}
		var out []any
		if w.build {
			out = make([]any, len(n.Items))
		}
		ip := &path{parent: p} // one for all items, as for members
		for i, it := range n.Items {
			ip.index = i
			v := w.walk(it, items, ip)
			if w.build {
				out[i] = v
			}
		}
		if !w.build {
			return nil
		}
		return out
	default:
		canonical := n.Text
		if n.Kind == String {
			canonical = canonicalEnum(n.Text, all)
		}
		w.scalarChecks(n, canonical, all, p)
		if !w.build {
			return nil
		}
		if n.Kind == String {
			return canonical
		}
		return scalarValue(n, nil)
	}
}

// refusesNull reports whether the schemas of a member whose value is the
// null node n want another type.
func (w *walker) refusesNull(props []*jsonschema.Schema, n *Node) bool {
	for _, sc := range w.expand(props, n) {
		if len(sc.Types) > 0 && !typeOK(n, sc.Types) {
			return true
		}
	}
	return false
}

// drop forgets the violations found in a value Xray does not keep (the
// earlier of two duplicate keys): findings[from:to], which its walk
// appended. Decoding errors stay: Go's encoding/json still fails on a
// wrongly typed or overflowing value even when a later key replaces it.
// The findings are only marked (Kind zero), so indexes stay valid and each
// value is forgotten once, not by searching every finding for its pointer.
func (w *walker) drop(from, to int) {
	for i := from; i < to; i++ {
		f := &w.findings[i]
		if f.Kind == Violation && f.Detail.Keyword != "type" && f.Detail.Keyword != "minimum" && f.Detail.Keyword != "maximum" {
			f.Kind = 0
			w.dropped++
		}
	}
}

// plainValue converts a subtree the schema says nothing about.
func plainValue(n *Node) any {
	switch n.Kind {
	case Object:
		m := make(map[string]any, len(n.Members))
		for _, mem := range n.Members {
			m[mem.Key] = plainValue(mem.Value)
		}
		return m
	case Array:
		a := make([]any, len(n.Items))
		for i, it := range n.Items {
			a[i] = plainValue(it)
		}
		return a
	}
	return scalarValue(n, nil)
}

// resolveKey finds key among the properties of scs: exactly, or else
// case-insensitively as Xray does.
func resolveKey(key string, scs []*jsonschema.Schema) (canonical string, props []*jsonschema.Schema, known bool) {
	for _, sc := range scs {
		if p, ok := sc.Properties[key]; ok {
			props = append(props, p)
		}
	}
	if len(props) > 0 {
		return key, props, true
	}
	for _, sc := range scs {
		for k, p := range sc.Properties {
			if strings.EqualFold(k, key) {
				canonical = k
				props = append(props, p)
			}
		}
	}
	return canonical, props, len(props) > 0
}

func knownKeys(scs []*jsonschema.Schema) []string {
	set := make(map[string]bool)
	for _, sc := range scs {
		for k := range sc.Properties {
			set[k] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// path is a JSON pointer built only when a finding needs it: the walk
// visits every value, most of which have nothing to report.
type path struct {
	parent *path
	base   string // root only: pointer of the subtree in its document
	key    string
	index  int // array index, or -1 for an object key (or the root)
}

// String builds the JSON pointer.
func (p *path) String() string {
	if p.parent == nil {
		return p.base
	}
	if p.index >= 0 {
		return Index(p.parent.String(), p.index)
	}
	return Child(p.parent.String(), p.key)
}

// seenKeys records the canonical keys of one object, each with the member
// that last had it and the findings its value's walk appended. Most objects
// are small, and a slice searched from the start beats a map there; an
// object of many keys (an open map such as headers) gets a map.
type seenKeys struct {
	keys []string
	vals []seenKey
	idx  map[string]int // index into keys, for large objects only
}

type seenKey struct {
	member   int
	from, to int // findings[from:to] came from the member's value
}

// seenKeysMap is the size from which an object's keys are looked up in a
// map.
const seenKeysMap = 16

func newSeenKeys(n int) seenKeys {
	s := seenKeys{keys: make([]string, 0, n), vals: make([]seenKey, 0, n)}
	if n > seenKeysMap {
		s.idx = make(map[string]int, n)
	}
	return s
}

func (s *seenKeys) find(k string) int {
	if s.idx != nil {
		if i, ok := s.idx[k]; ok {
			return i
		}
		return -1
	}
	for i, x := range s.keys {
		if x == k {
			return i
		}
	}
	return -1
}

func (s *seenKeys) get(k string) (seenKey, bool) {
	if i := s.find(k); i >= 0 {
		return s.vals[i], true
	}
	return seenKey{}, false
}

func (s *seenKeys) set(k string, v seenKey) {
	if i := s.find(k); i >= 0 {
		s.vals[i] = v
		return
	}
	if s.idx != nil {
		s.idx[k] = len(s.keys)
	}
	s.keys = append(s.keys, k)
	s.vals = append(s.vals, v)
}

func (s *seenKeys) len() int { return len(s.keys) }

// inRange reports whether v is within [min, max] when both bounds are
// integers; false means "ask big.Rat".
func inRange(v int64, lo, hi *big.Rat) bool {
	if lo != nil {
		if !lo.IsInt() || !lo.Num().IsInt64() || v < lo.Num().Int64() {
			return false
		}
	}
	if hi != nil {
		if !hi.IsInt() || !hi.Num().IsInt64() || v > hi.Num().Int64() {
			return false
		}
	}
	return true
}

// holds evaluates an "if" condition on n. Conditions that only require
// keys and compare scalar members with const or enum are decided here;
// anything else goes to the validator.
func (w *walker) holds(cond *jsonschema.Schema, n *Node, scs []*jsonschema.Schema) bool {
	simple := cond.Ref == nil && len(cond.AllOf) == 0 && cond.If == nil && len(cond.Types) == 0 && cond.AdditionalProperties == nil
	for _, p := range cond.Properties {
		if p.Ref != nil || len(p.AllOf) > 0 || p.If != nil || len(p.Types) > 0 || p.Pattern != nil || p.Minimum != nil || p.Maximum != nil || p.MinLength != -1 || p.MaxLength != -1 {
			simple = false
		}
	}
	if !simple {
		return cond.Validate(w.shallow(n, cond, scs)) == nil
	}
	if n.Kind != Object {
		return true // object keywords do not apply to other types
	}
	for _, k := range cond.Required {
		if n.Present(k) == nil {
			return false
		}
	}
	for k, p := range cond.Properties {
		v := n.Present(k).value()
		if v == nil {
			continue
		}
		canonical := v.Text
		if v.Kind == String {
			canonical = canonicalEnum(v.Text, w.propSchemas(scs, k))
		}
		if len(p.Constant) > 0 && !equalValue(v, canonical, p.Constant[0]) {
			return false
		}
		if len(p.Enum) > 0 && !inEnum(v, canonical, p.Enum) {
			return false
		}
	}
	return true
}
