package lsp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// place is a key or value of a parsed document found at the cursor.
type place struct {
	path     []string // the member's path (its key last) or an element's
	from, to int      // its bytes
}

// placeAt finds the key or scalar value of doc that contains byte off.
// Containers need no span: every key and scalar has one.
func placeAt(doc *schema.Document, t *text, off int) (place, bool) {
	var found place
	ok := false
	var walk func(n *schema.Node, path []string, depth int)
	walk = func(n *schema.Node, path []string, depth int) {
		if ok || depth > schema.MaxDepth {
			return
		}
		inside := func(from, to schema.Pos) (int, int, bool) {
			a, b := t.byteOf(from), t.byteOf(to)
			return a, b, a <= off && off <= b && b > a
		}
		switch n.Kind {
		case schema.Object:
			for i := range n.Members {
				m := &n.Members[i]
				p := append(append([]string(nil), path...), m.Key)
				if a, b, in := inside(m.KeyPos, m.KeyEnd); in {
					found, ok = place{path: p, from: a, to: b}, true
					return
				}
				if m.Value.Kind != schema.Object && m.Value.Kind != schema.Array {
					if a, b, in := inside(m.Value.Pos, m.Value.End); in {
						found, ok = place{path: p, from: a, to: b}, true
						return
					}
				}
				walk(m.Value, p, depth+1)
			}
		case schema.Array:
			for i, it := range n.Items {
				p := append(append([]string(nil), path...), strconv.Itoa(i))
				if it.Kind != schema.Object && it.Kind != schema.Array {
					if a, b, in := inside(it.Pos, it.End); in {
						found, ok = place{path: p, from: a, to: b}, true
						return
					}
				}
				walk(it, p, depth+1)
			}
		}
	}
	walk(doc.Root, nil, 0)
	return found, ok
}

// schemaFor is the schema root, tree and path to describe a place of a
// document of kind k: an outbound list is described item by item.
func schemaFor(k schema.DocKind, root *schema.Node, path []string) (schema.Root, *schema.Node, []string) {
	if k == schema.OutboundListKind {
		var item *schema.Node
		if len(path) > 0 {
			if i, err := strconv.Atoi(path[0]); err == nil && root != nil && i >= 0 && i < len(root.Items) {
				item = root.Items[i]
			}
			path = path[1:]
		}
		return schema.ForOutbound, item, path
	}
	return schema.RootFor(k), root, path
}

// guessKind tells a document's kind from its text when it does not parse.
func guessKind(f schema.Format, src []byte) schema.DocKind {
	s := string(src)
	trimmed := strings.TrimLeft(s, " \t\r\n\ufeff")
	switch {
	case strings.Contains(s, "outbounds"):
		return schema.ConfigKind
	case f == schema.JSON && strings.HasPrefix(trimmed, "["), f == schema.YAML && strings.HasPrefix(trimmed, "- "):
		return schema.OutboundListKind
	case strings.Contains(s, "protocol") || strings.Contains(s, "streamSettings"):
		return schema.OutboundKind
	case strings.Contains(s, "vnext"):
		return schema.SettingsKind
	}
	return schema.ConfigKind
}

// hover describes the key or value under the cursor with the schema's
// words (which carry the seed manual's wording where it has one).
func (s *server) hover(p textDocumentPositionParams) (any, error) {
	s.mu.Lock()
	d := s.docs[p.TextDocument.URI]
	if d == nil {
		s.mu.Unlock()
		return nil, nil
	}
	src, name := d.text, d.name()
	s.mu.Unlock()
	t := newText(src, s.enc)
	off := t.offset(p.Position)
	var (
		path     []string
		from, to int
		kind     schema.DocKind
		root     *schema.Node
	)
	if doc, err := schema.Load(name, src); err == nil {
		pl, ok := placeAt(doc, t, off)
		if !ok {
			return nil, nil
		}
		path, from, to, kind, root = pl.path, pl.from, pl.to, schema.Detect(doc.Root), doc.Root
	} else {
		// While the text does not parse, hover on a key still works from
		// the cursor's context.
		f := schema.FormatOf(name, src)
		end := off
		for end < len(src) && isWordByte(src[end]) {
			end++
		}
		c := cursorAt(f, src, end)
		if !c.inKey || c.partial == "" {
			return nil, nil
		}
		path, from, to, kind = append(c.path, c.partial), c.from, end, guessKind(f, src)
	}
	r, node, sp := schemaFor(kind, root, path)
	desc, ok := s.schemas.Describe(r, node, sp)
	if !ok {
		return nil, nil
	}
	rng := t.rangeOf(from, to)
	return hover{Contents: markupContent{Kind: "markdown", Value: hoverText(path[len(path)-1], desc)}, Range: &rng}, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '$'
}

// hoverText renders a description as Markdown: the key, its type and
// default, the description (one paragraph per line), allowed values.
func hoverText(key string, d schema.Description) string {
	var b strings.Builder
	head := "`" + key + "`"
	if _, err := strconv.Atoi(key); err == nil && d.Title != "" {
		head = d.Title
	}
	b.WriteString("**" + head + "**")
	if len(d.Types) > 0 {
		b.WriteString(" · " + strings.Join(d.Types, " | "))
	}
	if d.Default != nil {
		b.WriteString(" · default `" + literal(d.Default) + "`")
	}
	if d.Deprecated {
		b.WriteString(" · *deprecated*")
	}
	b.WriteString("\n")
	if d.Title != "" && head != d.Title {
		b.WriteString("\n" + d.Title + "\n")
	}
	for _, para := range strings.Split(d.Description, "\n") {
		if para = strings.TrimSpace(para); para != "" {
			b.WriteString("\n" + para + "\n")
		}
	}
	if len(d.Enum) > 0 {
		vals := make([]string, 0, len(d.Enum))
		for _, v := range d.Enum {
			vals = append(vals, "`"+literal(v)+"`")
		}
		b.WriteString("\nAllowed: " + strings.Join(vals, ", ") + "\n")
	}
	return b.String()
}

// literal writes a schema value as JSON.
func literal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
