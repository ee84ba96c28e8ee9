package schema

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

func mustCompile(t testing.TB) *Set {
	t.Helper()
	s, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJSONSchemaDocuments checks each printed document: valid JSON,
// draft 2020-12, compiles on its own, and every property says what it is.
func TestJSONSchemaDocuments(t *testing.T) {
	for _, r := range Roots() {
		t.Run(string(r), func(t *testing.T) {
			doc, err := JSONSchema(r)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal(doc, &v); err != nil {
				t.Fatal(err)
			}
			if v["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v", v["$schema"])
			}
			// Compiling validates the document against the draft 2020-12
			// meta-schema.
			c := jsonschema.NewCompiler()
			c.Draft = jsonschema.Draft2020
			if err := c.AddResource("mem://x.json", strings.NewReader(string(doc))); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile("mem://x.json"); err != nil {
				t.Fatal(err)
			}
			defs := v["$defs"].(map[string]any)
			var missing []string
			var walk func(path string, n any)
			walk = func(path string, n any) {
				m, ok := n.(map[string]any)
				if !ok {
					return
				}
				if props, ok := m["properties"].(map[string]any); ok {
					for k, p := range props {
						pm := p.(map[string]any)
						desc, _ := pm["description"].(string)
						if ref, ok := pm["$ref"].(string); ok && desc == "" {
							target := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
							desc, _ = target["description"].(string)
						}
						if desc == "" {
							missing = append(missing, path+"/"+k)
						}
					}
				}
				for k, c := range m {
					if k == "if" {
						continue // a condition, not a description of the value
					}
					walk(path+"/"+k, c)
				}
			}
			walk("", v)
			if len(missing) > 0 {
				sort.Strings(missing)
				t.Errorf("properties without a description: %v", missing)
			}
		})
	}
}

func TestSeedWordingInSchema(t *testing.T) {
	doc, err := JSONSchema(ForSettings)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VMess 用户的主 ID。必须是一个合法的 UUID。", "服务端监听的端口号", "\"default\": \"auto\"", "\"chacha20-poly1305\""} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("settings schema lacks %q", want)
		}
	}
}

func violations(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Kind == Violation {
			out = append(out, strings.ToLower(f.Pointer))
		}
	}
	sort.Strings(out)
	out = dedupe(out)
	return out
}

func dedupe(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || s[i-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func leafPointers(err error) []string {
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []string{"!" + err.Error()}
	}
	var out []string
	var walk func(v *jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		if len(v.Causes) == 0 {
			out = append(out, strings.ToLower(v.InstanceLocation))
			return
		}
		for _, c := range v.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out)
	return dedupe(out)
}

// TestCheckAgreesWithValidator proves that Check, which applies the
// compiled schema itself while walking the positioned tree, finds exactly
// the values jsonschema/v5's validator refuses in the same (canonical)
// document.
func TestCheckAgreesWithValidator(t *testing.T) {
	s := mustCompile(t)
	files, _ := filepath.Glob("../testdata/lint/ok/*")
	errFiles, _ := filepath.Glob("../testdata/lint/err/*")
	files = append(files, errFiles...)
	extra := map[string]string{
		"types.json":    `{"protocol": "vmess", "tag": 1, "settings": {"vnext": [{"address": "a", "port": "x", "users": [{"id": 5, "level": -1, "alterId": 70000}]}]}, "mux": {"concurrency": 99999, "xudpProxyUDP443": "x"}}`,
		"config.json":   `{"transport": {"a": 1}, "outbounds": [{"protocol": "freedom", "settings": {"x": 1}, "streamSettings": {"network": "ws", "wsSettings": {"headers": {"a": 1}}}}], "routing": {"rules": {}}}`,
		"enums.json":    `{"protocol": "VMESS", "settings": {"address": "a", "port": 1, "id": "x", "security": "AUTO"}, "streamSettings": {"network": "TCP", "security": "TLS", "tlsSettings": {"fingerprint": "FireFox", "minVersion": "1.4"}}}`,
		"realty.json":   `{"protocol": "vmess", "streamSettings": {"security": "reality", "realitySettings": {"shortId": "xyz", "show": "no"}}}`,
		"hysteria.json": `{"protocol": "vmess", "streamSettings": {"network": "hysteria", "hysteriaSettings": {"version": 1}, "sockopt": {"tcpFastOpen": "yes"}}}`,
	}
	type doc struct {
		name string
		data []byte
	}
	var docs []doc
	for _, f := range files {
		if strings.HasSuffix(f, ".out") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc{f, b})
	}
	for k, v := range extra {
		docs = append(docs, doc{k, []byte(v)})
	}
	for _, d := range docs {
		t.Run(filepath.Base(d.name), func(t *testing.T) {
			dd, err := Load(d.name, d.data)
			if err != nil {
				return // syntax cases
			}
			r := RootFor(Detect(dd.Root))
			subtrees := []*Node{dd.Root}
			if Detect(dd.Root) == OutboundListKind {
				subtrees = dd.Root.Items
			}
			for _, n := range subtrees {
				fs, err := s.Check(r, n, "")
				if err != nil {
					t.Fatal(err)
				}
				inst, err := s.Canonical(r, n)
				if err != nil {
					t.Fatal(err)
				}
				want := leafPointers(s.Schema(r).Validate(inst))
				got := violations(fs)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Check and the validator disagree (-validator +Check):\n%s", diff)
				}
			}
		})
	}
}

