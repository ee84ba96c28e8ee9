package lsp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	u16 "unicode/utf16"

	"github.com/xvmtools/xvm/lint"
)

func fileURI(p string) string { return "file://" + filepath.ToSlash(p) }

const jsonDoc = `{
  "outbounds": [
    {
      "protocol": "vmess",
      "settings": {"vnext": [{"address": "a.example.com", "port": "443",
        "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b", "security": "auto", "secuirty": "none"}]}]}
    }
  ]
}
`

func codes(p publishDiagnosticsParams) []string {
	var out []string
	for _, d := range p.Diagnostics {
		out = append(out, d.Code)
	}
	slices.Sort(out)
	return out
}

func TestInitializeAndLifecycle(t *testing.T) {
	c := startServer(t, Options{})
	m := c.call("textDocument/hover", map[string]any{})
	if m.Error == nil || m.Error.Code != codeServerNotInitialized {
		t.Errorf("request before initialize: %+v, want error %d", m.Error, codeServerNotInitialized)
	}
	res := c.initialize("", nil)
	caps := res.Capabilities
	if caps.PositionEncoding != "utf-16" || !caps.HoverProvider || caps.TextDocumentSync.Change != 1 || !caps.TextDocumentSync.OpenClose {
		t.Errorf("capabilities %+v", caps)
	}
	if !slices.Contains(caps.CodeActionProvider.CodeActionKinds, "quickfix") || res.ServerInfo.Name != "xvm" {
		t.Errorf("capabilities %+v, server %+v", caps, res.ServerInfo)
	}
	m = c.call("textDocument/definition", map[string]any{})
	if m.Error == nil || m.Error.Code != codeMethodNotFound {
		t.Errorf("unknown method: %+v", m.Error)
	}
	m = c.call("textDocument/hover", "not an object")
	if m.Error == nil || m.Error.Code != codeInvalidParams {
		t.Errorf("bad params: %+v", m.Error)
	}
	if err := c.exit(true); err != nil {
		t.Errorf("shutdown then exit: %v, want nil", err)
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	if err := c.exit(false); !errors.Is(err, ErrNoShutdown) {
		t.Errorf("exit without shutdown: %v, want ErrNoShutdown", err)
	}
}

// TestDiagnosticsMatchLint: what the server publishes is what lint finds,
// at the same places.
func TestDiagnosticsMatchLint(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	uri := "file:///work/a.json"
	got := c.open(uri, "json", jsonDoc)

	l, err := lint.New(lint.Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want, err := l.LintBytes(context.Background(), "/work/a.json", []byte(jsonDoc))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Diagnostics) != len(want) {
		t.Fatalf("published %d diagnostics, lint finds %d: %+v", len(got.Diagnostics), len(want), got.Diagnostics)
	}
	txt := newText([]byte(jsonDoc), utf16)
	for i, w := range want {
		g := got.Diagnostics[i]
		if g.Code != w.Rule || g.Source != "xvm" || !strings.HasPrefix(g.Message, w.Message) {
			t.Errorf("diagnostic %d: %+v, want %s", i, g, w)
		}
		if g.Range.Start != txt.position(txt.byteOf(w.Pos)) {
			t.Errorf("diagnostic %d starts at %+v, want line %d col %d", i, g.Range.Start, w.Pos.Line-1, w.Pos.Col-1)
		}
	}
	// "port": "443" is on line 5 (0-based 4), the string starts at column 66.
	if g := got.Diagnostics[0]; g.Code != "port-range" || g.Range.Start != (position{Line: 4, Character: 66}) || g.Range.End != (position{Line: 4, Character: 71}) || g.Severity != severityError {
		t.Errorf("port-range diagnostic %+v", g)
	}
}

// TestDebouncedChanges: a burst of changes is linted once the typing
// pauses, and what is published is for the last version.
func TestDebouncedChanges(t *testing.T) {
	c := startServer(t, Options{Debounce: 200 * time.Millisecond})
	c.initialize("", nil)
	uri := "file:///work/b.json"
	first := c.open(uri, "json", jsonDoc)
	if len(first.Diagnostics) == 0 {
		t.Fatal("no findings on open")
	}
	fixed := strings.Replace(strings.Replace(jsonDoc, `"443"`, "443", 1), `"secuirty"`, `"level"`, 1)
	fixed = strings.Replace(fixed, `"none"`, "0", 1)
	for v := 2; v <= 6; v++ {
		c.change(uri, v, fixed)
	}
	last := c.diagnostics(uri, 6)
	if len(last.Diagnostics) != 0 {
		t.Errorf("after the fix: %+v", last.Diagnostics)
	}
	// Versions 2-5 came within the debounce: none of them is linted.
	select {
	case m := <-c.notes:
		t.Errorf("extra notification %s %s", m.Method, m.Params)
	default:
	}
}

func TestUTF16Ranges(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	// "𝕏" is two UTF-16 units, "代" one, both several UTF-8 bytes.
	doc := `{"protocol": "vmess", "tag": "𝕏代", "settings": {"address": "a.example.com", "port": "443", "id": "27848739-7e62-4138-9fd3-098a63964b6b"}}`
	got := c.open("file:///work/u.json", "json", doc)
	if len(got.Diagnostics) != 1 {
		t.Fatalf("%+v", got.Diagnostics)
	}
	before := doc[:strings.Index(doc, `"443"`)]
	units := 0
	for _, r := range before {
		units++
		if r >= 0x10000 {
			units++
		}
	}
	if g := got.Diagnostics[0].Range; g.Start.Character != units || g.End.Character != units+5 {
		t.Errorf("range %+v, want characters %d-%d (UTF-16)", g, units, units+5)
	}
}

// TestSettingsFile: the .xvm.yaml nearest to the file decides the rules,
// and a changed settings file counts once the editor says files changed.
func TestSettingsFile(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "proxies")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, ".xvm.yaml")
	if err := os.WriteFile(cfg, []byte("rules:\n  unknown-key: off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startServer(t, Options{})
	c.initialize(fileURI(root), nil)
	uri := fileURI(filepath.Join(sub, "c.json"))
	got := c.open(uri, "json", jsonDoc)
	if want := []string{"port-range"}; !slices.Equal(codes(got), want) {
		t.Errorf("with unknown-key off: %v, want %v", codes(got), want)
	}
	if err := os.WriteFile(cfg, []byte("rules:\n  port-range: off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A new modification time is not enough for a coarse file system
	// clock: the size differs too.
	c.notify("workspace/didChangeWatchedFiles", map[string]any{"changes": []map[string]any{{"uri": fileURI(cfg), "type": 2}}})
	got = c.diagnostics(uri, 1)
	if want := []string{"unknown-key"}; !slices.Equal(codes(got), want) {
		t.Errorf("after the settings changed: %v, want %v", codes(got), want)
	}
	// A broken settings file is shown once, and the defaults apply.
	if err := os.WriteFile(cfg, []byte("rules:\n  no-such-rule: off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": uri}})
	deadline := time.After(hang)
	sawMessage := false
	for !sawMessage {
		select {
		case m := <-c.notes:
			if m.Method == "window/showMessage" && strings.Contains(string(m.Params), "no-such-rule") {
				sawMessage = true
			}
		case <-deadline:
			t.Fatal("no window/showMessage for the broken settings file")
		}
	}
}

// TestInitializationOptions: the client may name the settings file and the
// target.
func TestInitializationOptions(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "lint.yaml"), []byte("rules:\n  port-range: off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startServer(t, Options{})
	c.initialize(fileURI(root), map[string]any{"config": "lint.yaml", "target": "seed"})
	doc := `{"vnext": [{"address": "a.example.com", "port": "443", "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b", "alterId": 4}]}, {"address": "b.example.com", "port": 443, "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6c"}]}]}`
	got := c.open(fileURI(filepath.Join(root, "s.json")), "json", doc)
	// seed: two servers are fine; alterId 4 is the seed's warning.
	if want := []string{"alter-id"}; !slices.Equal(codes(got), want) {
		t.Errorf("%v, want %v", codes(got), want)
	}
	if !strings.Contains(got.Diagnostics[0].Message, "seed manual") {
		t.Errorf("not the seed target's message: %s", got.Diagnostics[0].Message)
	}
}

func TestCloseClearsDiagnostics(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	uri := "file:///work/d.json"
	c.open(uri, "json", jsonDoc)
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
	if got := c.diagnostics(uri, 1); len(got.Diagnostics) != 0 {
		t.Errorf("after close: %+v", got.Diagnostics)
	}
}

// TestMalformedInput: a body that is not JSON gets a parse error and the
// session goes on; a broken frame ends it with ErrMessage.
func TestMalformedInput(t *testing.T) {
	c := startServer(t, Options{})
	if _, err := io.WriteString(c.in, "Content-Length: 5\r\n\r\n{nope"); err != nil {
		t.Fatal(err)
	}
	c.initialize("", nil) // still answers
	if _, err := io.WriteString(c.in, "Content-Length: 99999999999\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		if !errors.Is(err, ErrMessage) {
			t.Errorf("Serve: %v, want ErrMessage", err)
		}
	case <-time.After(hang):
		t.Fatal("server did not stop on a broken frame")
	}
}

func TestReadMessageLimits(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"plain", "Content-Length: 2\r\n\r\n{}", true},
		{"bare LF and other headers", "Content-Type: application/vscode-jsonrpc; charset=utf-8\nContent-Length: 2\n\n{}", true},
		{"no length", "X: 1\r\n\r\n{}", false},
		{"negative", "Content-Length: -1\r\n\r\n", false},
		{"too long", "Content-Length: 999999999999\r\n\r\n", false},
		{"short body", "Content-Length: 10\r\n\r\n{}", false},
		{"header without colon", "Content-Length 2\r\n\r\n{}", false},
		{"endless header", strings.Repeat("a", maxHeaderLine+10) + "\r\n", false},
		{"too many headers", strings.Repeat("X: 1\r\n", maxHeaderLines+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readMessage(bufio.NewReader(strings.NewReader(tt.in)))
			if (err == nil) != tt.ok {
				t.Errorf("err %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrMessage) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v is not ErrMessage", err)
			}
		})
	}
}

