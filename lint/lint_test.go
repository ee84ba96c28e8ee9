package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEveryRuleHasAGoldenCase keeps the golden corpus honest: each rule
// must be shown firing in some testdata/lint/err case.
func TestEveryRuleHasAGoldenCase(t *testing.T) {
	outs, _ := filepath.Glob("../testdata/lint/err/*.out")
	var all strings.Builder
	for _, o := range outs {
		b, err := os.ReadFile(o)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for _, r := range Rules() {
		if !strings.Contains(all.String(), "["+r.ID+"]") {
			t.Errorf("rule %s has no golden error case", r.ID)
		}
		if r.Summary == "" || r.Help == "" || r.Versions == "" || r.Severity == 0 {
			t.Errorf("rule %s lacks documentation: %+v", r.ID, r)
		}
	}
}

func TestAllowInsecureFollowsTheClock(t *testing.T) {
	src := []byte(`{"protocol": "vmess", "settings": {"address": "example.com", "port": 443, "id": "27848739-7e62-4138-9fd3-098a63964b6b"},
 "streamSettings": {"security": "tls", "tlsSettings": {"serverName": "example.com", "allowInsecure": true}}}`)
	tests := []struct {
		name   string
		now    time.Time
		target Runtime
		want   Severity
	}{
		{"before the cut-off", time.Date(2026, 5, 31, 23, 59, 0, 0, time.UTC), RuntimeXray, Warning},
		{"at the cut-off", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), RuntimeXray, Error},
		{"today", testNow(), RuntimeXray, Error},
		{"seed target", testNow(), RuntimeSeed, Warning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			l := newTestLinter(t, Options{Runtime: tt.target, Now: func() time.Time { return now }})
			ds, err := l.LintBytes(context.Background(), "a.json", src)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 1 || ds[0].Rule != "allow-insecure" || ds[0].Severity != tt.want {
				t.Fatalf("got %v, want one allow-insecure %s", ds, tt.want)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	multi := []byte(`{"vnext": [
  {"address": "a.example.com", "port": 443, "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b"}, {"id": "27848739-7e62-4138-9fd3-098a63964b6c"}]},
  {"address": "b.example.com", "port": 443, "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b"}]}]}`)
	h2 := []byte(`{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "id": "27848739-7e62-4138-9fd3-098a63964b6b"}, "streamSettings": {"network": "h2", "security": "tls", "tlsSettings": {"serverName": "a.example.com"}}}`)
	tests := []struct {
		name   string
		target Runtime
		src    []byte
		want   []string
	}{
		{"xray refuses several servers and users", RuntimeXray, multi, []string{"error vnext-count", "error vnext-count"}},
		{"seed allows them", RuntimeSeed, multi, nil},
		{"xray refuses h2", RuntimeXray, h2, []string{"error transport-removed"}},
		{"seed warns about h2", RuntimeSeed, h2, []string{"warning transport-removed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLinter(t, Options{Runtime: tt.target})
			ds, err := l.LintBytes(context.Background(), "a.json", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.Severity.String()+" "+d.Rule)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRuleSettings(t *testing.T) {
	src := []byte(`{"vnext": [{"address": "a.example.com", "port": "443", "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b", "secuirty": "x"}]}]}`)
	tests := []struct {
		name  string
		rules map[string]RuleSetting
		want  string
	}{
		{"defaults", nil, "error port-range,warning unknown-key"},
		{"off", map[string]RuleSetting{"unknown-key": {Off: true}}, "error port-range"},
		{"re-levelled", map[string]RuleSetting{"port-range": {Severity: Info}}, "info port-range,warning unknown-key"},
		// turning the specific rule off does not bring back the generic
		// schema finding on the same value
		{"owner off", map[string]RuleSetting{"port-range": {Off: true}}, "warning unknown-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLinter(t, Options{Rules: tt.rules})
			ds, err := l.LintBytes(context.Background(), "a.json", src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.Severity.String()+" "+d.Rule)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
	if _, err := New(Options{Now: testNow, Rules: map[string]RuleSetting{"nope": {Off: true}}}); err == nil {
		t.Error("New accepted an unknown rule")
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New accepted options without a clock")
	}
}

// TestRunOrder lints many files in parallel and expects the output in
// input order whatever the scheduling.
func TestRunOrder(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := 0; i < 40; i++ {
		name := filepath.Join(dir, fmt.Sprintf("f%02d.json", 39-i))
		src := fmt.Sprintf(`{"vnext": [{"address": "a%d.example.com", "port": %d, "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b"}]}]}`, i, 70000+i)
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	l := newTestLinter(t, Options{})
	for round := 0; round < 3; round++ {
		rep, err := l.Run(context.Background(), names, os.ReadFile)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Files != 40 || len(rep.Diagnostics) != 40 {
			t.Fatalf("files %d, diagnostics %d", rep.Files, len(rep.Diagnostics))
		}
		for i, d := range rep.Diagnostics {
			if d.File != names[i] {
				t.Fatalf("diagnostic %d is for %s, want %s", i, d.File, names[i])
			}
		}
	}
	if _, err := l.Run(context.Background(), []string{filepath.Join(dir, "missing.json")}, os.ReadFile); err == nil {
		t.Error("missing file gave no error")
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.json", "a.yaml", "sub/c.toml", "sub/d.txt", ".hidden/e.json", "f.jsonc"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Expand([]string{dir, "-", filepath.Join(dir, "*.json")})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, g := range got {
		r, _ := filepath.Rel(dir, g)
		if g == "-" {
			r = "-"
		}
		rel = append(rel, filepath.ToSlash(r))
	}
	want := "a.yaml,b.json,f.jsonc,sub/c.toml,-"
	if strings.Join(rel, ",") != want {
		t.Errorf("Expand = %v, want %s", rel, want)
	}
	if _, err := Expand([]string{filepath.Join(dir, "*.nothing")}); err == nil {
		t.Error("a glob matching nothing gave no error")
	}
}

// TestExpandNameWithGlobCharacters: a file or directory whose name holds
// [, * or ? is linted as named; only a PATH that does not exist is a glob.
func TestExpandNameWithGlobCharacters(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"proxy[1].json", "a*b.yaml", "q?.toml", "d[x]/c.json", "proxy1.json"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"proxy[1].json", "proxy[1].json"},
		{"a*b.yaml", "a*b.yaml"},
		{"q?.toml", "q?.toml"},
		{"d[x]", "d[x]/c.json"},
		{"proxy[12].json", "proxy1.json"}, // no such file: a glob
	} {
		got, err := Expand([]string{filepath.Join(dir, tt.path)})
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if len(got) != 1 || got[0] != filepath.Join(dir, filepath.FromSlash(tt.want)) {
			t.Errorf("%s: Expand = %v, want %s", tt.path, got, tt.want)
		}
	}
}

// TestExpandNothingToLint checks a PATH that yields no config file is an
// error that names it, so a wrong path in CI cannot pass.
func TestExpandNothingToLint(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"empty/", "txt/notes.txt", "hidden/.git/x.json", "ok/a.json"} {
		p := filepath.Join(dir, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name  string
		paths []string
		want  string // "" means no error
	}{
		{"empty dir", []string{filepath.Join(dir, "empty")}, "no config files under"},
		{"only other files", []string{filepath.Join(dir, "txt")}, "no config files under"},
		{"only hidden configs", []string{filepath.Join(dir, "hidden")}, "no config files under"},
		{"empty dir beside a good one", []string{filepath.Join(dir, "ok"), filepath.Join(dir, "empty")}, "no config files under"},
		{"glob of empty dirs", []string{filepath.Join(dir, "[et]*")}, "no config files under"},
		{"glob matching nothing", []string{filepath.Join(dir, "nope*")}, "matches no file"},
		{"glob of dirs with one config", []string{filepath.Join(dir, "*")}, ""},
		{"same file twice", []string{filepath.Join(dir, "ok"), filepath.Join(dir, "ok", "a.json")}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Expand(tt.paths)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseFileConfig(t *testing.T) {
	fc, err := ParseFileConfig([]byte("target: seed\nfail-on: warning\nrules:\n  unknown-key: off\n  alter-id: error\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fc.Target != "seed" || fc.FailOn != "warning" || !fc.Rules["unknown-key"].Off || fc.Rules["alter-id"].Severity != Error {
		t.Errorf("parsed %+v", fc)
	}
	for _, bad := range []string{"rules:\n  nope: off\n", "rules:\n  alter-id: loud\n", "target: v2ray\n", "colour: red\n"} {
		if _, err := ParseFileConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestExpandOverlappingPaths checks PATHs that name the same files (a
// directory and a file in it, a directory twice, "." and a subdirectory)
// list each file once, in first-seen order, and are not mistaken for a
// PATH that found nothing.
func TestExpandOverlappingPaths(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"configs/a.json", "configs/b.yaml", "other/c.toml", "single/x.json", "txt/notes.txt", "empty/"} {
		p := filepath.Join(dir, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, tt := range []struct {
		name    string
		paths   []string
		want    string // comma-separated files, when wantErr is ""
		wantErr string
	}{
		{"dot then subdirectory", []string{".", "configs"}, "configs/a.json,configs/b.yaml,other/c.toml,single/x.json", ""},
		{"subdirectory then dot", []string{"configs", "."}, "configs/a.json,configs/b.yaml,other/c.toml,single/x.json", ""},
		{"directory twice", []string{"configs", "configs"}, "configs/a.json,configs/b.yaml", ""},
		{"file then its directory", []string{"configs/a.json", "configs"}, "configs/a.json,configs/b.yaml", ""},
		{"directory then its file", []string{"configs", "configs/a.json"}, "configs/a.json,configs/b.yaml", ""},
		{"file then its directory holding only it", []string{"single/x.json", "single"}, "single/x.json", ""},
		{"file twice", []string{"configs/a.json", "configs/a.json"}, "configs/a.json", ""},
		{"file spelled two ways", []string{"./configs/a.json", "configs"}, "./configs/a.json,configs/b.yaml", ""},
		{"directory spelled two ways", []string{"configs/", "./configs"}, "configs/a.json,configs/b.yaml", ""},
		{"glob then directory", []string{"configs/*.json", "configs"}, "configs/a.json,configs/b.yaml", ""},
		{"stdin twice", []string{"-", "configs", "-"}, "-,configs/a.json,configs/b.yaml", ""},
		{"overlap beside an empty directory", []string{"configs", "configs", "empty"}, "", "no config files under empty"},
		{"dot does not excuse an empty directory", []string{".", "empty"}, "", "no config files under empty"},
		{"dot does not excuse a directory without configs", []string{".", "txt"}, "", "no config files under txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.paths)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Expand(%q) = %v, %v; want error %q", tt.paths, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Expand(%q): unexpected error %v", tt.paths, err)
			}
			if g := filepath.ToSlash(strings.Join(got, ",")); g != tt.want {
				t.Errorf("Expand(%q) = %s, want %s", tt.paths, g, tt.want)
			}
		})
	}
}

// TestCaseVariantKeysAtTheirOwnPositions checks that each of several
// case-variant keys is reported on its own line, so that a suppression
// comment above the first silences that one finding only (issue: all three
// were reported on the last key's line, where Xray's lookup ends).
func TestCaseVariantKeysAtTheirOwnPositions(t *testing.T) {
	src := `{"protocol": "vmess",
  "Tag": "a",
  "tag": "b",
  "TAG": "c",
  "settings": {"address": "a.example.com", "port": 443, "id": "27848739-7e62-4138-9fd3-098a63964b6b"}}
`
	l := newTestLinter(t, Options{})
	lint := func(src string) []string {
		t.Helper()
		ds, err := l.LintBytes(context.Background(), "a.json", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, fmt.Sprintf("%d:%d %s %s", d.Pos.Line, d.Pos.Col, d.Rule, d.Pointer))
		}
		return got
	}
	want := []string{
		"2:3 key-case /Tag",
		"3:3 duplicate-key /tag",
		"4:3 duplicate-key /TAG",
		"4:3 key-case /TAG",
	}
	if got := lint(src); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	suppressed := strings.Replace(src, "\n  \"Tag\"", "\n  // xvm-disable-next-line key-case\n  \"Tag\"", 1)
	want = []string{
		"4:3 duplicate-key /tag",
		"5:3 duplicate-key /TAG",
		"5:3 key-case /TAG",
	}
	if got := lint(suppressed); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("with the first key suppressed, got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSupersedesIsDeclared checks that the rules that replace the schema's
// finding on a value say so in their metadata, and that no rule names a
// rule that does not exist.
func TestSupersedesIsDeclared(t *testing.T) {
	got := map[string]bool{}
	for _, r := range Rules() {
		for _, s := range r.Supersedes {
			if !KnownRule(s) {
				t.Errorf("rule %s supersedes unknown rule %q", r.ID, s)
			}
			got[r.ID+">"+s] = true
		}
	}
	for _, want := range []string{"port-range>schema", "security-unknown>schema", "transport-removed>schema", "reality-settings>schema"} {
		if !got[want] {
			t.Errorf("missing %s", want)
		}
	}
}

// TestOnlyXray: with Options.OnlyXray a document that parses but is no
// Xray document gets no findings; a config, and a file that does not
// parse, still do.
func TestOnlyXray(t *testing.T) {
	for _, tc := range []struct {
		name, file, src string
		want            bool // findings expected
	}{
		{"package.json", "package.json", `{"name": "x", "version": "1.0.0"}`, false},
		{"compose file", "compose.yaml", "services:\n  web: {image: nginx}\n", false},
		{"a config", "a.json", `{"outbounds": [{"protocol": "vmess", "settings": {"address": "a.example.com", "port": "443", "id": "27848739-7e62-4138-9fd3-098a63964b6b"}}]}`, true},
		{"an outbound", "a.yaml", "protocol: vmess\nsettings: {address: a.example.com, port: '443', id: 27848739-7e62-4138-9fd3-098a63964b6b}\n", true},
		{"broken", "a.json", `{"name": `, true},
		{"a bare string", "a.json", `"stats"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, only := range []bool{false, true} {
				ds, err := newTestLinter(t, Options{OnlyXray: only}).LintBytes(context.Background(), tc.file, []byte(tc.src))
				if err != nil {
					t.Fatal(err)
				}
				if want := tc.want || !only; (len(ds) > 0) != want {
					t.Errorf("OnlyXray %v: %d findings, want some: %v", only, len(ds), want)
				}
			}
		})
	}
}
