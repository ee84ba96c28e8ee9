package schema

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

type tomlConv struct {
	name  string
	p     *unstable.Parser
	li    *Lines
	nodes int
	// index holds the members of tables that have many, by key: TOML keys
	// are unique and matched exactly, and a table may hold any number.
	index map[*Node]map[string]int
}

func parseTOML(name string, data []byte, lines *Lines) (root *Node, err error) {
	c := &tomlConv{name: name, p: &unstable.Parser{}, li: lines}
	c.p.Reset(data)
	root = &Node{Kind: Object, Pos: Pos{1, 1}, End: Pos{1, 1}}
	cur := root
	for c.p.NextExpression() {
		e := c.p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			if err := c.keyValue(cur, e, 1); err != nil {
				return nil, err
			}
		case unstable.Table:
			keys := c.keys(e.Key())
			t, err := c.walk(root, keys, true)
			if err != nil {
				return nil, err
			}
			cur = t
		case unstable.ArrayTable:
			keys := c.keys(e.Key())
			parent, err := c.walk(root, keys[:len(keys)-1], true)
			if err != nil {
				return nil, err
			}
			last := keys[len(keys)-1]
			m := c.member(parent, last.Key)
			if m == nil {
				m = c.add(parent, Member{Key: last.Key, KeyPos: last.KeyPos, KeyEnd: last.KeyEnd,
					Value: &Node{Kind: Array, Pos: last.KeyPos, End: last.KeyEnd}})
			}
			if m.Value.Kind != Array {
				return nil, &SyntaxError{File: name, Pos: last.KeyPos, Msg: fmt.Sprintf("key %q is already defined as a %s, not an array of tables", last.Key, m.Value.Kind)}
			}
			t := &Node{Kind: Object, Pos: last.KeyPos, End: last.KeyEnd}
			m.Value.Items = append(m.Value.Items, t)
			cur = t
		}
	}
	if perr := c.p.Error(); perr != nil {
		return nil, c.parseError(perr)
	}
	return root, nil
}

func (c *tomlConv) parseError(err error) error {
	var pe *unstable.ParserError
	pos := Pos{1, 1}
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = pe.Message
		if off, ok := c.offsetOf(pe.Highlight); ok {
			pos = c.li.Pos(off)
		}
	}
	return &SyntaxError{File: c.name, Pos: pos, Msg: "toml: " + msg}
}

// offsetOf finds where a sub-slice of the input starts, without trusting
// that it is one.
func (c *tomlConv) offsetOf(b []byte) (int, bool) {
	data := c.p.Data()
	if b == nil {
		return 0, false
	}
	off := cap(data) - cap(b)
	if off < 0 || off > len(data) {
		return 0, false
	}
	return off, true
}

type tomlKey struct {
	Key            string
	KeyPos, KeyEnd Pos
}

func (c *tomlConv) rng(r unstable.Range) (Pos, Pos) {
	return c.li.Pos(int(r.Offset)), c.li.Pos(int(r.Offset + r.Length))
}

func (c *tomlConv) keys(it unstable.Iterator) []tomlKey {
	var ks []tomlKey
	for it.Next() {
		k := it.Node()
		s, e := c.rng(k.Raw)
		ks = append(ks, tomlKey{Key: string(k.Data), KeyPos: s, KeyEnd: e})
	}
	return ks
}

// indexFrom is the member count from which a table's keys are indexed;
// below it, a scan is cheaper than a map.
const indexFrom = 16

// member returns the member of table n whose key is exactly key, or nil.
func (c *tomlConv) member(n *Node, key string) *Member {
	if idx := c.index[n]; idx != nil {
		if i, ok := idx[key]; ok {
			return &n.Members[i]
		}
		return nil
	}
	for i := range n.Members {
		if n.Members[i].Key == key {
			return &n.Members[i]
		}
	}
	return nil
}

// add appends m to table n and returns it, indexing n's keys once it has
// many.
func (c *tomlConv) add(n *Node, m Member) *Member {
	n.Members = append(n.Members, m)
	i := len(n.Members) - 1
	switch idx := c.index[n]; {
	case idx != nil:
		idx[m.Key] = i
	case len(n.Members) >= indexFrom:
		if c.index == nil {
			c.index = make(map[*Node]map[string]int)
		}
		idx = make(map[string]int, 2*len(n.Members))
		for j, x := range n.Members {
			idx[x.Key] = j
		}
		c.index[n] = idx
	}
	return &n.Members[i]
}

