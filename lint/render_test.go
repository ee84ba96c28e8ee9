package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/vmess"
)

// renderReport lints two fixed inputs for the renderer goldens.
func renderReport(t *testing.T) Report {
	t.Helper()
	l := newTestLinter(t, Options{})
	names := []string{"../testdata/lint/err/security.json", "../testdata/lint/err/port-address.yaml"}
	rep, err := l.Run(context.Background(), names, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Diagnostics {
		rep.Diagnostics[i].File = strings.TrimPrefix(rep.Diagnostics[i].File, "../")
	}
	return rep
}

func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("../testdata/lint/render", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lint -run TestRender -update)", err)
	}
	return want
}

func TestRenderText(t *testing.T) {
	var b bytes.Buffer
	if err := RenderText(&b, renderReport(t), nil); err != nil {
		t.Fatal(err)
	}
	want := golden(t, "report.txt", b.Bytes())
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("text output (-want +got):\n%s", diff)
	}
	if strings.Contains(b.String(), "27848739-7e62") {
		t.Error("text output shows a user id")
	}
}

func TestRenderGitHub(t *testing.T) {
	var b bytes.Buffer
	if err := RenderGitHub(&b, renderReport(t)); err != nil {
		t.Fatal(err)
	}
	want := golden(t, "report.github", b.Bytes())
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("github output (-want +got):\n%s", diff)
	}
}

