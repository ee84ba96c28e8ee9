package lint

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xvmtools/xvm/schema"
)

// fixFormats are the syntaxes every fixable rule has a golden case in.
var fixFormats = []string{".jsonc", ".yaml", ".toml"}

// fixExempt lists the fixable rules and formats without a golden case,
// with the reason.
var fixExempt = map[string]string{
	"syntax.yaml": "Xray and xvm read YAML with a byte-order mark: nothing to fix",
}

// fixCases lists the inputs under testdata/lint/fix (not the expected
// outputs under fixed/, nor the .out files).
func fixCases(t *testing.T) []string {
	t.Helper()
	all, _ := filepath.Glob("../testdata/lint/fix/*")
	var out []string
	for _, f := range all {
		if st, err := os.Stat(f); err != nil || st.IsDir() || strings.HasSuffix(f, ".out") || strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatal("no cases in testdata/lint/fix")
	}
	return out
}

// TestFixGolden applies --fix to every case and compares the result with
// fixed/<case> byte for byte, and what was fixed and what remains with
// <case>.out. Then it checks the promises of --fix independently of the
// fixer's own bookkeeping: linting the result again finds nothing the
// input did not have and none of what was fixed, finds nothing left to
// fix, and Xray's loader builds the result whenever it built the input.
func TestFixGolden(t *testing.T) {
	for _, f := range fixCases(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			l, name, data, res := fixFile(t, f)
			if !res.Changed() {
				t.Fatal("nothing fixed")
			}
			fixedPath := filepath.Join(filepath.Dir(f), "fixed", filepath.Base(f))
			report := fixReport(res)
			if *update {
				if err := os.MkdirAll(filepath.Dir(fixedPath), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(fixedPath, res.Source, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f+".out", []byte(report), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(fixedPath)
			if err != nil {
				t.Fatalf("%v (run go test ./lint -run TestFixGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), string(res.Source)); diff != "" {
				t.Errorf("fixed file differs (-want +got):\n%s", diff)
			}
			wantOut, err := os.ReadFile(f + ".out")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(wantOut), report); diff != "" {
				t.Errorf("fix report differs (-want +got):\n%s", diff)
			}
			checkFixPromises(t, l, name, data, res)
		})
	}
}

// fixFile runs --fix on a fixture the way the golden tests lint it and
// returns the linter, the name it used, the input and the result.
func fixFile(t *testing.T, f string) (*Linter, string, []byte, FixResult) {
	t.Helper()
	l := newTestLinter(t, optionsFor(f))
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(filepath.ToSlash(f), "../")
	res, err := l.FixBytes(context.Background(), name, data)
	if err != nil {
		t.Fatal(err)
	}
	return l, name, data, res
}

// fixReport lists what was fixed (with the fix's title) and what remains.
func fixReport(res FixResult) string {
	var b strings.Builder
	for _, d := range res.Fixed {
		fmt.Fprintf(&b, "fixed %d:%d [%s] %s\n", d.Pos.Line, d.Pos.Col, d.Rule, d.Fix.Title)
	}
	for _, d := range res.Withheld {
		fmt.Fprintf(&b, "withheld %d:%d [%s] %s\n", d.Pos.Line, d.Pos.Col, d.Rule, d.Fix.Title)
	}
	for _, d := range res.Remaining {
		fmt.Fprintf(&b, "remains %d:%d [%s] %s\n", d.Pos.Line, d.Pos.Col, d.Rule, d.Message)
	}
	return b.String()
}

// checkFixPromises checks what --fix promises about its result.
func checkFixPromises(t *testing.T, l *Linter, name string, orig []byte, res FixResult) {
	t.Helper()
	ctx := context.Background()
	before, err := l.lintFixes(ctx, name, orig)
	if err != nil {
		t.Fatal(err)
	}
	after, err := l.lintFixes(ctx, name, res.Source)
	if err != nil {
		t.Fatal(err)
	}
	// Findings are compared by rule and message: the fixes here rename no
	// key a message names, so a finding that survives keeps its words.
	type rm struct{ rule, msg string }
	left := make(map[rm]int)
	exposed := false
	for _, d := range before {
		left[rm{d.Rule, d.Message}]++
		if d.Rule == "syntax" {
			exposed = true // the input could not be read: everything is new
		}
	}
	for _, d := range res.Fixed {
		left[rm{d.Rule, d.Message}]--
	}
	withheld := make(map[rm]bool)
	for _, d := range res.Withheld {
		withheld[rm{d.Rule, d.Message}] = true
	}
	for _, d := range after {
		if d.Fix != nil && !withheld[rm{d.Rule, d.Message}] {
			t.Errorf("after --fix, still fixable: %s", d)
		}
		if exposed {
			continue
		}
		k := rm{d.Rule, d.Message}
		if left[k] <= 0 {
			t.Errorf("after --fix, new or not fixed: %s", d)
			continue
		}
		left[k]--
	}
	// Fixing again changes nothing.
	again, err := l.FixBytes(ctx, name, res.Source)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Source) != string(res.Source) {
		t.Errorf("fixing twice differs from fixing once:\n%s", cmp.Diff(string(res.Source), string(again.Source)))
	}
	// Xray's loader builds what it built before, to the same config but
	// for the fields the fixes name.
	if was, err := xrayConfig(name, orig); err == nil {
		now, err := xrayConfig(name, res.Source)
		if err != nil {
			t.Errorf("Xray built the input but not the fixed file: %v", err)
			return
		}
		named := fixedFields(res.Fixed)
		for _, p := range treeDiff("", xrayTree(was.ProtoReflect()), xrayTree(now.ProtoReflect()), nil) {
			if !namesField(p, named) {
				t.Errorf("after --fix Xray's config differs at %s, which no fix names (fixes name %v)", p, named)
			}
		}
	}
}

