package schema

import (
	"slices"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	set, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Load("c.json", []byte(`{"outbounds": [{"protocol": "vmess", "settings": {"vnext": [{"users": [{}]}]}},
		{"protocol": "freedom", "settings": {}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		doc      *Node
		path     []string
		ok       bool
		desc     string // a part of the description
		enum     []string
		props    []string // some of the keys
		noProps  []string
		deprecat bool
	}{
		{name: "root", doc: doc.Root, ok: true, desc: "Xray configuration", props: []string{"$schema", "outbounds", "routing"}},
		{name: "user security", doc: doc.Root, path: []string{"outbounds", "0", "settings", "vnext", "0", "users", "0", "security"}, ok: true,
			desc: "加密方式", enum: []string{"auto", "aes-128-gcm", "chacha20-poly1305", "none", "zero"}},
		{name: "keys match case-insensitively", doc: doc.Root, path: []string{"Outbounds", "0", "Settings", "VNext", "0", "Port"}, ok: true, desc: "服务端监听的端口号"},
		{name: "alterId is deprecated", doc: doc.Root, path: []string{"outbounds", "0", "settings", "vnext", "0", "users", "0", "alterId"}, ok: true, deprecat: true, desc: "VMessAEAD"},
		{name: "vmess settings keys", doc: doc.Root, path: []string{"outbounds", "0", "settings"}, ok: true, props: []string{"vnext", "address", "id"}},
		{name: "other protocols' settings are not judged", doc: doc.Root, path: []string{"outbounds", "1", "settings"}, ok: true, noProps: []string{"vnext"}},
		{name: "without a tree both branches count", path: []string{"outbounds", "0", "settings"}, ok: true, props: []string{"vnext"}},
		{name: "unknown key", doc: doc.Root, path: []string{"outbounds", "0", "nonsense"}, ok: false},
		{name: "network enum", path: []string{"outbounds", "0", "streamSettings", "network"}, ok: true, enum: []string{"raw", "ws", "grpc", "xhttp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := set.Describe(ForConfig, tt.doc, tt.path)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if !strings.Contains(d.Title+" "+d.Description, tt.desc) {
				t.Errorf("description %q lacks %q", d.Title+" "+d.Description, tt.desc)
			}
			var enum []string
			for _, v := range d.Enum {
				if s, ok := v.(string); ok {
					enum = append(enum, s)
				}
			}
			for _, e := range tt.enum {
				if !slices.Contains(enum, e) {
					t.Errorf("enum %v lacks %q", enum, e)
				}
			}
			var props []string
			for _, p := range d.Properties {
				props = append(props, p.Name)
				if p.Description.Description == "" && p.Name != "$schema" && p.Title == "" {
					// every property the schema lists has words for hover
					t.Errorf("property %s has no description", p.Name)
				}
			}
			for _, p := range tt.props {
				if !slices.Contains(props, p) {
					t.Errorf("properties %v lack %q", props, p)
				}
			}
			for _, p := range tt.noProps {
				if slices.Contains(props, p) {
					t.Errorf("properties %v have %q", props, p)
				}
			}
			if d.Deprecated != tt.deprecat {
				t.Errorf("deprecated %v", d.Deprecated)
			}
		})
	}
}
