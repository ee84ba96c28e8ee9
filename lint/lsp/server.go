// Package lsp is xvm's language server: the Language Server Protocol over
// a byte stream (stdio in `xvm lsp`), so that editors show lint's findings
// while a config is typed, the schema's descriptions on hover, keys and
// allowed values as completions, and lint's fixes as code actions. It has
// no logic of its own: findings and fixes come from package lint, words
// and allowed values from package schema.
package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/xvmtools/xvm/lint"
	"github.com/xvmtools/xvm/schema"
)

// Options configure Serve.
type Options struct {
	// Now is the clock lint judges dated removals by. Required.
	Now func() time.Time
	// Debounce is how long after a change the document is linted, so that
	// typing a word lints once (default DefaultDebounce).
	Debounce time.Duration
	// Version is reported to the client in serverInfo.
	Version string
}

// DefaultDebounce is the pause after a change before lint runs: short
// enough that findings follow typing within a tenth of a second, long
// enough to fold a burst of keystrokes into one run.
const DefaultDebounce = 40 * time.Millisecond

// ErrNoShutdown is returned when the client sent exit without shutdown
// first; the protocol asks the server to exit with code 1 then.
var ErrNoShutdown = errors.New("lsp: exit without shutdown")

// Serve answers one client on in and out until it sends exit, in ends, or
// ctx is done. A clean exit (shutdown, then exit) returns nil.
func Serve(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	if opts.Now == nil {
		return errors.New("lsp: Options.Now is not set: pass a clock (time.Now in the CLI)")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	set, err := schema.Compile()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &server{
		ctx:     ctx,
		opts:    opts,
		conn:    &conn{w: out},
		schemas: set,
		docs:    make(map[string]*document),
		shown:   make(map[string]bool),
	}
	defer s.stopTimers()

	msgs := make(chan *message)
	readErr := make(chan error, 1)
	go func() {
		r := bufio.NewReader(in)
		for {
			m, err := readMessage(r)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF // the client went away without exit
			}
			return err
		case m := <-msgs:
			if done, err := s.handle(m); done {
				return err
			}
		}
	}
}

// server is the state of one session.
type server struct {
	ctx      context.Context
	opts     Options
	conn     *conn
	schemas  *schema.Set
	settings *settings
	enc      encoding

	initialized, shutdown bool
	// watch says the client can watch files for the server (dynamic
	// registration of workspace/didChangeWatchedFiles).
	watch bool

	mu    sync.Mutex
	docs  map[string]*document
	shown map[string]bool // settings errors already shown
}

// document is one open text document.
type document struct {
	uri, path, lang string
	version         int
	text            []byte
	timer           *time.Timer

	// The last lint: the text it saw and what it found (with fixes, as
	// byte offsets into that text).
	linted []byte
	diags  []lint.Diagnostic
}

// name is what lint calls the document: its path, whose extension picks
// the syntax, or a made-up name with the extension of its language.
func (d *document) name() string {
	if d.path != "" {
		return d.path
	}
	switch strings.ToLower(d.lang) {
	case "yaml":
		return "untitled.yaml"
	case "toml":
		return "untitled.toml"
	}
	return "untitled.json"
}

func (s *server) handle(m *message) (done bool, err error) {
	if m.Error != nil && m.Method == "" && m.ID == nil {
		// Not JSON at all: answer as JSON-RPC asks and go on.
		return false, s.conn.replyError(nil, m.Error.Code, m.Error.Message)
	}
	isRequest := m.ID != nil && m.Method != ""
	if m.Method == "" {
		return false, nil // a response to nothing we asked
	}
	if m.Method == "exit" {
		if s.shutdown {
			return true, nil
		}
		return true, ErrNoShutdown
	}
	if !s.initialized && m.Method != "initialize" {
		if isRequest {
			return false, s.conn.replyError(m.ID, codeServerNotInitialized, "initialize first")
		}
		return false, nil
	}
	if s.shutdown && isRequest {
		return false, s.conn.replyError(m.ID, codeInvalidRequest, "the server is shutting down")
	}
	result, rerr := s.dispatch(m)
	if !isRequest {
		return false, nil
	}
	if rerr != nil {
		var pe *paramsError
		code := codeRequestFailed
		switch {
		case errors.As(rerr, &pe):
			code = codeInvalidParams
		case errors.Is(rerr, errUnknownMethod):
			code = codeMethodNotFound
		}
		return false, s.conn.replyError(m.ID, code, rerr.Error())
	}
	return false, s.conn.reply(m.ID, result)
}

var errUnknownMethod = errors.New("lsp: unknown method")

