package schema

import (
	"sort"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Description is what the schema says about one place in a document, for
// editors: hover text, allowed values, and the keys an object may have.
type Description struct {
	Title, Description string
	// Types are the JSON types allowed ("string", "integer", ...).
	Types []string
	// Enum lists the allowed values; Default is the default (nil when the
	// schema names none).
	Enum       []any
	Default    any
	Examples   []any
	Deprecated bool
	// Properties are the keys an object here may have, sorted by name.
	Properties []Property
}

// Property is one key an object may have.
type Property struct {
	Name string
	Description
}

// Describe walks the schema of root r along path, the object keys and
// array indices of a place in a document of that root (keys matched as
// Xray matches them), and says what applies there. doc is the document's
// tree when it could be parsed, else nil: it decides conditional parts of
// the schema (an outbound's settings are VMess settings only when its
// protocol is vmess); without it both branches count. ok is false when the
// schema says nothing about that place (an unknown key, say).
func (s *Set) Describe(r Root, doc *Node, path []string) (Description, bool) {
	sc := s.roots[r]
	if sc == nil {
		return Description{}, false
	}
	w := &walker{set: s}
	scs := []*jsonschema.Schema{sc}
	n := doc
	for _, tok := range path {
		all := w.expand(scs, n)
		var next []*jsonschema.Schema
		if i, err := strconv.Atoi(tok); err == nil && (n == nil || n.Kind == Array) {
			for _, x := range all {
				if x.Items2020 != nil {
					next = append(next, x.Items2020)
				} else if it, ok := x.Items.(*jsonschema.Schema); ok {
					next = append(next, it)
				}
			}
			if n != nil && i >= 0 && i < len(n.Items) {
				n = n.Items[i]
			} else {
				n = nil
			}
		} else {
			_, next, _ = resolveKey(tok, all)
			n = n.Get(tok)
		}
		if len(next) == 0 {
			return Description{}, false
		}
		scs = next
	}
	return w.describe(w.expand(scs, n), true), true
}

// describe merges the annotations of the schemas that apply to one place:
// the first title and description (a property's own before its $ref's),
// every allowed value once, and (withProps) the union of the properties.
func (w *walker) describe(all []*jsonschema.Schema, withProps bool) Description {
	var d Description
	seenEnum := make(map[string]bool)
	props := make(map[string][]*jsonschema.Schema)
	for _, sc := range all {
		if d.Title == "" {
			d.Title = sc.Title
		}
		if d.Description == "" {
			d.Description = sc.Description
		}
		if d.Default == nil {
			d.Default = sc.Default
		}
		if len(d.Types) == 0 {
			d.Types = sc.Types
		}
		d.Examples = append(d.Examples, sc.Examples...)
		d.Deprecated = d.Deprecated || sc.Deprecated
		for _, v := range append(append([]any(nil), sc.Enum...), sc.Constant...) {
			k := strconv.Quote(fmtAny(v))
			if !seenEnum[k] {
				seenEnum[k] = true
				d.Enum = append(d.Enum, v)
			}
		}
		if withProps {
			for name, p := range sc.Properties {
				props[name] = append(props[name], p)
			}
		}
	}
	for name, ps := range props {
		var list []*jsonschema.Schema
		for _, p := range ps {
			list = append(list, w.set.static[p].list...)
		}
		pd := w.describe(list, false)
		d.Properties = append(d.Properties, Property{Name: name, Description: pd})
	}
	sort.Slice(d.Properties, func(i, j int) bool { return d.Properties[i].Name < d.Properties[j].Name })
	return d
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return "s:" + x
	case nil:
		return "null"
	}
	return "v:" + strconv.Quote(fmtValue(v))
}

func fmtValue(v any) string {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	if s, ok := v.(interface{ String() string }); ok {
		return s.String()
	}
	return ""
}
