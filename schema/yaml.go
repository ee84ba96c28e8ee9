package schema

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

type yamlConv struct {
	name    string
	nodes   int
	aliased int // values produced by expanding aliases
	inAlias int
	lines   int // yaml.v3 may place an empty document past the last line
}

func (c *yamlConv) pos(line, col int) Pos {
	if line > c.lines {
		line, col = c.lines, 1
	}
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	return Pos{Line: int32(line), Col: int32(col)}
}

// maxAliasNodes bounds what aliases may expand to (billion laughs).
const maxAliasNodes = 100_000

func parseYAML(name string, data []byte) (*Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if root.Kind == 0 || (root.Kind == yaml.DocumentNode && len(root.Content) == 0) {
		return nil, &SyntaxError{File: name, Pos: Pos{1, 1}, Msg: "empty document: expected a mapping or a sequence"}
	}
	c := &yamlConv{name: name, lines: 1 + bytes.Count(data, []byte{'\n'})}
	return c.node(&root, 0)
}

// yamlError turns yaml.v3's "yaml: line N: msg" into a positioned error.
func yamlError(name string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return &SyntaxError{File: name, Pos: Pos{Line: int32(line), Col: 1}, Msg: "yaml: " + msg}
}

func (c *yamlConv) errAt(n *yaml.Node, format string, args ...any) error {
	return &SyntaxError{File: c.name, Pos: Pos{Line: int32(n.Line), Col: int32(n.Column)}, Msg: fmt.Sprintf(format, args...)}
}

func (c *yamlConv) node(y *yaml.Node, depth int) (*Node, error) {
	if depth > MaxDepth {
		return nil, c.errAt(y, "nesting deeper than %d levels (or an alias that refers to itself)", MaxDepth)
	}
	c.nodes++
	if c.nodes > MaxNodes {
		return nil, c.errAt(y, "document has more than %d values", MaxNodes)
	}
	if c.inAlias > 0 {
		c.aliased++
		if c.aliased > maxAliasNodes {
			return nil, c.errAt(y, "aliases expand to more than %d values: expand them by hand or simplify the anchors", maxAliasNodes)
		}
	}
	pos := c.pos(y.Line, y.Column)
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &Node{Kind: Null, Pos: pos, End: pos}, nil
		}
		return c.node(y.Content[0], depth)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, c.errAt(y, "unknown alias")
		}
		c.inAlias++
		n, err := c.node(y.Alias, depth+1)
		c.inAlias--
		if err != nil {
			return nil, err
		}
		return n, nil
	case yaml.SequenceNode:
		n := &Node{Kind: Array, Pos: pos, End: pos, Items: make([]*Node, 0, len(y.Content))}
		for _, it := range y.Content {
			v, err := c.node(it, depth+1)
			if err != nil {
				return nil, err
			}
			n.Items = append(n.Items, v)
		}
		return n, nil
	case yaml.MappingNode:
		n := &Node{Kind: Object, Pos: pos, End: pos, Members: make([]Member, 0, len(y.Content)/2)}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				// "<<: *base" or "<<: [*a, *b]": splice the referenced
				// mappings' members in, as yaml.v2 (and so Xray) does.
				srcs := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					srcs = v.Content
				}
				for _, s := range srcs {
					mv, err := c.node(s, depth+1)
					if err != nil {
						return nil, err
					}
					if mv.Kind != Object {
						return nil, c.errAt(s, "merge key '<<' needs a mapping")
					}
					n.Members = append(n.Members, mv.Members...)
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, c.errAt(k, "mapping keys must be plain scalars")
			}
			val, err := c.node(v, depth+1)
			if err != nil {
				return nil, err
			}
			kp := c.pos(k.Line, k.Column)
			n.Members = append(n.Members, Member{Key: k.Value, KeyPos: kp, KeyEnd: scalarEnd(k, kp), Value: val})
		}
		return n, nil
	case yaml.ScalarNode:
		return c.scalar(y)
	}
	return nil, c.errAt(y, "unsupported YAML node")
}

func scalarEnd(y *yaml.Node, start Pos) Pos {
	w := utf8.RuneCountInString(y.Value)
	if y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		w += 2
	}
	if strings.ContainsRune(y.Value, '\n') || y.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return Pos{Line: start.Line, Col: start.Col + 1}
	}
	return Pos{Line: start.Line, Col: start.Col + int32(w)}
}

// yaml11Bool recognises the plain scalars YAML 1.1 (yaml.v2, which Xray's
// ghodss/yaml uses) reads as booleans while yaml.v3 reads them as strings.
func yaml11Bool(s string) (value, ok bool) {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON":
		return true, true
	case "n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

func (c *yamlConv) scalar(y *yaml.Node) (*Node, error) {
	p := c.pos(y.Line, y.Column)
	n := &Node{Pos: p, End: scalarEnd(y, p)}
	plain := y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	if plain && y.Tag == "!!str" {
		if b, ok := yaml11Bool(y.Value); ok {
			n.Kind, n.Text = Bool, strconv.FormatBool(b)
			return n, nil
		}
	}
	switch y.ShortTag() {
	case "!!null":
		n.Kind = Null
	case "!!bool":
		var b bool
		if err := y.Decode(&b); err != nil {
			return nil, c.errAt(y, "invalid boolean %q", y.Value)
		}
		n.Kind, n.Text = Bool, strconv.FormatBool(b)
	case "!!int":
		var v int64
		if err := y.Decode(&v); err != nil {
			var u uint64
			if err2 := y.Decode(&u); err2 != nil {
				return nil, c.errAt(y, "integer %q out of range", y.Value)
			}
			n.Kind, n.Text = Number, strconv.FormatUint(u, 10)
			return n, nil
		}
		n.Kind, n.Text = Number, strconv.FormatInt(v, 10)
	case "!!float":
		var f float64
		if err := y.Decode(&f); err != nil {
			return nil, c.errAt(y, "invalid number %q", y.Value)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, c.errAt(y, "%q cannot be represented in JSON", y.Value)
		}
		n.Kind, n.Text = Number, strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(n.Text, ".eE") {
			n.Text += ".0" // keep it a float: Xray's integer fields refuse it too
		}
	case "!!timestamp":
		n.Kind, n.Text = String, y.Value
	case "!!binary":
		n.Kind, n.Text = String, y.Value
	default:
		n.Kind, n.Text = String, y.Value
	}
	return n, nil
}