// paramsError is a request whose params do not decode.
type paramsError struct{ err error }

func (e *paramsError) Error() string { return "lsp: bad params: " + e.err.Error() }

func decode(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return &paramsError{errors.New("params missing")}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return &paramsError{err}
	}
	return nil
}

func (s *server) dispatch(m *message) (any, error) {
	switch m.Method {
	case "initialize":
		return s.initialize(m.Params)
	case "initialized":
		if s.watch {
			// Ask to hear about settings files changing on disk, so that
			// open documents are linted again with the new rules.
			w := fileWatchers{}
			w.Watchers = append(w.Watchers, struct {
				GlobPattern string `json:"globPattern"`
			}{"**/" + SettingsFile})
			_ = s.conn.write(request{JSONRPC: "2.0", ID: "xvm-watch-settings", Method: "client/registerCapability",
				Params: map[string]any{"registrations": []registration{{ID: "xvm-settings", Method: "workspace/didChangeWatchedFiles", RegisterOptions: w}}}})
		}
		return nil, nil
	case "$/cancelRequest", "$/setTrace":
		return nil, nil
	case "workspace/didChangeConfiguration":
		s.relintAll()
		return nil, nil
	case "shutdown":
		s.shutdown = true
		s.stopTimers()
		return nil, nil
	case "textDocument/didOpen":
		var p didOpenParams
		if err := decode(m.Params, &p); err != nil {
			return nil, err
		}
		s.open(p.TextDocument)
		return nil, nil
	case "textDocument/didChange":
		var p didChangeParams
		if err := decode(m.Params, &p); err != nil {
			return nil, err
		}
		s.change(p)
		return nil, nil
	case "textDocument/didSave", "workspace/didChangeWatchedFiles":
		// A settings file may have changed: lint again now.
		s.relintAll()
		return nil, nil
	case "textDocument/didClose":
		var p didCloseParams
		if err := decode(m.Params, &p); err != nil {
			return nil, err
		}
		s.close(p.TextDocument.URI)
		return nil, nil
	case "textDocument/hover":
		var p textDocumentPositionParams
		if err := decode(m.Params, &p); err != nil {
			return nil, err
		}
		return s.hover(p)
	case "textDocument/completion":
		var p textDocumentPositionParams
		if err := decode(m.Params, &p); err != nil {
			return nil, err
		}
		return s.complete(p)
	case "textDocument/codeAction":
		var p codeActionParams
		if err := decode(m.Params, &p); err != nil {
			return nil, err
		}
		return s.codeActions(p)
	}
	if strings.HasPrefix(m.Method, "$/") {
		return nil, nil
	}
	return nil, fmt.Errorf("%w %q", errUnknownMethod, m.Method)
}

func (s *server) initialize(raw json.RawMessage) (any, error) {
	var p initializeParams
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, &paramsError{err}
		}
	}
	root := uriPath(p.RootURI)
	if root == "" {
		root = p.RootPath
	}
	if root == "" && len(p.WorkspaceFolders) > 0 {
		root = uriPath(p.WorkspaceFolders[0].URI)
	}
	s.settings = &settings{root: filepath.Clean(root), now: s.opts.Now}
	if root == "" {
		s.settings.root = ""
	}
	if o := p.InitializationOptions; o != nil {
		s.settings.config, s.settings.target = o.Config, o.Target
		if o.Target != "" {
			if _, err := lint.ParseTarget(o.Target); err != nil {
				return nil, &paramsError{err}
			}
		}
	}
	s.enc = pickEncoding(p.Capabilities.General.PositionEncodings)
	s.watch = p.Capabilities.Workspace.DidChangeWatchedFiles.DynamicRegistration
	s.initialized = true
	return initializeResult{
		Capabilities: serverCapabilities{
			PositionEncoding:   s.enc.String(),
			TextDocumentSync:   textDocumentSync{OpenClose: true, Change: 1, Save: true},
			HoverProvider:      true,
			CompletionProvider: completionOptions{TriggerCharacters: []string{`"`, ":", " ", "="}},
			CodeActionProvider: codeActionProviders{CodeActionKinds: []string{"quickfix", "source.fixAll.xvm"}},
		},
		ServerInfo: serverInfo{Name: "xvm", Version: s.opts.Version},
	}, nil
}

// uriPath is the local path of a file:// URI ("" for anything else).
func uriPath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(u.Path)
}

func (s *server) open(item textDocumentItem) {
	s.mu.Lock()
	d := &document{uri: item.URI, path: uriPath(item.URI), lang: item.LanguageID, version: item.Version, text: []byte(item.Text)}
	if old := s.docs[item.URI]; old != nil && old.timer != nil {
		old.timer.Stop()
	}
	s.docs[item.URI] = d
	s.mu.Unlock()
	s.schedule(d, 0)
}