// walk descends from n through keys, creating tables as needed. An array of
// tables is entered at its last element, as TOML says.
func (c *tomlConv) walk(n *Node, keys []tomlKey, create bool) (*Node, error) {
	for _, k := range keys {
		m := c.member(n, k.Key)
		if m == nil {
			if !create {
				return nil, &SyntaxError{File: c.name, Pos: k.KeyPos, Msg: fmt.Sprintf("no table %q", k.Key)}
			}
			c.nodes++
			m = c.add(n, Member{Key: k.Key, KeyPos: k.KeyPos, KeyEnd: k.KeyEnd,
				Value: &Node{Kind: Object, Pos: k.KeyPos, End: k.KeyEnd}})
		}
		switch v := m.Value; {
		case v.Kind == Object:
			n = v
		case v.Kind == Array && len(v.Items) > 0 && v.Items[len(v.Items)-1].Kind == Object:
			n = v.Items[len(v.Items)-1]
		default:
			return nil, &SyntaxError{File: c.name, Pos: k.KeyPos, Msg: fmt.Sprintf("key %q is already a %s, not a table", k.Key, v.Kind)}
		}
	}
	return n, nil
}

func (c *tomlConv) keyValue(table *Node, e *unstable.Node, depth int) error {
	keys := c.keys(e.Key())
	if len(keys) == 0 {
		return &SyntaxError{File: c.name, Pos: table.Pos, Msg: "toml: key expected"}
	}
	parent, err := c.walk(table, keys[:len(keys)-1], true)
	if err != nil {
		return err
	}
	last := keys[len(keys)-1]
	if c.member(parent, last.Key) != nil {
		return &SyntaxError{File: c.name, Pos: last.KeyPos, Msg: fmt.Sprintf("toml: key %q is defined twice", last.Key)}
	}
	v, err := c.value(e.Value(), last.KeyEnd, depth)
	if err != nil {
		return err
	}
	c.add(parent, Member{Key: last.Key, KeyPos: last.KeyPos, KeyEnd: last.KeyEnd, Value: v})
	return nil
}

func (c *tomlConv) value(v *unstable.Node, fallback Pos, depth int) (*Node, error) {
	if depth > MaxDepth {
		return nil, &SyntaxError{File: c.name, Pos: fallback, Msg: fmt.Sprintf("nesting deeper than %d levels", MaxDepth)}
	}
	c.nodes++
	if c.nodes > MaxNodes {
		return nil, &SyntaxError{File: c.name, Pos: fallback, Msg: fmt.Sprintf("more than %d values", MaxNodes)}
	}
	n := &Node{Pos: fallback, End: fallback}
	if v.Raw.Length > 0 {
		n.Pos, n.End = c.rng(v.Raw)
	}
	switch v.Kind {
	case unstable.String:
		n.Kind, n.Text = String, string(v.Data)
	case unstable.Bool:
		n.Kind, n.Text = Bool, string(v.Data)
	case unstable.Integer:
		s := strings.ReplaceAll(string(v.Data), "_", "")
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return nil, &SyntaxError{File: c.name, Pos: n.Pos, Msg: fmt.Sprintf("toml: integer %s out of range", v.Data)}
		}
		n.Kind, n.Text = Number, strconv.FormatInt(i, 10)
	case unstable.Float:
		s := strings.ReplaceAll(string(v.Data), "_", "")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, &SyntaxError{File: c.name, Pos: n.Pos, Msg: fmt.Sprintf("toml: %s cannot be represented in JSON", v.Data)}
		}
		n.Kind, n.Text = Number, strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(n.Text, ".eE") {
			n.Text += ".0"
		}
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		n.Kind, n.Text = String, string(v.Data)
	case unstable.Array:
		n.Kind = Array
		it := v.Children()
		first := true
		for it.Next() {
			ch := it.Node()
			if ch.Kind == unstable.Comment {
				continue
			}
			item, err := c.value(ch, n.Pos, depth+1)
			if err != nil {
				return nil, err
			}
			if first && v.Raw.Length == 0 {
				n.Pos = item.Pos
				first = false
			}
			n.Items = append(n.Items, item)
		}
	case unstable.InlineTable:
		n.Kind = Object
		it := v.Children()
		for it.Next() {
			ch := it.Node()
			if ch.Kind != unstable.KeyValue {
				continue
			}
			if err := c.keyValue(n, ch, depth+1); err != nil {
				return nil, err
			}
		}
	default:
		return nil, &SyntaxError{File: c.name, Pos: n.Pos, Msg: fmt.Sprintf("toml: unsupported value kind %s", v.Kind)}
	}
	return n, nil
}