// renameRE finds the new name in a rename fix's title.
var renameRE = regexp.MustCompile("to `([^`]+)`")

// fixedFields are the keys the applied fixes name: the key each finding is
// on and, for a rename, the key's new name.
func fixedFields(fixed []Diagnostic) []string {
	var out []string
	for _, d := range fixed {
		if i := strings.LastIndexByte(d.Pointer, '/'); i >= 0 {
			out = append(out, d.Pointer[i+1:])
		}
		if m := renameRE.FindStringSubmatch(d.Fix.Title); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// namesField reports whether a path of Xray's built config is a field one
// of the keys names: an element of the path starts with the key, ignoring
// case (`security` names Xray's `securitySettings`).
func namesField(path string, keys []string) bool {
	for _, el := range strings.Split(path, "/") {
		for _, k := range keys {
			if k != "" && strings.HasPrefix(strings.ToLower(el), strings.ToLower(k)) {
				return true
			}
		}
	}
	return false
}

// TestFixCoverage: every fixable rule has a golden case in JSONC, YAML and
// TOML (or a reason in fixExempt), and every rule with a case is fixable.
func TestFixCoverage(t *testing.T) {
	have := map[string]bool{}
	for _, f := range fixCases(t) {
		have[filepath.Base(f)] = true
	}
	for _, m := range Rules() {
		for _, ext := range fixFormats {
			name := m.ID + ext
			switch {
			case m.Fixable && !have[name] && fixExempt[name] == "":
				t.Errorf("fixable rule %s has no case testdata/lint/fix/%s", m.ID, name)
			case !m.Fixable && have[name]:
				t.Errorf("testdata/lint/fix/%s: rule %s is not fixable", name, m.ID)
			}
		}
	}
	var fixable []string
	for _, m := range Rules() {
		if m.Fixable {
			fixable = append(fixable, m.ID)
		}
	}
	want := []string{"syntax", "unknown-key", "key-case", "alter-id", "security-unknown", "port-range", "allow-insecure", "path-slash"}
	slices.Sort(fixable)
	slices.Sort(want)
	if !slices.Equal(fixable, want) {
		t.Errorf("fixable rules %v, want %v", fixable, want)
	}
}

// TestFixProperties runs --fix over every lint fixture (and the converter's
// Xray inputs): fixing twice equals fixing once, nothing new appears, and
// Xray's loader builds the result whenever it built the input.
func TestFixProperties(t *testing.T) {
	var files []string
	for _, g := range []string{"../testdata/lint/ok/*", "../testdata/lint/err/*", "../testdata/convert/xray*"} {
		m, _ := filepath.Glob(g)
		for _, f := range m {
			if !strings.HasSuffix(f, ".out") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 20 {
		t.Fatalf("only %d fixtures", len(files))
	}
	fixed := 0
	for _, f := range files {
		t.Run(strings.TrimPrefix(filepath.ToSlash(f), "../testdata/"), func(t *testing.T) {
			l, name, data, res := fixFile(t, f)
			if res.Changed() {
				fixed++
			}
			checkFixPromises(t, l, name, data, res)
		})
	}
	t.Logf("%d of %d fixtures changed by --fix", fixed, len(files))
}

// TestFixEdges covers the places where a fix must hold back or take care,
// each with the exact text --fix leaves.
func TestFixEdges(t *testing.T) {
	const id = `"id": "27848739-7e62-4138-9fd3-098a63964b6b"`
	tests := []struct {
		name, file, in, want string
		seed                 bool
		withheld             int
	}{
		{
			name: "rename withheld when the value is wrong under the new name",
			file: "a.json",
			in:   `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "secuirty": "aes-256-gcm"}]}]}`,
			want: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "secuirty": "aes-256-gcm"}]}]}`, withheld: 1,
		},
		{
			name: "no rename between two close keys",
			file: "a.json",
			in:   `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, ` + id + `}, "streamSettings": {"xcpSettings": {}}}`,
			want: `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, ` + id + `}, "streamSettings": {"xcpSettings": {}}}`,
		},
		{
			name: "no rename onto a key that is there",
			file: "a.json",
			in:   `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "Level": 1, "level": 2}]}]}`,
			want: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "Level": 1, "level": 2}]}]}`,
		},
		{
			name: "alterId > 0 stays for the seed manual's Xray",
			file: "a.json", seed: true,
			in:   `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "alterId": 4}]}]}`,
			want: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "alterId": 4}]}]}`,
		},
		{
			name: "only member of a JSON object",
			file: "a.json",
			in:   "{\"outbounds\": [{\"protocol\": \"vmess\", \"settings\": {\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{" + id + "}]}]},\n \"streamSettings\": {\"security\": \"tls\", \"tlsSettings\": {\n    \"allowInsecure\": true\n }}}]}",
			want: "{\"outbounds\": [{\"protocol\": \"vmess\", \"settings\": {\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{" + id + "}]}]},\n \"streamSettings\": {\"security\": \"tls\", \"tlsSettings\": {\n }}}]}",
		},
		{
			name: "a comment between key and value keeps the member",
			file: "a.jsonc",
			in:   `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "alterId": /* legacy */ 4}]}]}`,
			want: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `, "alterId": /* legacy */ 4}]}]}`,
		},
		{
			name: "a comment on the line before stays",
			file: "a.jsonc",
			in:   "{\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{\n  " + id + ",\n  // keep me\n  \"alterId\": 4\n}]}]}",
			want: "{\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{\n  " + id + "\n  // keep me\n}]}]}",
		},
		{
			name: "YAML anchor shared by two outbounds is left alone",
			file: "a.yaml",
			in:   "base: &u {id: 27848739-7e62-4138-9fd3-098a63964b6b, alterId: 4}\noutbounds:\n  - protocol: vmess\n    settings: {vnext: [{address: a.example.com, port: 443, users: [*u]}]}\n  - protocol: vmess\n    settings: {vnext: [{address: b.example.com, port: 443, users: [*u]}]}\n",
			want: "base: &u {id: 27848739-7e62-4138-9fd3-098a63964b6b, alterId: 4}\noutbounds:\n  - protocol: vmess\n    settings: {vnext: [{address: a.example.com, port: 443, users: [*u]}]}\n  - protocol: vmess\n    settings: {vnext: [{address: b.example.com, port: 443, users: [*u]}]}\n",
		},
		{
			name: "YAML block scalar path is left alone",
			file: "a.yaml",
			in:   "protocol: vmess\nsettings: {address: a.example.com, port: 443, id: 27848739-7e62-4138-9fd3-098a63964b6b}\nstreamSettings:\n  network: ws\n  wsSettings:\n    path: |-\n      ws\n",
			want: "protocol: vmess\nsettings: {address: a.example.com, port: 443, id: 27848739-7e62-4138-9fd3-098a63964b6b}\nstreamSettings:\n  network: ws\n  wsSettings:\n    path: |-\n      ws\n",
		},
		{
			name: "TOML dotted key is left alone",
			file: "a.toml",
			in:   "[[outbounds]]\nprotocol = \"vmess\"\n[[outbounds.settings.vnext]]\naddress = \"a.example.com\"\nport = 443\n[[outbounds.settings.vnext.users]]\nid = \"27848739-7e62-4138-9fd3-098a63964b6b\"\n[[outbounds]]\nprotocol = \"vmess\"\nsettings.address = \"b.example.com\"\nsettings.port = 443\nsettings.id = \"27848739-7e62-4138-9fd3-098a63964b6c\"\nsettings.alterId = 4\n",
			want: "[[outbounds]]\nprotocol = \"vmess\"\n[[outbounds.settings.vnext]]\naddress = \"a.example.com\"\nport = 443\n[[outbounds.settings.vnext.users]]\nid = \"27848739-7e62-4138-9fd3-098a63964b6b\"\n[[outbounds]]\nprotocol = \"vmess\"\nsettings.address = \"b.example.com\"\nsettings.port = 443\nsettings.id = \"27848739-7e62-4138-9fd3-098a63964b6c\"\nsettings.alterId = 4\n",
		},
		{
			name: "TOML table header in the wrong case is left alone",
			file: "a.toml",
			in:   "[[outbounds]]\nprotocol = \"vmess\"\n[outbounds.Settings]\naddress = \"a.example.com\"\nport = 443\nid = \"27848739-7e62-4138-9fd3-098a63964b6b\"\n",
			want: "[[outbounds]]\nprotocol = \"vmess\"\n[outbounds.Settings]\naddress = \"a.example.com\"\nport = 443\nid = \"27848739-7e62-4138-9fd3-098a63964b6b\"\n",
		},
		{
			name: "escaped JSON path gets its slash inside the quotes",
			file: "a.json",
			in:   `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, ` + id + `}, "streamSettings": {"network": "ws", "wsSettings": {"path": "w\u0073"}}}`,
			want: `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, ` + id + `}, "streamSettings": {"network": "ws", "wsSettings": {"path": "/w\u0073"}}}`,
		},
		{
			name: "multi-byte text before a fix",
			file: "a.jsonc",
			in:   "{\"protocol\": \"vmess\", \"tag\": \"代理—✓\", \"settings\": {\"address\": \"a.example.com\", \"port\": \"443\", " + id + "}}",
			want: "{\"protocol\": \"vmess\", \"tag\": \"代理—✓\", \"settings\": {\"address\": \"a.example.com\", \"port\": 443, " + id + "}}",
		},
		{
			name: "first of several inline members",
			file: "a.json",
			in:   `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{"alterId": 0, ` + id + `}]}]}`,
			want: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + `}]}]}`,
		},
		{
			name: "members after a block comment on the removed member's line stay",
			file: "a.jsonc",
			in:   "{\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{\n  \"alterId\": 0 /* old */, \"security\": \"none\", \"level\": 1,\n  " + id + "\n}]}]}",
			want: "{\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{\n  \"security\": \"none\", \"level\": 1,\n  " + id + "\n}]}]}",
		},
		{
			name: "a member after allowInsecure and a block comment stays",
			file: "a.jsonc",
			in:   "{\"protocol\": \"vmess\", \"settings\": {\"address\": \"a.example.com\", \"port\": 443, " + id + "}, \"streamSettings\": {\"security\": \"tls\", \"tlsSettings\": {\n  \"allowInsecure\": true /* self-signed */, \"serverName\": \"real.example.com\"\n}}}",
			want: "{\"protocol\": \"vmess\", \"settings\": {\"address\": \"a.example.com\", \"port\": 443, " + id + "}, \"streamSettings\": {\"security\": \"tls\", \"tlsSettings\": {\n  \"serverName\": \"real.example.com\"\n}}}",
		},
		{
			name: "fixes in an object too large to scan",
			file: "a.json",
			in:   `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + strings.Repeat(`, "email": "a@example.com"`, 18) + `, "Level": 1, "secuirty": "auto", "alterId": 0}]}]}`,
			want: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + strings.Repeat(`, "email": "a@example.com"`, 18) + `, "level": 1, "security": "auto"}]}]}`,
		},
		{
			name: "no rename onto a key a large object has",
			file: "a.json",
			in:   `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + strings.Repeat(`, "email": "a@example.com"`, 18) + `, "Level": 1, "LEVEL": 2}]}]}`,
			want: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{` + id + strings.Repeat(`, "email": "a@example.com"`, 18) + `, "Level": 1, "LEVEL": 2}]}]}`,
		},
		{
			name: "a large YAML mapping whose merged keys come first",
			file: "a.yaml",
			in:   "base: &b {email: a@example.com}\nvnext:\n  - address: a.example.com\n    port: 443\n    users:\n      - <<: *b\n        id: 27848739-7e62-4138-9fd3-098a63964b6b\n" + strings.Repeat("        email: a@example.com\n", 17) + "        Level: 1\n        alterId: 0\n",
			want: "base: &b {email: a@example.com}\nvnext:\n  - address: a.example.com\n    port: 443\n    users:\n      - <<: *b\n        id: 27848739-7e62-4138-9fd3-098a63964b6b\n" + strings.Repeat("        email: a@example.com\n", 17) + "        level: 1\n",
		},
		{
			name: "member ending a line with others before it",
			file: "a.json",
			in:   "{\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{" + id + ", \"alterId\": 0,\n  \"level\": 0}]}]}",
			want: "{\"vnext\": [{\"address\": \"a.example.com\", \"port\": 443, \"users\": [{" + id + ",\n  \"level\": 0}]}]}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{}
			if tt.seed {
				opts.Runtime = RuntimeSeed
			}
			l := newTestLinter(t, opts)
			res, err := l.FixBytes(context.Background(), tt.file, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(res.Source)); diff != "" {
				t.Errorf("fixed text (-want +got):\n%s", diff)
			}
			if len(res.Withheld) != tt.withheld {
				t.Errorf("withheld %d fixes, want %d: %v", len(res.Withheld), tt.withheld, res.Withheld)
			}
			checkFixPromises(t, l, tt.file, []byte(tt.in), res)
		})
	}
}

