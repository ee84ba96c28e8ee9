package lsp

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// complete offers the keys an object may have, or the values a key allows,
// from the schema, at the cursor.
func (s *server) complete(p textDocumentPositionParams) (any, error) {
	s.mu.Lock()
	d := s.docs[p.TextDocument.URI]
	if d == nil {
		s.mu.Unlock()
		return completionList{Items: []completionItem{}}, nil
	}
	src, name := d.text, d.name()
	s.mu.Unlock()
	t := newText(src, s.enc)
	off := t.offset(p.Position)
	f := schema.FormatOf(name, src)
	c := cursorAt(f, src, off)

	var root *schema.Node
	kind := guessKind(f, src)
	if doc, err := schema.Load(name, src); err == nil {
		root, kind = doc.Root, schema.Detect(doc.Root)
	}
	rng := t.rangeOf(c.from, off)
	items := []completionItem{}
	if c.inKey {
		r, node, path := schemaFor(kind, root, c.path)
		desc, ok := s.schemas.Describe(r, node, path)
		if !ok {
			return completionList{Items: items}, nil
		}
		present := presentKeys(node, path)
		if root == nil {
			present = make(map[string]bool, len(c.present))
			for _, k := range c.present {
				present[strings.ToLower(k)] = true
			}
		}
		for _, prop := range desc.Properties {
			if present[strings.ToLower(prop.Name)] && !strings.EqualFold(prop.Name, c.partial) {
				continue
			}
			items = append(items, completionItem{
				Label:         prop.Name,
				Kind:          kindProperty,
				Detail:        strings.Join(prop.Types, " | "),
				Documentation: &markupContent{Kind: "markdown", Value: hoverText(prop.Name, prop.Description)},
				Deprecated:    prop.Deprecated,
				FilterText:    prop.Name,
				TextEdit:      &textEdit{Range: rng, NewText: keyText(f, prop.Name, c.quoted)},
			})
		}
		return completionList{Items: items}, nil
	}
	r, node, path := schemaFor(kind, root, c.valuePath())
	desc, ok := s.schemas.Describe(r, node, path)
	if !ok {
		return completionList{Items: items}, nil
	}
	values := desc.Enum
	if len(values) == 0 && len(desc.Types) == 1 && desc.Types[0] == "boolean" {
		values = []any{true, false}
	}
	if len(values) == 0 && desc.Default != nil {
		values = []any{desc.Default}
	}
	for i, v := range values {
		label := literal(v)
		if str, ok := v.(string); ok {
			if str == "" {
				continue // "" means "not set": nothing to type
			}
			label = str
		}
		kind := kindEnum
		if _, isStr := v.(string); !isStr {
			kind = kindValue
		}
		items = append(items, completionItem{
			Label:      label,
			Kind:       kind,
			Detail:     strings.Join(desc.Types, " | "),
			SortText:   string(rune('a' + min(i, 25))),
			FilterText: label,
			TextEdit:   &textEdit{Range: rng, NewText: valueText(f, v, c.quoted)},
		})
	}
	return completionList{Items: items}, nil
}

// presentKeys lists (lower-cased) the keys the object at path already has.
func presentKeys(node *schema.Node, path []string) map[string]bool {
	n := node
	for _, tok := range path {
		if n == nil {
			return nil
		}
		switch n.Kind {
		case schema.Object:
			n = n.Get(tok)
		case schema.Array:
			i := 0
			for _, c := range tok {
				if c < '0' || c > '9' {
					return nil
				}
				i = i*10 + int(c-'0')
				if i > len(n.Items) {
					return nil
				}
			}
			if i >= len(n.Items) {
				return nil
			}
			n = n.Items[i]
		default:
			return nil
		}
	}
	if n == nil || n.Kind != schema.Object {
		return nil
	}
	out := make(map[string]bool, len(n.Members))
	for _, m := range n.Members {
		out[strings.ToLower(m.Key)] = true
	}
	return out
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// keyText is what completing a key inserts, in the document's syntax.
func keyText(f schema.Format, key string, quoted bool) string {
	if quoted {
		return key // the user opened the quotes
	}
	switch f {
	case schema.YAML:
		if plainKey.MatchString(key) {
			return key + ": "
		}
		return literal(key) + ": "
	case schema.TOML:
		if plainKey.MatchString(key) {
			return key + " = "
		}
		return literal(key) + " = "
	}
	return literal(key) + ": "
}

// valueText is what completing a value inserts.
func valueText(f schema.Format, v any, quoted bool) string {
	s, isStr := v.(string)
	switch {
	case isStr && quoted:
		return s
	case isStr && f == schema.YAML && yamlPlain.MatchString(s) && !yamlSpecial(s):
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// yamlPlain matches strings YAML reads back as themselves without quotes.
var yamlPlain = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./-]*$`)

// yamlSpecial are plain scalars YAML reads as something other than a
// string (YAML 1.1 booleans included, which Xray's YAML reader uses).
func yamlSpecial(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null":
		return true
	}
	return false
}