func parsed(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

func TestRenderJSON(t *testing.T) {
	var b bytes.Buffer
	if err := RenderJSON(&b, renderReport(t)); err != nil {
		t.Fatal(err)
	}
	want := golden(t, "report.json", b.Bytes())
	if diff := cmp.Diff(parsed(t, want), parsed(t, b.Bytes())); diff != "" {
		t.Errorf("json output (-want +got):\n%s", diff)
	}
	var rep struct {
		Diagnostics []map[string]any `json:"diagnostics"`
		Files       int              `json:"files"`
		Errors      int              `json:"errors"`
		Warnings    int              `json:"warnings"`
	}
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Files != 2 || rep.Errors == 0 || rep.Warnings == 0 {
		t.Errorf("counts: %+v", rep)
	}
	keys := []string{"file", "line", "column", "end_line", "end_column", "pointer", "rule", "severity", "message", "hint"}
	for _, d := range rep.Diagnostics {
		for _, k := range keys {
			if _, ok := d[k]; !ok {
				t.Errorf("diagnostic lacks %q: %v", k, d)
			}
		}
	}
}

// sarifSubset is the part of the SARIF 2.1.0 schema (OASIS, draft-07)
// covering every object xvm emits, transcribed with the same required
// properties, enums, minimums and additionalProperties: false.
const sarifSubset = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object", "additionalProperties": false, "required": ["version", "runs"],
  "properties": {
    "$schema": {"type": "string", "format": "uri"},
    "version": {"enum": ["2.1.0"]},
    "runs": {"type": "array", "items": {"$ref": "#/definitions/run"}}
  },
  "definitions": {
    "message": {"type": "object", "additionalProperties": false, "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}, "id": {"type": "string"}}, "anyOf": [{"required": ["text"]}, {"required": ["id"]}]},
    "multiformatMessageString": {"type": "object", "additionalProperties": false, "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}}, "required": ["text"]},
    "propertyBag": {"type": "object", "additionalProperties": true},
    "run": {"type": "object", "additionalProperties": false, "required": ["tool"], "properties": {
      "tool": {"$ref": "#/definitions/tool"},
      "originalUriBaseIds": {"type": "object", "additionalProperties": {"$ref": "#/definitions/artifactLocation"}},
      "results": {"type": "array", "items": {"$ref": "#/definitions/result"}}}},
    "tool": {"type": "object", "additionalProperties": false, "required": ["driver"], "properties": {"driver": {"$ref": "#/definitions/toolComponent"}}},
    "toolComponent": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
      "name": {"type": "string"}, "version": {"type": "string"}, "informationUri": {"type": "string", "format": "uri"},
      "rules": {"type": "array", "uniqueItems": true, "items": {"$ref": "#/definitions/reportingDescriptor"}}}},
    "reportingDescriptor": {"type": "object", "additionalProperties": false, "required": ["id"], "properties": {
      "id": {"type": "string"}, "name": {"type": "string"},
      "shortDescription": {"$ref": "#/definitions/multiformatMessageString"},
      "fullDescription": {"$ref": "#/definitions/multiformatMessageString"},
      "help": {"$ref": "#/definitions/multiformatMessageString"},
      "defaultConfiguration": {"$ref": "#/definitions/reportingConfiguration"},
      "properties": {"$ref": "#/definitions/propertyBag"}}},
    "reportingConfiguration": {"type": "object", "additionalProperties": false, "properties": {
      "enabled": {"type": "boolean"}, "level": {"enum": ["none", "note", "warning", "error"]}, "rank": {"type": "number", "minimum": -1, "maximum": 100}}},
    "result": {"type": "object", "additionalProperties": false, "required": ["message"], "properties": {
      "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": -1},
      "level": {"enum": ["none", "note", "warning", "error"]},
      "message": {"$ref": "#/definitions/message"},
      "locations": {"type": "array", "items": {"$ref": "#/definitions/location"}}}},
    "location": {"type": "object", "additionalProperties": false, "properties": {
      "physicalLocation": {"$ref": "#/definitions/physicalLocation"},
      "logicalLocations": {"type": "array", "uniqueItems": true, "items": {"$ref": "#/definitions/logicalLocation"}}}},
    "logicalLocation": {"type": "object", "additionalProperties": false, "properties": {
      "name": {"type": "string"}, "fullyQualifiedName": {"type": "string"}, "kind": {"type": "string"}}},
    "physicalLocation": {"type": "object", "additionalProperties": false, "properties": {
      "artifactLocation": {"$ref": "#/definitions/artifactLocation"}, "region": {"$ref": "#/definitions/region"}},
      "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}]},
    "artifactLocation": {"type": "object", "additionalProperties": false, "properties": {"uri": {"type": "string", "format": "uri-reference"}, "uriBaseId": {"type": "string"}}},
    "region": {"type": "object", "additionalProperties": false, "properties": {
      "startLine": {"type": "integer", "minimum": 1}, "startColumn": {"type": "integer", "minimum": 1},
      "endLine": {"type": "integer", "minimum": 1}, "endColumn": {"type": "integer", "minimum": 1}}}
  }
}`

func TestRenderSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := RenderSARIF(&b, renderReport(t), SARIFOptions{Version: "test", BaseDir: "/work/repo"}); err != nil {
		t.Fatal(err)
	}
	want := golden(t, "report.sarif", b.Bytes())
	if diff := cmp.Diff(parsed(t, want), parsed(t, b.Bytes())); diff != "" {
		t.Errorf("sarif output (-want +got):\n%s", diff)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	c.AssertFormat = true
	if err := c.AddResource("mem://sarif.json", strings.NewReader(sarifSubset)); err != nil {
		t.Fatal(err)
	}
	sc, err := c.Compile("mem://sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Validate(parsed(t, b.Bytes())); err != nil {
		t.Errorf("SARIF output is invalid: %#v", err)
	}
	// every rule has help text, and results point into the rule table
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	rules := log.Runs[0].Tool.Driver.Rules
	for _, r := range rules {
		if r.Help.Text == "" || r.ShortDescription.Text == "" {
			t.Errorf("rule %s lacks help", r.ID)
		}
	}
	for _, res := range log.Runs[0].Results {
		if rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s has ruleIndex %d (%s)", res.RuleID, res.RuleIndex, rules[res.RuleIndex].ID)
		}
	}
}

// TestSARIFLocations checks files under the base become relative,
// escaped URIs against %SRCROOT% (what GitHub code scanning maps), and
// other files absolute file:// URIs.
func TestSARIFLocations(t *testing.T) {
	tests := []struct {
		file, base, uri, baseID string
	}{
		{"configs/a.json", "/repo", "configs/a.json", "%SRCROOT%"},
		{"./configs/a.json", "/repo", "configs/a.json", "%SRCROOT%"},
		{"/repo/configs/my config#1.json", "/repo", "configs/my%20config%231.json", "%SRCROOT%"},
		{"/repo/c:d.json", "/repo", "c%3Ad.json", "%SRCROOT%"},
		{"/repo/ünï.yaml", "/repo", "%C3%BCn%C3%AF.yaml", "%SRCROOT%"},
		{"/elsewhere/a.json", "/repo", "file:///elsewhere/a.json", ""},
		{"../up/a b.json", "/repo/sub", "file:///repo/up/a%20b.json", ""},
		{"/repository/a.json", "/repo", "file:///repository/a.json", ""},
		{"a.json", "", "a.json", "%SRCROOT%"},
		{"../a.json", "", "../a.json", ""},
		{"/abs/a.json", "", "file:///abs/a.json", ""},
		{"<stdin>", "/repo", "%3Cstdin%3E", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file+" in "+tt.base, func(t *testing.T) {
			got := sarifLocationOf(tt.file, tt.base)
			if got.URI != tt.uri || got.URIBaseID != tt.baseID {
				t.Errorf("got %+v, want uri %q base %q", got, tt.uri, tt.baseID)
			}
			if _, err := url.Parse(got.URI); err != nil {
				t.Errorf("not a URI reference: %v", err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, line string }{
		{"27848739-7e62-4138-9fd3-098a63964b6b", "2784****-****-****-****-********4b6b"},
		{"hello", "*****"},
		{"abcdefghij", "**********"},
	}
	for _, tt := range tests {
		s := newSecrets(false)
		if got := s.mask(tt.in); got != vmess.MaskID(tt.in) {
			t.Errorf("mask(%q) = %q, want vmess.MaskID's %q", tt.in, got, vmess.MaskID(tt.in))
		}
		s.masker.Add(tt.in)
		if got := s.text(`"id": "` + tt.in + `"`); got != `"id": "`+tt.line+`"` {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.line)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	known := []string{"security", "level", "email", "id", "alterId", "experiments"}
	tests := map[string]string{"secuirty": "security", "levle": "level", "emial": "email", "flow": "", "experiment": "experiments", "Security": "security"}
	for in, want := range tests {
		if got := didYouMean(in, known); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSuggestLongList checks the did-you-mean of a long list (indexed by
// length, a bounded number compared) still finds a one-edit typo.
func TestSuggestLongList(t *testing.T) {
	var tags []string
	for i := 0; i < 5000; i++ {
		tags = append(tags, fmt.Sprintf("proxy-%04d", i))
	}
	tags = append(tags, "direct", "block", "api")
	g := newSuggester(tags)
	for in, want := range map[string]string{"direkt": "direct", "blokc": "block", "DIRECT": "direct", "nothing-like-it-at-all": ""} {
		if got := g.suggest(in); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJSONDiagnosticMatchesEncoder checks the hand-written JSON of a
// diagnostic, and of a whole report, byte for byte against encoding/json
// (through the same jsonGuard) for strings that need escaping.
func TestJSONDiagnosticMatchesEncoder(t *testing.T) {
	texts := []string{
		"", "plain", `quote " and \ backslash`, "nl\n cr\r tab\t bs\b ff\f nul\x00 esc\x1b del\x7f",
		"<html> & 'apos'", "ünïcode 中文 😀", "bad \xff\xfe utf-8 \xe2\x82", "seps \u2028 \u2029", "c1 \u0085", "bidi \u202e\u2066 rlm \u200f", "marker ##[x]",
	}
	var ds []Diagnostic
	for i, s := range texts {
		ds = append(ds, Diagnostic{File: s, Pos: schema.Pos{Line: int32(i + 1), Col: 2}, End: schema.Pos{Line: int32(i + 1), Col: 9},
			Pointer: "/a~1" + s, Rule: "rule-" + s, Severity: Warning, Message: s, Hint: s + s})
	}
	rep := Report{Diagnostics: ds, Files: 2}
	var got bytes.Buffer
	if err := RenderJSON(&got, rep); err != nil {
		t.Fatal(err)
	}
	want := jsonReport{Files: 2, Warnings: len(ds), Diagnostics: []jsonDiagnostic{}}
	for _, d := range ds {
		want.Diagnostics = append(want.Diagnostics, jsonDiagnostic{File: d.File, Line: int(d.Pos.Line), Column: int(d.Pos.Col),
			EndLine: int(d.End.Line), EndColumn: int(d.End.Col), Pointer: d.Pointer, Rule: d.Rule, Severity: d.Severity.String(), Message: d.Message, Hint: d.Hint})
	}
	for _, r := range []jsonReport{want, {Diagnostics: []jsonDiagnostic{}}} {
		var enc bytes.Buffer
		// RenderJSON is encoding/json's text with the guard's escapes.
		e := json.NewEncoder(&jsonGuard{w: &enc})
		e.SetIndent("", "  ")
		e.SetEscapeHTML(false)
		if err := e.Encode(r); err != nil {
			t.Fatal(err)
		}
		var g bytes.Buffer
		in := Report{Files: r.Files}
		if len(r.Diagnostics) > 0 {
			in = rep
		}
		if err := RenderJSON(&g, in); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(enc.String(), g.String()); diff != "" {
			t.Errorf("RenderJSON differs from encoding/json (-encoder +ours):\n%s", diff)
		}
	}
}