// TestFixesOption: a lint works fixes out only when asked, and keeps them
// only for AttachFixes.
func TestFixesOption(t *testing.T) {
	data, err := os.ReadFile("../testdata/lint/fix/port-range.jsonc")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		fixes        Fixes
		fixable, fix bool
	}{
		{NoFixes, false, false},
		{CountFixes, true, false},
		{AttachFixes, true, true},
	} {
		l := newTestLinter(t, Options{Fixes: tt.fixes})
		ds, err := l.LintBytes(context.Background(), "a.jsonc", data)
		if err != nil {
			t.Fatal(err)
		}
		fixable, fix := 0, 0
		for _, d := range ds {
			if d.Fixable {
				fixable++
			}
			if d.Fix != nil {
				fix++
			}
		}
		if (fixable > 0) != tt.fixable || (fix > 0) != tt.fix || tt.fix && fix != fixable {
			t.Errorf("Fixes %d: %d fixable, %d fixes attached of %d findings", tt.fixes, fixable, fix, len(ds))
		}
	}
}

// TestFoldKeyIsEqualFold: two keys fold to one spelling exactly when
// strings.EqualFold matches them, so the member index finds what a scan
// found.
func TestFoldKeyIsEqualFold(t *testing.T) {
	keys := []string{"security", "Security", "SECURITY", "secuirty", "kelvin", "\u212aelvin", "Kelvin", "ſecurity", "straße", "STRASSE", "Straße", "ǅ", "ǆ", "Ǆ", "id", "İd", "ıd", "σ", "ς", "Σ", ""}
	for _, a := range keys {
		for _, b := range keys {
			if (foldKey(a) == foldKey(b)) != strings.EqualFold(a, b) {
				t.Errorf("%q, %q: foldKey equal %v, EqualFold %v", a, b, foldKey(a) == foldKey(b), strings.EqualFold(a, b))
			}
		}
	}
}

