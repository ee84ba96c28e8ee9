package lsp

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/xvmtools/xvm/lint"
)

// at is the position of the n-th byte after the first occurrence of
// marker in text (UTF-16 columns).
func at(t *testing.T, text, marker string, n int) position {
	t.Helper()
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("%q not in the text", marker)
	}
	return newText([]byte(text), utf16).position(i + n)
}

func docParams(uri string, p position) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": uri}, "position": p}
}

const yamlDoc = `outbounds:
  - protocol: vmess
    settings:
      vnext:
        - address: a.example.com
          port: 443
          users:
            - id: 27848739-7e62-4138-9fd3-098a63964b6b
              security: auto
`

const tomlDoc = `[[outbounds]]
protocol = "vmess"

[[outbounds.settings.vnext]]
address = "a.example.com"
port = 443

[[outbounds.settings.vnext.users]]
id = "27848739-7e62-4138-9fd3-098a63964b6b"
security = "auto"
`

func TestHover(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	broken := strings.Replace(jsonDoc, `"security": "auto",`, `"alterId": 0, "security": `, 1)
	docs := map[string]string{"file:///w/a.json": jsonDoc, "file:///w/a.yaml": yamlDoc, "file:///w/a.toml": tomlDoc, "file:///w/broken.json": broken}
	for uri, text := range docs {
		c.open(uri, "", text)
	}
	tests := []struct {
		name, uri, marker string
		n                 int
		want              []string // parts of the Markdown; nil: no hover
	}{
		{"json key", "file:///w/a.json", `"security"`, 3, []string{"**`security`**", "加密方式", "Allowed: `\"auto\"`, `\"aes-128-gcm\"`", "default `\"auto\"`"}},
		{"json value", "file:///w/a.json", `"auto"`, 2, []string{"**`security`**", "加密方式"}},
		{"json port", "file:///w/a.json", `"port"`, 1, []string{"**`port`**", "服务端监听的端口号"}},
		{"yaml key", "file:///w/a.yaml", "address:", 2, []string{"**`address`**", "服务端地址"}},
		{"yaml value", "file:///w/a.yaml", "auto", 1, []string{"**`security`**"}},
		{"toml key", "file:///w/a.toml", "port =", 0, []string{"**`port`**", "服务端监听的端口号"}},
		{"toml table key", "file:///w/a.toml", "users]]", 1, []string{"**`users`**", "UserObject"}},
		{"unknown key", "file:///w/a.json", `"secuirty"`, 2, nil},
		{"broken document", "file:///w/broken.json", `"alterId"`, 3, []string{"**`alterId`**", "*deprecated*", "VMessAEAD"}},
		{"outside any key", "file:///w/a.json", "{", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := c.call("textDocument/hover", docParams(tt.uri, at(t, docs[tt.uri], tt.marker, tt.n)))
			if m.Error != nil {
				t.Fatal(m.Error.Message)
			}
			if tt.want == nil {
				if string(m.Result) != "null" {
					t.Errorf("hover %s, want null", m.Result)
				}
				return
			}
			var h hover
			if err := jsonUnmarshal(m.Result, &h); err != nil {
				t.Fatal(err)
			}
			if h.Contents.Kind != "markdown" {
				t.Errorf("kind %q", h.Contents.Kind)
			}
			for _, w := range tt.want {
				if !strings.Contains(h.Contents.Value, w) {
					t.Errorf("hover lacks %q:\n%s", w, h.Contents.Value)
				}
			}
		})
	}
}

func labels(cl completionList) []string {
	var out []string
	for _, it := range cl.Items {
		out = append(out, it.Label)
	}
	sort.Strings(out)
	return out
}