// TestRenderInjection renders a file whose keys, values and comments hold
// terminal escapes and GitHub workflow commands (issue: a key
// "x\n::error file=README.md,line=1::injected\n" put a line starting with
// ::error into the text output). Text and github output escape every text
// from the input; only github's own lines start with "::"; JSON keeps the
// text as it is, escaped by JSON.
func TestRenderInjection(t *testing.T) {
	l := newTestLinter(t, Options{})
	const name = "../testdata/lint/render/injection.jsonc"
	rep, err := l.Run(context.Background(), []string{name}, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Diagnostics {
		rep.Diagnostics[i].File = strings.TrimPrefix(rep.Diagnostics[i].File, "../")
	}
	if len(rep.Diagnostics) != 4 {
		t.Fatalf("want 4 findings, got %v", rep.Diagnostics)
	}
	render := map[string]func(*bytes.Buffer) error{
		"injection.txt":    func(b *bytes.Buffer) error { return RenderText(b, rep, nil) },
		"injection.github": func(b *bytes.Buffer) error { return RenderGitHub(b, rep) },
		"injection.json":   func(b *bytes.Buffer) error { return RenderJSON(b, rep) },
	}
	for file, fn := range render {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			t.Fatal(err)
		}
		want := golden(t, file, b.Bytes())
		if diff := cmp.Diff(string(want), b.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", file, diff)
		}
		out := strings.TrimSuffix(b.String(), "\n")
		for i := 0; i < len(out); i++ {
			if c := out[i]; (c < 0x20 && c != '\n') || c == 0x7f {
				t.Errorf("%s: control byte %#x at %d", file, c, i)
			}
		}
		if strings.Contains(out, "\u0085") {
			t.Errorf("%s: holds U+0085", file)
		}
		for _, line := range strings.Split(out, "\n") {
			command := workflowCommand(line)
			ours := strings.HasPrefix(line, "::error file=testdata/") || strings.HasPrefix(line, "::warning file=testdata/")
			if file == "injection.github" && !ours {
				t.Errorf("github: a line that is not one of ours: %q", line)
			}
			if file != "injection.github" && command {
				t.Errorf("%s: a line starts a workflow command: %q", file, line)
			}

		}
	}
	var parsed jsonReport
	var b bytes.Buffer
	if err := RenderJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &parsed); err != nil {
		t.Fatal(err)
	}
	if got := parsed.Diagnostics[1].Message; !strings.Contains(got, "x\n::error file=README.md") {
		t.Errorf("JSON should carry the key as written, got %q", got)
	}
	if got := parsed.Diagnostics[2].Message; !strings.Contains(got, "`##[error]pwned`") {
		t.Errorf("JSON should carry the key as written, got %q", got)
	}
	var sarif bytes.Buffer
	if err := RenderSARIF(&sarif, rep, SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(sarif.Bytes()) || !strings.Contains(sarif.String(), `##\u005berror]pwned`) {
		t.Errorf("SARIF should be valid JSON with the marker's bracket escaped:\n%s", sarif.String())
	}
	for _, line := range strings.Split(sarif.String(), "\n") {
		if workflowCommand(line) {
			t.Errorf("sarif: a line is a workflow command: %q", line)
		}
	}
}