func (s *server) change(p didChangeParams) {
	s.mu.Lock()
	d := s.docs[p.TextDocument.URI]
	if d == nil {
		s.mu.Unlock()
		return
	}
	for _, c := range p.ContentChanges {
		if c.Range == nil {
			d.text = []byte(c.Text)
			continue
		}
		t := newText(d.text, s.enc)
		from, to := t.offset(c.Range.Start), t.offset(c.Range.End)
		if to < from {
			from, to = to, from
		}
		next := make([]byte, 0, len(d.text)-(to-from)+len(c.Text))
		next = append(append(append(next, d.text[:from]...), c.Text...), d.text[to:]...)
		d.text = next
	}
	d.version = p.TextDocument.Version
	s.mu.Unlock()
	s.schedule(d, s.opts.Debounce)
}

func (s *server) close(uri string) {
	s.mu.Lock()
	d := s.docs[uri]
	delete(s.docs, uri)
	if d != nil && d.timer != nil {
		d.timer.Stop()
	}
	s.mu.Unlock()
	if d != nil {
		_ = s.conn.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: uri, Version: d.version, Diagnostics: []diagnostic{}})
	}
}

// schedule lints d after delay, replacing a run not yet started.
func (s *server) schedule(d *document, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.timer = time.AfterFunc(delay, func() { s.lintAndPublish(d) })
}

func (s *server) relintAll() {
	s.mu.Lock()
	docs := make([]*document, 0, len(s.docs))
	for _, d := range s.docs {
		docs = append(docs, d)
	}
	s.mu.Unlock()
	for _, d := range docs {
		s.schedule(d, 0)
	}
}

func (s *server) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.docs {
		if d.timer != nil {
			d.timer.Stop()
		}
	}
}

// lintAndPublish lints d's current text and publishes the findings, unless
// the text changed meanwhile (a newer run will publish).
func (s *server) lintAndPublish(d *document) {
	s.mu.Lock()
	text, version, name := d.text, d.version, d.name()
	s.mu.Unlock()
	ds, err := s.lint(d, name, text)
	if err != nil {
		return
	}
	s.mu.Lock()
	current := s.docs[d.uri] == d && d.version == version
	if current {
		d.linted, d.diags = text, ds
	}
	s.mu.Unlock()
	if !current || s.ctx.Err() != nil {
		return
	}
	t := newText(text, s.enc)
	out := make([]diagnostic, 0, len(ds))
	for _, x := range ds {
		out = append(out, toDiagnostic(t, x))
	}
	_ = s.conn.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: d.uri, Version: version, Diagnostics: out})
}

// lint runs the linter the document's settings call for. A settings file
// lint cannot use is shown to the user once, and the defaults apply.
func (s *server) lint(d *document, name string, text []byte) ([]lint.Diagnostic, error) {
	l, err := s.settings.linterFor(d.path)
	if err != nil {
		s.mu.Lock()
		first := !s.shown[err.Error()]
		s.shown[err.Error()] = true
		s.mu.Unlock()
		if first {
			_ = s.conn.notify("window/showMessage", map[string]any{"type": 1, "message": "xvm: " + strings.TrimPrefix(err.Error(), "lsp: ") + " (linting with the defaults)"})
		}
	}
	if l == nil {
		return nil, err
	}
	return l.LintBytes(s.ctx, name, text)
}

// toDiagnostic converts a finding; the hint follows the message.
func toDiagnostic(t *text, d lint.Diagnostic) diagnostic {
	sev := severityError
	switch d.Severity {
	case lint.Warning:
		sev = severityWarning
	case lint.Info:
		sev = severityInfo
	}
	msg := d.Message
	if d.Hint != "" {
		msg += "\nhint: " + d.Hint
	}
	return diagnostic{Range: t.span(d.Pos, d.End), Severity: sev, Code: d.Rule, Source: "xvm", Message: msg}
}

// snapshot returns the document's text and its latest lint, linting it now
// when the latest lint saw older text.
func (s *server) snapshot(uri string) (*document, []byte, []lint.Diagnostic, bool) {
	s.mu.Lock()
	d := s.docs[uri]
	if d == nil {
		s.mu.Unlock()
		return nil, nil, nil, false
	}
	text, linted, ds, name := d.text, d.linted, d.diags, d.name()
	s.mu.Unlock()
	if string(linted) != string(text) {
		var err error
		if ds, err = s.lint(d, name, text); err != nil {
			return d, text, nil, true
		}
	}
	return d, text, ds, true
}
