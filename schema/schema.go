// Package schema owns the shape of an Xray VMess configuration: the JSON
// Schema documents (draft 2020-12, embedded), loaders that turn JSON with
// comments, YAML and TOML into one positioned tree, and a checker that
// judges such a tree against the schema the way Xray reads it (keys matched
// case-insensitively, unknown keys ignored by Xray but reported here).
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed xvm.schema.json
var source []byte

// Root names one of the documents `xvm schema --for` prints.
type Root string

// The schema roots.
const (
	// ForSettings is the VMess outbound settings object (vnext or flat form).
	ForSettings Root = "settings"
	// ForOutbound is one OutboundObject.
	ForOutbound Root = "outbound"
	// ForConfig is a whole Xray configuration file.
	ForConfig Root = "config"
)

// Roots lists the schema roots in the order the CLI documents them.
func Roots() []Root { return []Root{ForSettings, ForOutbound, ForConfig} }

// IDBase is the URL the printed schemas are identified by.
const IDBase = "https://xvmtools.github.io/xvm/schema/"

type rootInfo struct {
	def, title, description string
}

func info(r Root) (rootInfo, bool) {
	switch r {
	case ForSettings:
		return rootInfo{"vmessSettings", "Xray VMess outbound settings", "The `settings` object of an Xray-core (v26.3.27) VMess outbound: the seed manual's vnext form or the flat form."}, true
	case ForOutbound:
		return rootInfo{"outbound", "Xray outbound", "One Xray-core (v26.3.27) OutboundObject; VMess settings are judged in full, other protocols' settings are not."}, true
	case ForConfig:
		return rootInfo{"config", "Xray configuration", "A whole Xray-core (v26.3.27) configuration file; outbounds are judged in full, other sections loosely."}, true
	}
	return rootInfo{}, false
}