func TestCompletion(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	tests := []struct {
		name, uri, text, marker string
		n                       int
		want, not               []string
		edit                    string // NewText of the first wanted item
	}{
		{name: "json key in a half-typed string", uri: "file:///w/k.json",
			text:   `{"outbounds": [{"protocol": "vmess", "settings": {"vnext": [{"users": [{"id": "x", "sec`,
			marker: `"sec`, n: 4, want: []string{"security", "level", "alterId"}, not: []string{"id", "vnext"}, edit: "security"},
		{name: "json key without quotes yet", uri: "file:///w/k2.json",
			text:   "{\"outbounds\": [{\"protocol\": \"vmess\", \"streamSettings\": {\n  ",
			marker: "{\n  ", n: 4, want: []string{"network", "security", "wsSettings"}, edit: `"network": `},
		{name: "json enum value", uri: "file:///w/v.json",
			text:   `{"outbounds": [{"protocol": "vmess", "settings": {"vnext": [{"users": [{"security": "`,
			marker: `"security": "`, n: 13, want: []string{"auto", "aes-128-gcm", "chacha20-poly1305", "none", "zero"}, edit: "auto"},
		{name: "json boolean", uri: "file:///w/b.json",
			text:   `{"outbounds": [{"protocol": "vmess", "mux": {"enabled": `,
			marker: `"enabled": `, n: 11, want: []string{"true", "false"}, edit: "true"},
		{name: "outbound list", uri: "file:///w/l.json",
			text:   `[{"protocol": "vmess", "settings": {"vnext": [{"port": 443, "add`,
			marker: `"add`, n: 4, want: []string{"address"}, not: []string{"port"}, edit: "address"},
		{name: "yaml key", uri: "file:///w/k.yaml",
			text:   "outbounds:\n  - protocol: vmess\n    settings:\n      vnext:\n        - address: a.example.com\n          users:\n            - id: x\n              sec",
			marker: "              sec", n: 17, want: []string{"security"}, not: []string{"id"}, edit: "security: "},
		{name: "yaml new list item", uri: "file:///w/i.yaml",
			text:   "outbounds:\n  - tag: a\n    protocol: vmess\n    streamSettings:\n      network: ws\n  - prot",
			marker: "  - prot", n: 8, want: []string{"protocol"}, edit: "protocol: "},
		{name: "yaml value", uri: "file:///w/v.yaml",
			text:   "outbounds:\n  - protocol: vmess\n    streamSettings:\n      network: ",
			marker: "network: ", n: 9, want: []string{"ws", "grpc", "xhttp", "raw"}, edit: "ws"},
		{name: "toml key", uri: "file:///w/k.toml",
			text:   "[[outbounds]]\nprotocol = \"vmess\"\n[[outbounds.settings.vnext]]\naddress = \"a\"\n[[outbounds.settings.vnext.users]]\nid = \"x\"\nsec",
			marker: "\nsec", n: 4, want: []string{"security"}, not: []string{"id"}, edit: "security = "},
		{name: "toml value", uri: "file:///w/v.toml",
			text:   "[[outbounds]]\nprotocol = \"vmess\"\n[outbounds.streamSettings]\nsecurity = ",
			marker: "security = ", n: 11, want: []string{"tls", "reality", "none"}, edit: `"tls"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": tt.uri, "languageId": "", "version": 1, "text": tt.text}})
			var cl completionList
			c.result("textDocument/completion", docParams(tt.uri, at(t, tt.text, tt.marker, tt.n)), &cl)
			got := labels(cl)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("completions %v lack %q", got, w)
				}
			}
			for _, n := range tt.not {
				if slices.Contains(got, n) {
					t.Errorf("completions %v offer %q, which is there already", got, n)
				}
			}
			for _, it := range cl.Items {
				if it.Label == tt.want[0] {
					if it.TextEdit == nil || it.TextEdit.NewText != tt.edit {
						t.Errorf("%s inserts %+v, want %q", it.Label, it.TextEdit, tt.edit)
					}
					if it.TextEdit != nil && it.TextEdit.Range.End != at(t, tt.text, tt.marker, tt.n) {
						t.Errorf("%s edit ends at %+v, want the cursor", it.Label, it.TextEdit.Range.End)
					}
				}
			}
		})
	}
}

// applyEdits applies LSP text edits (UTF-16 ranges) to text.
func applyEdits(t *testing.T, text string, edits []textEdit) string {
	t.Helper()
	tx := newText([]byte(text), utf16)
	type be struct {
		from, to int
		s        string
	}
	var bes []be
	for _, e := range edits {
		bes = append(bes, be{tx.offset(e.Range.Start), tx.offset(e.Range.End), e.NewText})
	}
	sort.Slice(bes, func(i, j int) bool { return bes[i].from > bes[j].from })
	out := text
	for _, e := range bes {
		out = out[:e.from] + e.s + out[e.to:]
	}
	return out
}

func TestCodeActions(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	uri := "file:///w/fix.yaml"
	text := yamlDoc + "  - protocol: vmess\n    settings: {address: b.example.com, port: \"8443\", id: 27848739-7e62-4138-9fd3-098a63964b6c, alterId: 4}\n"
	c.open(uri, "yaml", text)

	// The cursor on the quoted port: its quick fix.
	p := at(t, text, `"8443"`, 1)
	var actions []codeAction
	c.result("textDocument/codeAction", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"range":        map[string]any{"start": p, "end": p},
		"context":      map[string]any{"diagnostics": []any{}},
	}, &actions)
	var quick, all *codeAction
	for i := range actions {
		switch actions[i].Kind {
		case "quickfix":
			quick = &actions[i]
		case "source.fixAll.xvm":
			all = &actions[i]
		}
	}
	if quick == nil || quick.Title != "write the port as the number 8443" || !quick.IsPreferred {
		t.Fatalf("quick fix %+v in %+v", quick, actions)
	}
	if len(actions) != 2 {
		t.Errorf("%d actions, want the port's quick fix and fix-all: %+v", len(actions), actions)
	}
	got := applyEdits(t, text, quick.Edit.Changes[uri])
	if want := strings.Replace(text, `"8443"`, "8443", 1); got != want {
		t.Errorf("quick fix gives:\n%s\nwant:\n%s", got, want)
	}

	// Fix-all is what xvm lint --fix writes.
	if all == nil {
		t.Fatal("no source.fixAll.xvm action")
	}
	l, _ := lint.New(lint.Options{Now: testNow})
	res, err := l.FixBytes(context.Background(), "/w/fix.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := applyEdits(t, text, all.Edit.Changes[uri]); got != string(res.Source) {
		t.Errorf("fix-all gives:\n%s\nwant (xvm lint --fix):\n%s", got, res.Source)
	}

	// Only quick fixes when asked for them; nothing where nothing is fixable.
	p = at(t, text, "protocol", 0)
	c.result("textDocument/codeAction", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"range":        map[string]any{"start": p, "end": p},
		"context":      map[string]any{"diagnostics": []any{}, "only": []string{"quickfix"}},
	}, &actions)
	if len(actions) != 0 {
		t.Errorf("actions away from any finding: %+v", actions)
	}
}
