package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xvmtools/xvm/lint"
	"github.com/xvmtools/xvm/schema"
)

// syncBuffer is a bytes.Buffer the server's timer goroutines may write to
// while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// compiled is the schemas, compiled once for all tests.
var compiled = sync.OnceValues(schema.Compile)

// newTestServer is a session handled message by message, without the
// reader, so that a test decides exactly what arrives when.
func newTestServer(t testing.TB) (*server, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	set, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(ctx, out, Options{Now: testNow}, set)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		s.stopTimers()
	})
	s.handle(&message{ID: json.RawMessage("1"), Method: "initialize", Params: json.RawMessage(`{"capabilities":{}}`)})
	return s, out
}

func hoverMessage(id string) *message {
	return &message{ID: json.RawMessage(id), Method: "textDocument/hover",
		Params: json.RawMessage(`{"textDocument":{"uri":"file:///w/a.json"},"position":{"line":1,"character":5}}`)}
}

// TestCancelRequest: a request the client cancelled while it waited is
// answered RequestCancelled and not run; the request being answered has
// its context cancelled; other requests are answered as usual.
func TestCancelRequest(t *testing.T) {
	s, out := newTestServer(t)
	s.handle(&message{Method: "textDocument/didOpen", Params: json.RawMessage(`{"textDocument":{"uri":"file:///w/a.json","languageId":"json","version":1,"text":` + mustJSON(t, jsonDoc) + `}}`)})

	s.cancels.cancel(json.RawMessage(`{"id":7}`))
	s.cancels.cancel(json.RawMessage(`{"id":"seven"}`))
	s.handle(hoverMessage("7"))
	s.handle(hoverMessage(`"seven"`))
	s.handle(hoverMessage("8"))
	got := out.String()
	for _, want := range []string{`"id":7,"error":{"code":-32800`, `"id":"seven","error":{"code":-32800`, `"id":8,"result":`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
	// A cancelled id is forgotten once answered: the same id again runs.
	s.handle(hoverMessage("7"))
	if n := strings.Count(out.String(), `"id":7,"result":`); n != 1 {
		t.Errorf("the second request 7 answered %d times with a result:\n%s", n, out.String())
	}

	ctx, done := s.cancels.begin(context.Background(), json.RawMessage("9"))
	s.cancels.cancel(json.RawMessage(`{"id":9}`))
	if ctx.Err() == nil {
		t.Error("cancelling the request being answered leaves its context alive")
	}
	done()
	for i := 0; i < 3*maxCancelled; i++ {
		s.cancels.cancel(json.RawMessage(fmt.Sprintf(`{"id":%d}`, 1000+i)))
	}
	if n := len(s.cancels.cancelled); n > maxCancelled {
		t.Errorf("%d cancelled ids kept, want at most %d", n, maxCancelled)
	}
}

// TestCancelRequestOverTheWire: a $/cancelRequest read while its request
// waits behind another reaches the reader first; either way the session
// answers every request exactly once and goes on.
func TestCancelRequestOverTheWire(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	c.open("file:///w/a.json", "json", jsonDoc)
	c.notify("$/cancelRequest", map[string]any{"id": 12345})
	m := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": "file:///w/a.json"}, "position": map[string]any{"line": 1, "character": 5}})
	if m.Error != nil && m.Error.Code != codeRequestCancelled {
		t.Errorf("hover: %+v", m.Error)
	}
	if err := c.exit(true); err != nil {
		t.Errorf("exit: %v", err)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOpenDocumentBounds: the server tracks at most maxDocuments documents
// of maxOpenBytes in all; past that a document is not linted and the user
// is told, and closing documents makes room again.
func TestOpenDocumentBounds(t *testing.T) {
	s, out := newTestServer(t)
	open := func(uri, text string) {
		s.handle(&message{Method: "textDocument/didOpen", Params: json.RawMessage(
			`{"textDocument":{"uri":` + mustJSON(t, uri) + `,"languageId":"json","version":1,"text":` + mustJSON(t, text) + `}}`)})
	}
	for i := 0; i < maxDocuments; i++ {
		open(fmt.Sprintf("file:///w/%d.json", i), "{}")
	}
	open("file:///w/one-more.json", "{}")
	if len(s.docs) != maxDocuments || s.docs["file:///w/one-more.json"] != nil {
		t.Errorf("%d documents open, want %d without the last", len(s.docs), maxDocuments)
	}
	if !strings.Contains(out.String(), "not linting file:///w/one-more.json") {
		t.Errorf("the user is not told:\n%s", out.String())
	}
	// Opening an open document again replaces it.
	open("file:///w/0.json", "{ }")
	if len(s.docs) != maxDocuments || string(s.docs["file:///w/0.json"].text) != "{ }" {
		t.Errorf("reopening: %d documents, text %q", len(s.docs), s.docs["file:///w/0.json"].text)
	}
	s.handle(&message{Method: "textDocument/didClose", Params: json.RawMessage(`{"textDocument":{"uri":"file:///w/1.json"}}`)})
	open("file:///w/one-more.json", "{}")
	if s.docs["file:///w/one-more.json"] == nil {
		t.Error("after a close there is still no room")
	}
	if s.openBytes != 2*maxDocuments+1 {
		t.Errorf("open bytes %d, want %d", s.openBytes, 2*maxDocuments+1)
	}

	// The bytes: a change that takes the total past the bound drops the
	// document (its diagnostics cleared), an open past it is refused.
	s.openBytes += maxOpenBytes - s.openBytes - 10
	open("file:///w/big.json", strings.Repeat(" ", 11))
	if s.docs["file:///w/big.json"] != nil {
		t.Error("a document past maxOpenBytes is tracked")
	}
	s.handle(&message{Method: "textDocument/didChange", Params: json.RawMessage(
		`{"textDocument":{"uri":"file:///w/2.json","version":2},"contentChanges":[{"text":` + mustJSON(t, strings.Repeat(" ", 20)) + `}]}`)})
	if s.docs["file:///w/2.json"] != nil || !strings.Contains(out.String(), "stopped linting file:///w/2.json") {
		t.Errorf("a change past maxOpenBytes keeps the document:\n%s", out.String())
	}
}

// TestSettingsPrecedence: the client's target lies over the settings file
// as xvm lint's flags do (lint.Merge), and a file lint cannot use is a
// *settingsError wrapping lint's own typed error, with the defaults.
func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	seedFile := write("seed.yaml", "target: seed\n")
	badLevel := write("bad-level.yaml", "rules:\n  alter-id: loud\n")
	badTarget := write("bad-target.yaml", "target: v2fly\n")
	doc := []byte(`{"address": "a.example.com", "port": 443, "id": "27848739-7e62-4138-9fd3-098a63964b6b", "alterId": 4}`)
	tests := []struct {
		name, config, target string
		wantSeed             bool // the seed target's alter-id message
		wantErr              bool
	}{
		{"defaults", "", "", false, false},
		{"file", seedFile, "", true, false},
		{"client over file", seedFile, "xray", false, false},
		{"client alone", "", "seed", true, false},
		{"bad level", badLevel, "", false, true},
		{"bad target in file", badTarget, "", false, true},
		{"a bad file is bad whatever the client says", badTarget, "seed", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &settings{root: dir, config: tt.config, target: tt.target, now: testNow}
			l, err := s.linterFor(filepath.Join(dir, "a.json"))
			var se *settingsError
			var le *lint.SettingError
			if tt.wantErr != (err != nil) {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil && (!errors.As(err, &se) || se.File != tt.config || !errors.As(err, &le)) {
				t.Errorf("err %#v is not a *settingsError of %s wrapping a *lint.SettingError", err, tt.config)
			}
			ds, err := l.LintBytes(context.Background(), "a.json", doc)
			if err != nil {
				t.Fatal(err)
			}
			seed := false
			for _, d := range ds {
				seed = seed || d.Rule == "alter-id" && strings.Contains(d.Message, "seed manual")
			}
			if seed != tt.wantSeed {
				t.Errorf("seed target: %v, want %v (%v)", seed, tt.wantSeed, ds)
			}
		})
	}
}

// TestLargeMessageNotReadAhead: a message over readAheadSize is handled
// before the reader reads on (so at most one is held); the session goes
// on in order after it.
func TestLargeMessageNotReadAhead(t *testing.T) {
	c := startServer(t, Options{})
	c.initialize("", nil)
	big := `{"outbounds": [` + strings.Repeat(`{"protocol": "freedom", "tag": "direct"}, `, readAheadSize/40) + `{"protocol": "freedom"}]}`
	if len(big) <= readAheadSize {
		t.Fatalf("document of %d bytes is not over readAheadSize", len(big))
	}
	c.open("file:///w/big.json", "json", big)
	m := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": "file:///w/big.json"}, "position": map[string]any{"line": 0, "character": 20}})
	if m.Error != nil {
		t.Errorf("hover after a large message: %+v", m.Error)
	}
	if err := c.exit(true); err != nil {
		t.Errorf("exit: %v", err)
	}
}