// TestMemberIndex: the index of a large object finds each member by where
// its key or value starts, whether or not the keys are in source order,
// and counts members by key, case-insensitively, also once it has given
// up counting key by key.
func TestMemberIndex(t *testing.T) {
	for _, sorted := range []bool{true, false} {
		n := &schema.Node{Kind: schema.Object}
		for j := 0; j < 40; j++ {
			line := int32(j + 1)
			if !sorted {
				line = int32(40 - j) // written bottom-up
			}
			key := fmt.Sprintf("k%d", j%20)
			if j%20 == 3 {
				key = strings.ToUpper(key)
			}
			n.Members = append(n.Members, schema.Member{Key: key, KeyPos: schema.Pos{Line: line, Col: 1},
				Value: &schema.Node{Kind: schema.Number, Pos: schema.Pos{Line: line, Col: 8}}})
		}
		e := &editor{}
		x := e.members(n)
		if x == nil || (x.byPos == nil) != sorted {
			t.Fatalf("sorted %v: index %+v", sorted, x)
		}
		for j, m := range n.Members {
			for _, p := range []schema.Pos{m.KeyPos, m.Value.Pos} {
				if got, ok := x.at(n, p); !ok || got != j {
					t.Errorf("sorted %v: at(%v) = %d, %v; want %d", sorted, p, got, ok, j)
				}
			}
		}
		for k := 0; k < 20; k++ { // more keys than keyScans
			u := x.use(n, fmt.Sprintf("K%d", k))
			if u.n != 2 || u.last != 20+k {
				t.Errorf("sorted %v: use(K%d) = %+v, want 2 members, the last %d", sorted, k, u, 20+k)
			}
			if m := e.member(n, fmt.Sprintf("k%d", k)); m != &n.Members[20+k] {
				t.Errorf("sorted %v: member(k%d) is not the last", sorted, k)
			}
		}
		if !x.all {
			t.Errorf("sorted %v: counted key by key past keyScans", sorted)
		}
		if u := x.use(n, "absent"); u.n != 0 || e.member(n, "absent") != nil {
			t.Errorf("sorted %v: absent key found: %+v", sorted, u)
		}
	}
}

// TestFixLoopLints counts the lints --fix makes: the input's, and one of
// the fixed text; one more when fixes are withheld (the text without
// them), and none for retrying a withheld fix on the text where it was
// blamed, which was linted already.
func TestFixLoopLints(t *testing.T) {
	six := config5000SixFixes(50)
	withheld := bytes.ReplaceAll(six, []byte(`"security": "aes-128-cfb"`), []byte(`"secuirty": "aes-128-cfb"`))
	for _, tt := range []struct {
		name                   string
		data                   []byte
		fixed, withheld, lints int
	}{
		{"six fixes each", six, 300, 0, 2},
		{"six fixes, one withheld each", withheld, 250, 50, 3},
		{"nothing to fix", config5000(50), 0, 0, 1},
	} {
		l := newTestLinter(t, Options{})
		res, fl, err := l.fixBytes(context.Background(), "gen.json", tt.data)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Fixed) != tt.fixed || len(res.Withheld) != tt.withheld || fl.lints != tt.lints {
			t.Errorf("%s: fixed %d, withheld %d in %d lints; want %d, %d in %d", tt.name, len(res.Fixed), len(res.Withheld), fl.lints, tt.fixed, tt.withheld, tt.lints)
		}
	}
}