// TestLegacyGuardAcrossWrites: a "##[" split between writes is caught.
func TestLegacyGuardAcrossWrites(t *testing.T) {
	for _, parts := range [][]string{
		{`"a##[b"`},
		{`"a#`, `#[b"`},
		{`"a##`, `[b"`},
		{`"a#`, `#`, `[b##`, `[`, `"`},
		{`"[##`, `x[`, `"`},
	} {
		var b bytes.Buffer
		g := &jsonGuard{w: &b}
		for _, p := range parts {
			if n, err := g.Write([]byte(p)); err != nil || n != len(p) {
				t.Fatalf("Write(%q) = %d, %v", p, n, err)
			}
		}
		want := strings.ReplaceAll(strings.Join(parts, ""), "##[", `##\u005b`)
		if b.String() != want {
			t.Errorf("%q: got %s, want %s", parts, b.String(), want)
		}
	}
}

// workflowCommand reports whether GitHub's runner reads line as a workflow
// command: "::" after leading white space (ActionCommand.TryParseV2 trims
// it), or the legacy "##[" anywhere (ActionCommand.TryParse).
func workflowCommand(line string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") || strings.Contains(line, "##[")
}

// TestTextFileNameIsNoCommand checks a file named like a workflow command
// does not start a line of the text output with "::", even after blanks.
func TestTextFileNameIsNoCommand(t *testing.T) {
	tests := []struct{ name, want string }{
		{"::error file=a::b.json", "./::error file=a::b.json:1:1: error: m [syntax]"},
		{"  ::error::pwned .json", "./  ::error::pwned .json:1:1: error: m [syntax]"},
		{"\u00a0\u3000::error::pwned.json", "./\u00a0\u3000::error::pwned.json:1:1: error: m [syntax]"},
		{"\t::error::pwned.json", "\\t::error::pwned.json:1:1: error: m [syntax]"}, // the tab is shown as \t
		{"a ##[error]pwned.json", "a ##\\x5berror]pwned.json:1:1: error: m [syntax]"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		d := Diagnostic{File: tt.name, Pos: schema.Pos{Line: 1, Col: 1}, Rule: "syntax", Severity: Error, Message: "m"}
		if err := RenderText(&b, Report{Diagnostics: []Diagnostic{d}, Files: 1}, nil); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.String(), tt.want) {
			t.Errorf("%q: got %q, want it to start %q", tt.name, b.String(), tt.want)
		}
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if workflowCommand(line) {
				t.Errorf("%q: line %q is a workflow command", tt.name, line)
			}
		}
	}
}

