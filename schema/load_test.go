package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	xjson "github.com/xtls/xray-core/infra/conf/json"
)

type posCase struct {
	pointer   string
	key, val  Pos
	valueText string
}

func TestLoadPositions(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		src   string
		cases []posCase
	}{
		{
			name: "json with comments", file: "a.jsonc",
			src: "// head\n{\n  \"vnext\": [ /* c */ {\n    \"address\": \"ä.example\", # hash\n    \"port\": 443\n  }]\n}\n",
			cases: []posCase{
				{"/vnext/0/address", Pos{4, 5}, Pos{4, 16}, "ä.example"},
				{"/vnext/0/port", Pos{5, 5}, Pos{5, 13}, "443"},
				{"/vnext/0", Pos{}, Pos{3, 22}, ""},
			},
		},
		{
			name: "yaml", file: "a.yaml",
			src: "vnext:\n  - address: example.com\n    port: 443\n    users:\n      - id: \"x\"\n",
			cases: []posCase{
				{"/vnext/0/address", Pos{2, 5}, Pos{2, 14}, "example.com"},
				{"/vnext/0/port", Pos{3, 5}, Pos{3, 11}, "443"},
				{"/vnext/0/users/0/id", Pos{5, 9}, Pos{5, 13}, "x"},
			},
		},
		{
			name: "toml", file: "a.toml",
			src: "[[outbounds]]\nprotocol = \"vmess\"\n\n[[outbounds.settings.vnext]]\naddress = \"example.com\"\nport = 1_000\n",
			cases: []posCase{
				{"/outbounds/0/protocol", Pos{2, 1}, Pos{2, 12}, "vmess"},
				{"/outbounds/0/settings/vnext/0/address", Pos{5, 1}, Pos{5, 11}, "example.com"},
				{"/outbounds/0/settings/vnext/0/port", Pos{6, 1}, Pos{6, 8}, "1000"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Load(tt.file, []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.cases {
				n, m, ok := d.Lookup(c.pointer)
				if !ok {
					t.Errorf("%s: not found", c.pointer)
					continue
				}
				if c.key.IsValid() && (m == nil || m.KeyPos != c.key) {
					t.Errorf("%s: key at %+v, want %+v", c.pointer, m, c.key)
				}
				if n.Pos != c.val {
					t.Errorf("%s: value at %+v, want %+v", c.pointer, n.Pos, c.val)
				}
				if c.valueText != "" && n.Text != c.valueText {
					t.Errorf("%s: value %q, want %q", c.pointer, n.Text, c.valueText)
				}
			}
		})
	}
}

// TestStripCommentsMatchesXray checks the comment filter against Xray's
// own reader (infra/conf/json.Reader): both outputs decode to the same
// value, or both fail.
func TestStripCommentsMatchesXray(t *testing.T) {
	inputs := []string{
		`{"a": 1} // tail`,
		"{\"a\": \"// not a comment\", # hash\n \"b\": 2}",
		"{/* multi\nline */ \"a\": '#'}",
		`{"a": "x\"//y"}`,
		"{\"a\": 1 /* ** */, \"b\": [1, /**/ 2]}",
		"# only a comment\n[1, 2]",
		`{"a": "/*"}`,
		`{"a": 1}/`,
		"{\"url\": \"http://example.com/#x\"}",
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			x, xerr := io.ReadAll(&xjson.Reader{Reader: strings.NewReader(in)})
			if xerr != nil {
				t.Fatal(xerr)
			}
			ours := stripComments([]byte(in))
			if len(ours) != len(in) {
				t.Fatalf("length changed: %d -> %d", len(in), len(ours))
			}
			var a, b any
			errA := json.NewDecoder(bytes.NewReader(x)).Decode(&a)
			errB := json.NewDecoder(bytes.NewReader(ours)).Decode(&b)
			if (errA == nil) != (errB == nil) {
				t.Fatalf("xray %q (err %v), ours %q (err %v)", x, errA, ours, errB)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Errorf("xray decodes %s, ours %s", ja, jb)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            Pos
		msg             string
	}{
		{"trailing comma", "a.json", "{\n  \"a\": 1,\n}", Pos{3, 1}, "trailing comma"},
		{"missing comma", "a.json", "{\"a\": 1 \"b\": 2}", Pos{1, 10}, "comma is probably missing"},
		{"unterminated", "a.json", "{\"a\": \"x", Pos{1, 7}, "unterminated string"},
		{"empty", "a.json", "  // nothing\n", Pos{2, 1}, "empty document"},
		{"single quotes", "a.json", "{'a': 1}", Pos{1, 2}, "double quotes"},
		{"yaml", "a.yaml", "a: 1\nb: c: d\n", Pos{2, 1}, "mapping values"},
		{"toml", "a.toml", "a = \n", Pos{1, 5}, "toml:"},
		{"toml duplicate", "a.toml", "a = 1\na = 2\n", Pos{2, 1}, "defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.file, []byte(tt.src))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("message %q, want it to contain %q", se.Msg, tt.msg)
			}
			if se.Pos.Line != tt.want.Line {
				t.Errorf("at %+v, want line %d", se.Pos, tt.want.Line)
			}
		})
	}
}

