package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lintBad = `{
  "vnext": [{
    "address": "example.com",
    "port": "443",
    "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b", "secuirty": "none"}]
  }]
}
`

const lintGood = `{"vnext": [{"address": "example.com", "port": 443, "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b"}]}]}`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLintCommand(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", lintBad)
	good := writeFile(t, dir, "good.json", lintGood)
	writeFile(t, dir, "tree/a.yaml", "vnext:\n  - address: a.example.com\n    port: 0\n    users: [{id: 27848739-7e62-4138-9fd3-098a63964b6b}]\n")
	writeFile(t, dir, "tree/notes.txt", "not a config")
	writeFile(t, dir, "txt/notes.txt", "not a config")
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		tty      bool
		stdin    string
		args     []string
		wantCode int
		wantOut  []string
		notOut   []string
		wantErr  string
	}{
		{"good file", false, "", []string{"lint", good}, 0, nil, nil, "1 file checked, no findings"},
		{"bad file text", false, "", []string{"lint", bad}, 1,
			[]string{bad + ":4:13: error: port is the string \"443\"", "[port-range]", "unknown key `secuirty` (did you mean `security`?)", "^~~~~", "hint: remove the quotes: 443", "1 error, 1 warning in 1 file"},
			[]string{"\x1b[", "27848739-7e62-4138-9fd3-098a63964b6b"}, ""},
		{"show secrets", false, "", []string{"lint", "--show-secrets", bad}, 1, []string{"27848739-7e62-4138-9fd3-098a63964b6b"}, nil, ""},
		{"colour on a tty", true, "", []string{"lint", bad}, 1, []string{"\x1b["}, nil, ""},
		{"no colour with --color never", true, "", []string{"--color", "never", "lint", bad}, 1, nil, []string{"\x1b["}, ""},
		{"stdin", false, lintBad, []string{"lint", "-"}, 1, []string{"<stdin>:4:13:"}, nil, ""},
		{"stdin yaml told", false, "vnext:\n  - address: x\n    port: 443\n    users: []\n", []string{"lint", "--stdin-format", "yaml", "-"}, 1, []string{"<stdin>:4:12:", "[vnext-count]"}, nil, ""},
		{"stdin is JSON, as Xray reads it", false, "vnext:\n  - address: x\n", []string{"lint", "-"}, 1, []string{"<stdin>:1:1: error: unexpected 'v'", "[syntax]"}, nil, ""},
		{"a fragment on stdin", false, "\"stats\": {}\n\"api\": {\"tag\": \"api\"}\n", []string{"lint", "-"}, 1, []string{"<stdin>:1:1: error:", "[document-kind]"}, nil, ""},
		{"stdin format toml", false, "[[outbounds]]\nprotocol = \"vmess\"\n", []string{"lint", "--stdin-format", "TOML", "-"}, 1, []string{"<stdin>:1:3: error:", "[vnext-count]"}, []string{"[syntax]"}, ""},
		{"bad stdin format", false, "{}", []string{"lint", "--stdin-format", "xml", "-"}, 2, nil, nil, `unknown --stdin-format "xml"`},
		{"directory", false, "", []string{"lint", filepath.Join(dir, "tree")}, 1, []string{"a.yaml:3:11:", "port 0"}, []string{"notes.txt"}, ""},
		{"glob", false, "", []string{"lint", filepath.Join(dir, "*.json")}, 1, []string{"bad.json:4:13"}, nil, ""},
		{"fail-on warning", false, "", []string{"lint", "--disable", "port-range", bad}, 0, []string{"[unknown-key]"}, []string{"[port-range]"}, ""},
		{"fail-on warning fails", false, "", []string{"lint", "--disable", "port-range", "--fail-on", "warning", bad}, 1, nil, nil, ""},
		{"re-level", false, "", []string{"lint", "--rule", "port-range=warning", bad}, 0, []string{"warning: port is the string"}, nil, ""},
		{"github", false, "", []string{"lint", "--format", "github", bad}, 1, []string{"::error file=" + bad + ",line=4,col=13,", "title=xvm port-range::"}, nil, ""},
		{"sarif", false, "", []string{"lint", "--format", "sarif", bad}, 1, []string{`"version": "2.1.0"`, `"ruleId": "port-range"`}, nil, ""},
		{"seed target", false, "", []string{"lint", "--target", "seed", good}, 0, nil, nil, ""},
		{"unknown format", false, "", []string{"lint", "--format", "xml", bad}, 2, nil, nil, "unknown --format"},
		{"unknown rule", false, "", []string{"lint", "--disable", "nope", bad}, 2, nil, nil, "unknown rule"},
		{"no path", false, "", []string{"lint"}, 2, nil, nil, "no PATH"},
		{"missing file", false, "", []string{"lint", filepath.Join(dir, "missing.json")}, 2, nil, nil, "no such file"},
		{"bad target", false, "", []string{"lint", "--target", "v2ray", bad}, 2, nil, nil, "unknown target"},
		{"bad fail-on names the flag", false, "", []string{"lint", "--fail-on", "bad", bad}, 2, nil, nil, `lint: --fail-on: unknown severity "bad"`},
		{"bad target names the flag", false, "", []string{"lint", "--target", "v2", bad}, 2, nil, nil, `lint: --target: unknown target "v2"`},
		{"empty directory", false, "", []string{"lint", filepath.Join(dir, "empty")}, 2, nil, nil, "no config files under " + filepath.Join(dir, "empty")},
		{"directory without configs", false, "", []string{"lint", filepath.Join(dir, "txt")}, 2, nil, nil, "no config files under"},
		{"glob matching nothing", false, "", []string{"lint", filepath.Join(dir, "*.nothing")}, 2, nil, nil, "matches no file"},
		{"list rules", false, "", []string{"lint", "--list-rules"}, 0, []string{"unknown-key", "allow-insecure", "vnext-count"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVM(t, tt.tty, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notOut {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestLintJSONContract(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", lintBad)
	good := writeFile(t, dir, "good.json", lintGood)
	out, _, code := runXVM(t, false, "", "lint", "--format", "json", bad, good)
	if code != 1 {
		t.Fatalf("exit code %d", code)
	}
	var rep struct {
		Diagnostics []struct {
			File      string `json:"file"`
			Line      int    `json:"line"`
			Column    int    `json:"column"`
			EndLine   int    `json:"end_line"`
			EndColumn int    `json:"end_column"`
			Pointer   string `json:"pointer"`
			Rule      string `json:"rule"`
			Severity  string `json:"severity"`
			Message   string `json:"message"`
			Hint      string `json:"hint"`
		} `json:"diagnostics"`
		Files    int `json:"files"`
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Files != 2 || rep.Errors != 1 || rep.Warnings != 1 || len(rep.Diagnostics) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	d := rep.Diagnostics[0]
	if d.File != bad || d.Line != 4 || d.Column != 13 || d.EndColumn != 18 || d.Pointer != "/vnext/0/port" || d.Rule != "port-range" || d.Severity != "error" || d.Hint == "" {
		t.Errorf("first diagnostic: %+v", d)
	}
}

func TestLintConfigFile(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", lintBad)
	cfg := writeFile(t, dir, "xvm.yaml", "rules:\n  port-range: off\n  unknown-key: error\n")
	out, _, code := runXVM(t, false, "", "lint", "--config", cfg, bad)
	if code != 1 || strings.Contains(out, "[port-range]") || !strings.Contains(out, "error: unknown key") {
		t.Errorf("code %d, out:\n%s", code, out)
	}
	// --enable wins over the file
	out, _, _ = runXVM(t, false, "", "lint", "--config", cfg, "--enable", "port-range", bad)
	if !strings.Contains(out, "[port-range]") {
		t.Errorf("--enable did not turn the rule back on:\n%s", out)
	}
	for _, c := range []struct{ name, text, want string }{
		{"bad-rule.yaml", "rules:\n  no-such-rule: off\n", `: rules: unknown rule "no-such-rule"`},
		{"bad-level.yaml", "rules:\n  port-range: loud\n", ": rules: port-range: "},
		{"bad-fail-on.yaml", "fail-on: bad\n", `: fail-on: unknown severity "bad": want error, warning or info`},
		{"bad-target.yaml", "target: v2\n", `: target: unknown target "v2"`},
	} {
		badCfg := writeFile(t, dir, c.name, c.text)
		_, errOut, code := runXVM(t, false, "", "lint", "--config", badCfg, bad)
		if code != 2 || !strings.Contains(errOut, "xvm: lint: "+badCfg+c.want) {
			t.Errorf("%s: code %d, stderr %q, want it to contain %q", c.name, code, errOut, "xvm: lint: "+badCfg+c.want)
		}
	}
}

func TestLintInlineSuppression(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.jsonc", `{
  "vnext": [{
    "address": "example.com",
    // xvm-disable-next-line port-range
    "port": "443",
    "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b"}]
  }]
}`)
	out, _, code := runXVM(t, false, "", "lint", f)
	if code != 0 || strings.Contains(out, "port-range") {
		t.Errorf("code %d, out:\n%s", code, out)
	}
}

// TestLintSARIFPaths checks files under the working directory are relative
// URIs against %SRCROOT% (GitHub code scanning maps those) and others are
// absolute file:// URIs.
func TestLintSARIFPaths(t *testing.T) {
	root, other := t.TempDir(), t.TempDir()
	writeFile(t, root, "configs/my bad.json", lintBad)
	outside := writeFile(t, other, "bad.json", lintBad)
	t.Chdir(root)
	out, errOut, code := runXVM(t, false, "", "lint", "--format", "sarif", "configs", outside)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, errOut)
	}
	for _, w := range []string{
		`"uri": "configs/my%20bad.json",` + "\n" + `                  "uriBaseId": "%SRCROOT%"`,
		`"uri": "file://` + filepath.ToSlash(outside) + `"`,
		`"%SRCROOT%": {`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("SARIF lacks %q:\n%s", w, out)
		}
	}
}

// TestLintOverlappingPaths checks PATHs that overlap (a directory and a
// file in it, a directory twice, "." and a subdirectory) lint each file
// once, in a stable order, instead of failing with "no config files".
func TestLintOverlappingPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "configs/a.json", lintBad)
	writeFile(t, dir, "configs/b.json", lintBad)
	writeFile(t, dir, "single/x.json", lintBad)
	writeFile(t, dir, "txt/notes.txt", "not a config")
	t.Chdir(dir)
	const (
		diagA = "configs/a.json:4:13: error:"
		diagB = "configs/b.json:4:13: error:"
		diagX = "single/x.json:4:13: error:"
	)
	for _, tt := range []struct {
		name      string
		args      []string
		wantCode  int
		wantDiags []string // each must appear exactly once, in this order
		wantOut   string
		wantErr   string
	}{
		{"dot then subdirectory", []string{".", "configs"}, 1, []string{diagA, diagB, diagX}, "in 3 files", ""},
		{"file then its directory holding only it", []string{"single/x.json", "single"}, 1, []string{diagX}, "in 1 file", ""},
		{"directory twice", []string{"configs", "configs"}, 1, []string{diagA, diagB}, "in 2 files", ""},
		{"file then its directory", []string{"configs/a.json", "configs"}, 1, []string{diagA, diagB}, "in 2 files", ""},
		{"directory then its file", []string{"configs", "configs/b.json"}, 1, []string{diagA, diagB}, "in 2 files", ""},
		{"file given before its sibling", []string{"configs/b.json", "configs"}, 1, []string{diagB, diagA}, "in 2 files", ""},
		{"file twice", []string{"configs/a.json", "./configs/a.json"}, 1, []string{diagA}, "in 1 file", ""},
		{"overlap beside a directory without configs", []string{".", "configs", "txt"}, 2, nil, "", "no config files under txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVM(t, false, "", append([]string{"lint"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			last := -1
			for _, d := range tt.wantDiags {
				if n := strings.Count(out, d); n != 1 {
					t.Errorf("stdout has %q %d times, want once:\n%s", d, n, out)
				}
				i := strings.Index(out, d)
				if i < last {
					t.Errorf("stdout has %q out of order %q:\n%s", d, tt.wantDiags, out)
				}
				last = i
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}