// TestWatchSettingsFiles: a client that can watch files is asked to watch
// settings files.
func TestWatchSettingsFiles(t *testing.T) {
	c := startServer(t, Options{})
	var res initializeResult
	c.result("initialize", map[string]any{"capabilities": map[string]any{
		"workspace": map[string]any{"didChangeWatchedFiles": map[string]any{"dynamicRegistration": true}}}}, &res)
	c.notify("initialized", map[string]any{})
	select {
	case m := <-c.notes:
		if m.Method != "client/registerCapability" || !strings.Contains(string(m.Params), `"globPattern":"**/.xvm.yaml"`) {
			t.Errorf("got %s %s", m.Method, m.Params)
		}
		// The client's reply is a response the server did not need.
		c.send(map[string]any{"jsonrpc": "2.0", "id": "xvm-watch-settings", "result": nil})
	case <-time.After(hang):
		t.Fatal("no client/registerCapability")
	}
	if err := c.exit(true); err != nil {
		t.Error(err)
	}
}

// TestFindingsOnOneLineFinish publishes 20,000 findings on one line that is
// not ASCII, at UTF-16 columns that count characters outside the BMP
// twice. Walking the line from its start for each finding took 22 s
// here; the wait only catches such a stall (BenchmarkFindingsOnOneLine
// measures).
func TestFindingsOnOneLineFinish(t *testing.T) {
	const n = 20_000
	text := findingsOnOneLine(n)
	c := startServer(t, Options{})
	c.initialize("", nil)
	got := c.open("file:///work/one-line.json", "json", text)
	if len(got.Diagnostics) != n {
		t.Fatalf("%d diagnostics, want %d", len(got.Diagnostics), n)
	}
	// The last finding: its key's column in UTF-16 units, counted here.
	last := got.Diagnostics[n-1]
	key := fmt.Sprintf(`"k%d😀"`, n-1)
	at := strings.LastIndex(text, key)
	want := len(u16.Encode([]rune(text[:at])))
	if last.Range.Start != (position{Line: 0, Character: want}) || last.Range.End.Character != want+len(u16.Encode([]rune(key))) {
		t.Errorf("last finding at %+v, want character %d", last.Range, want)
	}
}
