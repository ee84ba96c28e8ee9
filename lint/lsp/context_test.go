package lsp

import (
	"slices"
	"strings"
	"testing"

	"github.com/xvmtools/xvm/schema"
)

// TestCursor reads the cursor (marked |) in documents that are being typed.
func TestCursor(t *testing.T) {
	tests := []struct {
		name    string
		f       schema.Format
		text    string
		path    []string
		inKey   bool
		key     string
		partial string
		quoted  bool
		present []string
	}{
		{"json key", schema.JSON, `{"a": {"b": 1, "c|`, []string{"a"}, true, "", "c", true, []string{"b"}},
		{"json value", schema.JSON, `{"a": [1, {"x": 2}, {"sec": "au|`, []string{"a", "2"}, false, "sec", "au", true, nil},
		{"json comments hide brackets", schema.JSON, "{\"a\": { // { [\n /* } */ \"b\": |", []string{"a"}, false, "b", "", false, nil},
		{"json escaped quote", schema.JSON, `{"a\"{": {"k": "v\"}", "x|`, []string{`a"{`}, true, "", "x", true, []string{"k"}},
		{"json top level", schema.JSON, `{|`, nil, true, "", "", false, nil},
		{"yaml nested items", schema.YAML, "a:\n  - x: 1\n  - y: 2\n    b:\n      - k: v\n        z|", []string{"a", "1", "b", "0"}, true, "", "z", false, []string{"k"}},
		{"yaml new item", schema.YAML, "a:\n  - x: 1\n  - y: 2\n  - |", []string{"a", "2"}, true, "", "", false, nil},
		{"yaml value", schema.YAML, "a:\n  b:\n    c: 'd|", []string{"a", "b"}, false, "c", "d", true, nil},
		{"yaml comments and blank lines", schema.YAML, "a:\n  # x:\n\n  b: 1\n  |", []string{"a"}, true, "", "", false, []string{"b"}},
		{"toml table", schema.TOML, "[a]\nx = 1\n[[a.b]]\n[[a.b]]\ny = 2\n|", []string{"a", "b", "1"}, true, "", "", false, []string{"y"}},
		{"toml nested arrays restart", schema.TOML, "[[o]]\n[[o.v]]\n[[o.v]]\n[[o]]\n[[o.v]]\nk = \"|", []string{"o", "1", "v", "0"}, false, "k", "", true, nil},
		{"toml dotted key", schema.TOML, "[a]\nb.c = |", []string{"a", "b"}, false, "c", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off := strings.Index(tt.text, "|")
			src := []byte(strings.Replace(tt.text, "|", "", 1))
			c := cursorAt(tt.f, src, off)
			if !slices.Equal(c.path, tt.path) || c.inKey != tt.inKey || c.key != tt.key || c.partial != tt.partial || c.quoted != tt.quoted {
				t.Errorf("cursor %+v, want path %q inKey %v key %q partial %q quoted %v", c, tt.path, tt.inKey, tt.key, tt.partial, tt.quoted)
			}
			if c.from+len(c.partial) != off {
				t.Errorf("partial starts at %d, ends at %d, cursor at %d", c.from, c.from+len(c.partial), off)
			}
			if tt.inKey && !slices.Equal(c.present, tt.present) {
				t.Errorf("present %q, want %q", c.present, tt.present)
			}
		})
	}
}
