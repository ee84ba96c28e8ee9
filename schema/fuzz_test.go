package schema

import (
	"testing"
)

// checkTree asserts the invariants every loaded document keeps: positions
// are 1-based and inside the source, and the tree is finite.
func checkTree(t *testing.T, d *Document) {
	t.Helper()
	lines := 1
	for _, c := range d.Source {
		if c == '\n' {
			lines++
		}
	}
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		if depth > MaxDepth+2 {
			t.Fatalf("tree deeper than MaxDepth")
		}
		if n.Pos.Line < 1 || n.Pos.Col < 1 || int(n.Pos.Line) > lines {
			t.Fatalf("bad position %+v (%d lines)", n.Pos, lines)
		}
		for _, m := range n.Members {
			if m.KeyPos.Line < 1 || int(m.KeyPos.Line) > lines {
				t.Fatalf("bad key position %+v for %q", m.KeyPos, m.Key)
			}
			walk(m.Value, depth+1)
		}
		for _, it := range n.Items {
			walk(it, depth+1)
		}
	}
	walk(d.Root, 0)
}

// checkComments asserts that Comments returns spans in order, apart,
// inside the source, each opening with a comment marker.
func checkComments(t *testing.T, f Format, src []byte) {
	t.Helper()
	last := 0
	for _, c := range Comments(f, src) {
		if c.Start < last || c.End < c.Start || c.End > len(src) {
			t.Fatalf("comment %+v out of order or bounds (after %d, source %d bytes)", c, last, len(src))
		}
		if src[c.Start] != '#' && src[c.Start] != '/' {
			t.Fatalf("comment %+v opens with %q", c, src[c.Start])
		}
		last = c.End
	}
}

func fuzzFormat(f *testing.F, name string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	s, err := Compile()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkComments(t, FormatOf(name, data), data)
		d, err := Load(name, data)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok && err != ErrTooLarge {
				t.Fatalf("error is not a *SyntaxError: %T %v", err, err)
			}
			return
		}
		checkTree(t, d)
		for _, r := range Roots() {
			if _, err := s.Check(r, d.Root, ""); err != nil {
				t.Fatal(err)
			}
		}
		_ = d.RealPointer("/a/0/b")
	})
}

func FuzzLoadJSON(f *testing.F) {
	fuzzFormat(f, "fuzz.jsonc",
		`{"vnext": [{"address": "a", "port": 443, "users": [{"id": "x"}]}]}`,
		"// c\n{\"a\": /* b */ 1, # c\n \"b\": [1, 2.5e3, true, null, \"\\u00e9\"]}",
		`{"a": "unterminated`)
}

func FuzzLoadYAML(f *testing.F) {
	fuzzFormat(f, "fuzz.yaml",
		"outbounds:\n  - protocol: vmess\n    settings:\n      address: a\n      port: 1\n",
		"a: &a [1, 2]\nb: *a\nc:\n  <<: {x: 1}\n",
		"- on\n- 0x10\n- 1.5\n- ~\n")
}

func FuzzLoadTOML(f *testing.F) {
	fuzzFormat(f, "fuzz.toml",
		"[[outbounds]]\nprotocol = \"vmess\"\n[outbounds.settings]\naddress = \"a\"\nport = 1_000\n",
		"a = { b = [1, 2, { c = 3 }] }\nd.e.f = 1979-05-27T07:32:00Z\n",
		"[a]\nb = 1\n[a]\n")
}