func TestCheckFindings(t *testing.T) {
	s := mustCompile(t)
	d, err := Load("a.json", []byte(`{"vnext": [{"address": "a", "port": 1, "users": [{"ID": "x", "secuirty": "none", "id": "y"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.Check(ForSettings, d.Root, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Pointer+" "+map[FindingKind]string{UnknownKey: "unknown", KeyCase: "case", DuplicateKey: "dup", Violation: "violation"}[f.Kind])
	}
	want := []string{
		"/vnext/0/users/0/ID case",
		"/vnext/0/users/0/secuirty unknown",
		"/vnext/0/users/0/id dup",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestCheckNullIsAbsent checks that a member set to null where the schema
// wants another type is a NullValue finding on its own key, not a type
// violation, and counts as absent: a required key set to null is missing.
func TestCheckNullIsAbsent(t *testing.T) {
	s := mustCompile(t)
	tests := []struct {
		doc  string
		want []string
	}{
		{`{"protocol": "vmess", "tag": null, "settings": {"address": "a", "port": 1, "id": "x", "security": null}, "mux": null}`,
			[]string{"/tag null at 1:23", "/settings/security null at 1:87", "/mux null at 1:106"}},
		{`{"protocol": null, "tag": "a"}`, []string{"/protocol null at 1:2", " violation required"}},
	}
	for _, tt := range tests {
		d, err := Load("a.json", []byte(tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		fs, err := s.Check(ForOutbound, d.Root, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			k := map[FindingKind]string{NullValue: "null"}[f.Kind]
			if f.Kind == Violation {
				k = "violation " + f.Detail.Keyword
			}
			if f.Member != nil {
				k += fmt.Sprintf(" at %d:%d", f.Member.KeyPos.Line, f.Member.KeyPos.Col)
			}
			got = append(got, f.Pointer+" "+k)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: findings (-want +got):\n%s", tt.doc, diff)
		}
	}
}

func TestPresentSkipsNull(t *testing.T) {
	d, err := Load("a.json", []byte(`{"port": 443, "Port": null, "a": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := d.Root.Present("port"); m == nil || m.Value.Text != "443" {
		t.Errorf("Present(port) = %+v, want the 443", m)
	}
	if m := d.Root.Present("a"); m != nil {
		t.Errorf("Present(a) = %+v, want nil", m)
	}
	if m := d.Root.Member("a"); m == nil {
		t.Error("Member(a) = nil, want the null member")
	}
}