func TestLoadLimits(t *testing.T) {
	t.Run("deep json", func(t *testing.T) {
		src := strings.Repeat("[", MaxDepth+10) + strings.Repeat("]", MaxDepth+10)
		if _, err := Load("a.json", []byte(src)); err == nil || !strings.Contains(err.Error(), "nesting") {
			t.Fatalf("err = %v, want a nesting error", err)
		}
	})
	t.Run("yaml billion laughs", func(t *testing.T) {
		src := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
`
		if _, err := Load("a.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "aliases") {
			t.Fatalf("err = %v, want an alias expansion error", err)
		}
	})
	t.Run("yaml merge keys still work", func(t *testing.T) {
		src := "base: &b {port: 443}\nserver:\n  <<: *b\n  address: x\n"
		d, err := Load("a.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if n, _, ok := d.Lookup("/server/port"); !ok || n.Text != "443" {
			t.Fatalf("merged port not found")
		}
	})
}

func TestYAML11Booleans(t *testing.T) {
	// Xray converts YAML with ghodss/yaml (yaml.v2, YAML 1.1): "on" is true.
	d, err := Load("a.yaml", []byte("a: on\nb: 'on'\nc: off\n"))
	if err != nil {
		t.Fatal(err)
	}
	for ptr, want := range map[string]Kind{"/a": Bool, "/b": String, "/c": Bool} {
		if n, _, _ := d.Lookup(ptr); n.Kind != want {
			t.Errorf("%s: kind %s, want %s", ptr, n.Kind, want)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		src  string
		want Format
	}{
		{`{"a": 1}`, JSON},
		{"// c\n[{\"a\": 1}]", JSON},
		{"[[outbounds]]\nprotocol = \"vmess\"", TOML},
		{"[outbounds.settings]\n", TOML},
		{"protocol = \"vmess\"", TOML},
		{"- protocol: vmess\n", YAML},
		{"outbounds:\n  - a: 1\n", YAML},
	}
	for _, tt := range tests {
		if got := Sniff([]byte(tt.src)); got != tt.want {
			t.Errorf("Sniff(%q) = %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestWhere(t *testing.T) {
	d, err := Load("a.json", []byte("{\n  \"port\": 443,\n  \"list\": [\"x\"]\n}"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ptr        string
		key, value Span
		ok         bool
	}{
		{"/port", Span{Pos{2, 3}, Pos{2, 9}}, Span{Pos{2, 11}, Pos{2, 14}}, true},
		{"/list/0", Span{}, Span{Pos{3, 12}, Pos{3, 15}}, true},
		{"", Span{}, Span{Pos{1, 1}, Pos{4, 2}}, true},
		{"/nope", Span{}, Span{}, false},
		{"/list/7", Span{}, Span{}, false},
	}
	for _, tt := range tests {
		k, v, ok := d.Where(tt.ptr)
		if ok != tt.ok || k != tt.key || v != tt.value {
			t.Errorf("Where(%q) = %v %v %v, want %v %v %v", tt.ptr, k, v, ok, tt.key, tt.value, tt.ok)
		}
	}
}

func TestLookupCaseInsensitiveLastWins(t *testing.T) {
	d, err := Load("a.json", []byte(`{"Port": 1, "port": 2, "PORT": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	// the last case-insensitive match wins, as in encoding/json
	if n, _, _ := d.Lookup("/port"); n.Text != "3" {
		t.Errorf("/port = %s, want 3", n.Text)
	}
	if n, _, _ := d.Lookup("/pOrt"); n.Text != "3" {
		t.Errorf("/pOrt = %s, want 3 (last case-insensitive match)", n.Text)
	}
	if got := d.RealPointer("/pOrt"); got != "/PORT" {
		t.Errorf("RealPointer = %q", got)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		src  string
		want DocKind
	}{
		{`{"outbounds": []}`, ConfigKind},
		{`{"protocol": "vmess"}`, OutboundKind},
		{`[{"protocol": "vmess"}]`, OutboundListKind},
		{`{"vnext": []}`, SettingsKind},
		{`{"address": "a", "port": 1, "id": "x"}`, SettingsKind},
		{`{"x": 1}`, UnknownKind},
	}
	for _, tt := range tests {
		d, err := Load("a.json", []byte(tt.src))
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(d.Root); got != tt.want {
			t.Errorf("Detect(%s) = %s, want %s", tt.src, got, tt.want)
		}
	}
}