// JSONSchema returns the JSON Schema document for r, indented, ready to print
// or to save for an editor. It is self-contained (every $ref is local).
func JSONSchema(r Root) ([]byte, error) {
	ri, ok := info(r)
	if !ok {
		return nil, fmt.Errorf("schema: unknown schema %q: want settings, outbound or config", r)
	}
	var src struct {
		Defs json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(source, &src); err != nil {
		return nil, fmt.Errorf("schema: embedded schema is broken: %w", err)
	}
	doc := struct {
		Schema      string          `json:"$schema"`
		ID          string          `json:"$id"`
		Title       string          `json:"title"`
		Description string          `json:"description"`
		Ref         string          `json:"$ref"`
		Defs        json.RawMessage `json:"$defs"`
	}{
		Schema:      "https://json-schema.org/draft/2020-12/schema",
		ID:          IDBase + string(r) + ".json",
		Title:       ri.title,
		Description: ri.description,
		Ref:         "#/$defs/" + ri.def,
		Defs:        src.Defs,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Set holds the compiled schemas. Compile it once and share it; it is safe
// for concurrent use.
type Set struct {
	roots map[Root]*jsonschema.Schema
}

// Compile compiles every schema root.
func Compile() (*Set, error) {
	s := &Set{roots: make(map[Root]*jsonschema.Schema)}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.ExtractAnnotations = true
	for _, r := range Roots() {
		doc, err := JSONSchema(r)
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(IDBase+string(r)+".json", bytes.NewReader(doc)); err != nil {
			return nil, fmt.Errorf("schema: %s: %w", r, err)
		}
	}
	for _, r := range Roots() {
		sc, err := c.Compile(IDBase + string(r) + ".json")
		if err != nil {
			return nil, fmt.Errorf("schema: compile %s: %w", r, err)
		}
		s.roots[r] = sc
	}
	return s, nil
}

// Schema returns the compiled schema for r (nil for an unknown root).
func (s *Set) Schema(r Root) *jsonschema.Schema { return s.roots[r] }

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
)

// Finding is one result of Check. Pointer is the JSON pointer to the key or
// value concerned, spelt as in the document.
type Finding struct {
	Kind    FindingKind
	Pointer string
	// Key is the key as written (UnknownKey, KeyCase, DuplicateKey);
	// Canonical is the known spelling (KeyCase).
	Key, Canonical string
	// Known lists the keys the object may have (UnknownKey).
	Known []string
	// Keyword is the JSON Schema keyword that failed (Violation), and
	// Message the validator's explanation.
	Keyword, Message string
}

// Check judges the subtree n (found at pointer base in its document)
// against root r. Keys and enumerated values are matched the way Xray
// matches them (case-insensitively).
func (s *Set) Check(r Root, n *Node, base string) ([]Finding, error) {
	sc := s.roots[r]
	if sc == nil {
		return nil, fmt.Errorf("schema: unknown schema %q", r)
	}
	w := &walker{}
	inst := w.canon(n, []*jsonschema.Schema{sc}, base)
	err := sc.Validate(inst)
	if err == nil {
		return w.findings, nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return w.findings, fmt.Errorf("schema: validate: %w", err)
	}
	var leaves []*jsonschema.ValidationError
	collectLeaves(ve, &leaves)
	for _, l := range leaves {
		kw := l.KeywordLocation
		if i := strings.LastIndexByte(kw, '/'); i >= 0 {
			kw = kw[i+1:]
		}
		w.findings = append(w.findings, Finding{
			Kind:    Violation,
			Pointer: base + l.InstanceLocation,
			Keyword: kw,
			Message: l.Message,
		})
	}
	return w.findings, nil
}

func collectLeaves(ve *jsonschema.ValidationError, out *[]*jsonschema.ValidationError) {
	if len(ve.Causes) == 0 {
		*out = append(*out, ve)
		return
	}
	for _, c := range ve.Causes {
		collectLeaves(c, out)
	}
}

// walker turns a positioned tree into the plain value the validator
// checks, spelling keys and enumerated values canonically and dropping
// unknown keys (which it reports), so that the validator judges what Xray
// would actually read.
type walker struct {
	findings []Finding
}

// expand resolves $ref, allOf and if/then/else into the list of schemas
// that apply to n.
func (w *walker) expand(scs []*jsonschema.Schema, n *Node) []*jsonschema.Schema {
	var out []*jsonschema.Schema
	var add func(sc *jsonschema.Schema, depth int)
	add = func(sc *jsonschema.Schema, depth int) {
		if sc == nil || depth > 32 {
			return
		}
		out = append(out, sc)
		add(sc.Ref, depth+1)
		for _, a := range sc.AllOf {
			add(a, depth+1)
		}
		if sc.If != nil {
			if sc.If.Validate(w.shallow(n, out)) == nil {
				add(sc.Then, depth+1)
			} else {
				add(sc.Else, depth+1)
			}
		}
	}
	for _, sc := range scs {
		add(sc, 0)
	}
	return out
}

// shallow is n's scalar members, canonicalised, for evaluating "if".
func (w *walker) shallow(n *Node, scs []*jsonschema.Schema) any {
	if n.Kind != Object {
		return scalarValue(n, nil)
	}
	m := make(map[string]any, len(n.Members))
	for _, mem := range n.Members {
		if mem.Value.Kind == Object || mem.Value.Kind == Array {
			continue
		}
		key, props := mem.Key, []*jsonschema.Schema(nil)
		for _, sc := range scs {
			for k, p := range sc.Properties {
				if strings.EqualFold(k, mem.Key) {
					key = k
					props = append(props, p)
				}
			}
		}
		m[key] = scalarValue(mem.Value, props)
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

// canonicalEnum returns the enum member s matches case-insensitively, or s.
func canonicalEnum(s string, scs []*jsonschema.Schema) string {
	for _, sc := range scs {
		for _, e := range sc.Enum {
			if es, ok := e.(string); ok && es == s {
				return s
			}
		}
	}
	for _, sc := range scs {
		for _, e := range sc.Enum {
			if es, ok := e.(string); ok && strings.EqualFold(es, s) {
				return es
			}
		}
	}
	return s
}

func (w *walker) canon(n *Node, scs []*jsonschema.Schema, ptr string) any {
	switch n.Kind {
	case Object:
		all := w.expand(scs, n)
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
		out := make(map[string]any, len(n.Members))
		seen := make(map[string]int, len(n.Members))
		for i, mem := range n.Members {
			key, props, known := w.resolveKey(mem.Key, all)
			cptr := Child(ptr, mem.Key)
			if !known {
				key = mem.Key
				if closed {
					w.findings = append(w.findings, Finding{Kind: UnknownKey, Pointer: cptr, Key: mem.Key, Known: knownKeys(all)})
					continue
				}
				props = extra
			} else if key != mem.Key {
				w.findings = append(w.findings, Finding{Kind: KeyCase, Pointer: cptr, Key: mem.Key, Canonical: key})
			}
			if j, dup := seen[key]; dup {
				w.findings = append(w.findings, Finding{Kind: DuplicateKey, Pointer: Child(ptr, n.Members[j].Key), Key: n.Members[j].Key, Canonical: key})
			}
			seen[key] = i
			out[key] = w.canon(mem.Value, props, cptr)
		}
		return out
	case Array:
		all := w.expand(scs, n)
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			var items []*jsonschema.Schema
			for _, sc := range all {
				if i < len(sc.PrefixItems) {
					items = append(items, sc.PrefixItems[i])
				} else if sc.Items2020 != nil {
					items = append(items, sc.Items2020)
				} else if s, ok := sc.Items.(*jsonschema.Schema); ok {
					items = append(items, s)
				}
			}
			out[i] = w.canon(it, items, Index(ptr, i))
		}
		return out
	case String:
		if len(scs) == 0 {
			return n.Text
		}
		return canonicalEnum(n.Text, w.expand(scs, n))
	default:
		return scalarValue(n, nil)
	}
}

// resolveKey finds key among the properties of scs: exactly, or else
// case-insensitively as Xray does.
func (w *walker) resolveKey(key string, scs []*jsonschema.Schema) (canonical string, props []*jsonschema.Schema, known bool) {
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