// TestCaretUnderLegacyMarker: the source line is escaped as a whole, so a
// "##[" split between the text before the caret and the text under it is
// escaped too, and the caret stays under the character it marks.
func TestCaretUnderLegacyMarker(t *testing.T) {
	tests := []struct {
		src       string
		col, end  int32
		want      string
		at, width int
	}{
		{src: "##[error]x", col: 3, end: 4, want: `##\x5berror]x`, at: 2, width: 4},
		{src: "##[error]x", col: 2, end: 3, want: `##\x5berror]x`, at: 1, width: 1},
		{src: "a\x1b##[b", col: 5, end: 6, want: `a\x1b##\x5bb`, at: 7, width: 4},
		{src: "\xff##[", col: 4, end: 5, want: `\xff##\x5b`, at: 6, width: 4},
	}
	for _, tt := range tests {
		d := Diagnostic{Pos: schema.Pos{Line: 1, Col: tt.col}, End: schema.Pos{Line: 1, Col: tt.end}}
		src, at, width := sourceAndCaret(d, tt.src, 1)
		if src != tt.want || at != tt.at || width != tt.width {
			t.Errorf("%q col %d: got %q at %d width %d, want %q at %d width %d", tt.src, tt.col, src, at, width, tt.want, tt.at, tt.width)
		}
	}
}

// TestJSONGuardRunesAcrossWrites: a character the guard escapes is
// escaped whole when a write cuts it, wherever the cut falls, and the
// rest passes through byte for byte.
func TestJSONGuardRunesAcrossWrites(t *testing.T) {
	const in = `{"a": "x` + "\u202e" + `y` + "\u0085" + `z 中文 😀 ##[q` + "\x7f" + `"}`
	const want = `{"a": "x\u202ey\u0085z 中文 😀 ##\u005bq\u007f"}`
	for cut := 0; cut <= len(in); cut++ {
		for cut2 := cut; cut2 <= len(in); cut2++ {
			var b bytes.Buffer
			g := &jsonGuard{w: &b}
			for _, p := range []string{in[:cut], in[cut:cut2], in[cut2:]} {
				if n, err := g.Write([]byte(p)); err != nil || n != len(p) {
					t.Fatalf("Write(%q) = %d, %v", p, n, err)
				}
			}
			if b.String() != want {
				t.Fatalf("cut at %d and %d: got %s, want %s", cut, cut2, b.String(), want)
			}
		}
	}
}
