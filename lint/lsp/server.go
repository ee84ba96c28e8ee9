// Package lsp is xvm's language server: the Language Server Protocol over
// a byte stream (stdio in `xvm lsp`), so that editors show lint's findings
// while a config is typed, the schema's descriptions on hover, keys and
// allowed values as completions, and lint's fixes as code actions. It has
// no logic of its own: findings and fixes come from package lint, words
// and allowed values from package schema.
package lsp

import (
	"bufio"
	"bytes"
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
// ctx is done. A clean exit (shutdown, then exit) returns nil. Serve does
// not close in: a read of in still under way when it returns ends when
// the caller closes in (xvm lsp exits, which does).
func Serve(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	set, err := schema.Compile()
	if err != nil {
		return err
	}
	s, err := newServer(ctx, out, opts, set)
	if err != nil {
		return err
	}
	defer s.stopTimers()

	// The reader runs ahead of the handler by a few messages, so that a
	// $/cancelRequest reaches the server while the request it cancels
	// still waits, and cancels the one being answered.
	// The reader's error comes after the messages read before it, in the
	// same queue.
	// A large message (a whole document) is not read ahead of: the reader
	// waits until it is handled, so the server holds at most one.
	type read struct {
		m       *message
		err     error
		handled chan struct{} // closed when handled; nil for a small message
	}
	msgs := make(chan read, readAhead)
	go func() {
		r := bufio.NewReader(in)
		for {
			m, err := readMessage(r)
			var handled chan struct{}
			if err == nil {
				if m.Method == "$/cancelRequest" {
					s.cancels.cancel(m.Params)
				}
				if len(m.Params)+len(m.Result) > readAheadSize {
					handled = make(chan struct{})
				}
			}
			select {
			case msgs <- read{m, err, handled}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			if handled != nil {
				select {
				case <-handled:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-msgs:
			if errors.Is(r.err, io.EOF) {
				return io.ErrUnexpectedEOF // the client went away without exit
			}
			if r.err != nil {
				return r.err
			}
			done, err := s.handle(r.m)
			if r.handled != nil {
				close(r.handled)
			}
			if done {
				return err
			}
		}
	}
}

// newServer is the state of a session that writes to out and ends with
// ctx, with the compiled schemas set.
func newServer(ctx context.Context, out io.Writer, opts Options, set *schema.Set) (*server, error) {
	if opts.Now == nil {
		return nil, errors.New("lsp: Options.Now is not set: pass a clock (time.Now in the CLI)")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	return &server{
		ctx:     ctx,
		opts:    opts,
		conn:    &conn{w: out},
		schemas: set,
		docs:    make(map[string]*document),
		shown:   make(map[string]bool),
	}, nil
}

// Bounds on what a client may make the server hold: the messages read
// ahead of the one being handled, the open documents and their bytes. A
// document past them is not tracked (and not linted); the user is told.
const (
	readAhead     = 4
	readAheadSize = 1 << 20 // a message larger is not read ahead of
	maxDocuments  = 256
	maxOpenBytes  = 2 * schema.MaxSize
	// maxChangeWork bounds the bytes one didChange may cost to apply
	// (indexing and copying the document per edit that cannot be batched),
	// so that a message of many edits to a large document cannot hold the
	// server for minutes.
	maxChangeWork = 256 << 20
)

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

	cancels cancels

	mu        sync.Mutex
	docs      map[string]*document
	openBytes int             // the bytes of the open documents' texts
	shown     map[string]bool // settings files whose error was shown
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
	ctx := s.ctx
	if isRequest {
		var stop func()
		ctx, stop = s.cancels.begin(s.ctx, m.ID)
		defer stop()
		if ctx.Err() != nil && s.ctx.Err() == nil {
			// Cancelled while it waited: not worth answering.
			return false, s.conn.replyError(m.ID, codeRequestCancelled, "cancelled by the client")
		}
	}
	result, rerr := s.dispatch(ctx, m)
	if !isRequest {
		return false, nil
	}
	if ctx.Err() != nil && s.ctx.Err() == nil {
		return false, s.conn.replyError(m.ID, codeRequestCancelled, "cancelled by the client")
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

// handler answers one method; ctx ends when the client cancels the
// request (or the session ends).
type handler func(s *server, ctx context.Context, params json.RawMessage) (any, error)

// with decodes a handler's params into P first.
func with[P any](f func(s *server, ctx context.Context, p P) (any, error)) handler {
	return func(s *server, ctx context.Context, raw json.RawMessage) (any, error) {
		var p P
		if err := decode(raw, &p); err != nil {
			return nil, err
		}
		return f(s, ctx, p)
	}
}

// handlers is every method the server answers or heeds, in one table (the
// fuzz target dispatches on each). A request for any other method is
// answered "method not found"; another notification is ignored.
var handlers = map[string]handler{
	"initialize": func(s *server, _ context.Context, raw json.RawMessage) (any, error) { return s.initialize(raw) },
	"initialized": func(s *server, _ context.Context, _ json.RawMessage) (any, error) {
		s.initializedNote()
		return nil, nil
	},
	// The reader acts on a cancellation as it arrives (see Serve).
	"$/cancelRequest": func(*server, context.Context, json.RawMessage) (any, error) { return nil, nil },
	"$/setTrace":      func(*server, context.Context, json.RawMessage) (any, error) { return nil, nil },
	"shutdown": func(s *server, _ context.Context, _ json.RawMessage) (any, error) {
		s.shutdown = true
		s.stopTimers()
		return nil, nil
	},
	"workspace/didChangeConfiguration": relint,
	// A settings file may have changed: lint again now.
	"textDocument/didSave":            relint,
	"workspace/didChangeWatchedFiles": relint,
	"textDocument/didOpen": with(func(s *server, _ context.Context, p didOpenParams) (any, error) {
		s.open(p.TextDocument)
		return nil, nil
	}),
	"textDocument/didChange": with(func(s *server, _ context.Context, p didChangeParams) (any, error) {
		s.change(p)
		return nil, nil
	}),
	"textDocument/didClose": with(func(s *server, _ context.Context, p didCloseParams) (any, error) {
		s.close(p.TextDocument.URI)
		return nil, nil
	}),
	"textDocument/hover": with(func(s *server, _ context.Context, p textDocumentPositionParams) (any, error) {
		return s.hover(p)
	}),
	"textDocument/completion": with(func(s *server, _ context.Context, p textDocumentPositionParams) (any, error) {
		return s.complete(p)
	}),
	"textDocument/codeAction": with((*server).codeActions),
}

func relint(s *server, _ context.Context, _ json.RawMessage) (any, error) {
	s.relintAll()
	return nil, nil
}

func (s *server) dispatch(ctx context.Context, m *message) (any, error) {
	if h, ok := handlers[m.Method]; ok {
		return h(s, ctx, m.Params)
	}
	if strings.HasPrefix(m.Method, "$/") {
		return nil, nil
	}
	return nil, fmt.Errorf("%w %q", errUnknownMethod, m.Method)
}

// initializedNote asks a client that can watch files to tell the server
// when a settings file changes on disk, so that open documents are linted
// again with the new rules.
func (s *server) initializedNote() {
	if !s.watch {
		return
	}
	w := fileWatchers{}
	w.Watchers = append(w.Watchers, struct {
		GlobPattern string `json:"globPattern"`
	}{"**/" + SettingsFile})
	_ = s.conn.write(request{JSONRPC: "2.0", ID: "xvm-watch-settings", Method: "client/registerCapability",
		Params: map[string]any{"registrations": []registration{{ID: "xvm-settings", Method: "workspace/didChangeWatchedFiles", RegisterOptions: w}}}})
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
			if _, err := lint.ParseRuntime(o.Target); err != nil {
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
	old := s.docs[item.URI]
	if old != nil {
		s.untrack(old)
	}
	if len(s.docs) >= maxDocuments || s.openBytes+len(item.Text) > maxOpenBytes {
		s.mu.Unlock()
		_ = s.conn.notify("window/showMessage", map[string]any{"type": 2, "message": fmt.Sprintf(
			"xvm: not linting %s: the server holds at most %d documents of %d MiB in all; close some", item.URI, maxDocuments, maxOpenBytes>>20)})
		return
	}
	d := &document{uri: item.URI, path: uriPath(item.URI), lang: item.LanguageID, version: item.Version, text: []byte(item.Text)}
	s.docs[item.URI] = d
	s.openBytes += len(d.text)
	s.mu.Unlock()
	s.schedule(d, 0)
}

// untrack forgets an open document; s.mu is held.
func (s *server) untrack(d *document) {
	if d.timer != nil {
		d.timer.Stop()
	}
	delete(s.docs, d.uri)
	s.openBytes -= len(d.text)
}

func (s *server) change(p didChangeParams) {
	s.mu.Lock()
	d := s.docs[p.TextDocument.URI]
	if d == nil {
		s.mu.Unlock()
		return
	}
	before := len(d.text)
	text, ok := applyChanges(d.text, p.ContentChanges, s.enc)
	if ok {
		d.text = text
	}
	d.version = p.TextDocument.Version
	s.openBytes += len(d.text) - before
	tooMuch := s.openBytes > maxOpenBytes
	s.mu.Unlock()
	if tooMuch || !ok {
		s.close(d.uri)
		msg := fmt.Sprintf("xvm: stopped linting %s: the open documents are over %d MiB in all", d.uri, maxOpenBytes>>20)
		if !ok {
			msg = fmt.Sprintf("xvm: stopped linting %s: one change held more edits than the server follows (over %d MiB of copying); reopen the document", d.uri, maxChangeWork>>20)
		}
		_ = s.conn.notify("window/showMessage", map[string]any{"type": 2, "message": msg})
		return
	}
	s.schedule(d, s.opts.Debounce)
}

func (s *server) close(uri string) {
	s.mu.Lock()
	d := s.docs[uri]
	if d != nil {
		s.untrack(d)
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
	ds, err := s.lint(s.ctx, d, name, text)
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
func (s *server) lint(ctx context.Context, d *document, name string, text []byte) ([]lint.Diagnostic, error) {
	l, err := s.settings.linterFor(d.path)
	var se *settingsError
	if errors.As(err, &se) {
		s.mu.Lock()
		first := !s.shown[se.File]
		s.shown[se.File] = true
		s.mu.Unlock()
		if first {
			_ = s.conn.notify("window/showMessage", map[string]any{"type": 1, "message": "xvm: " + se.File + ": " + se.Err.Error() + " (linting with the defaults)"})
		}
	}
	if l == nil {
		return nil, err
	}
	return l.LintBytes(ctx, name, text)
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
func (s *server) snapshot(ctx context.Context, uri string) (*document, []byte, []lint.Diagnostic, bool) {
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
		if ds, err = s.lint(ctx, d, name, text); err != nil {
			return d, text, nil, true
		}
	}
	return d, text, ds, true
}

// cancels is what the client cancelled: the reader marks a request as the
// cancellation arrives; the handler checks before it answers, and the
// request being answered has its context cancelled.
type cancels struct {
	mu        sync.Mutex
	cancelled map[string]bool // requests not begun yet
	current   string          // the request being answered
	stop      context.CancelFunc
}

// maxCancelled bounds the ids of cancelled requests kept: a cancellation
// of a request already answered is never looked up again.
const maxCancelled = 1024

// cancel heeds the params of $/cancelRequest.
func (c *cancels) cancel(params json.RawMessage) {
	var p struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(params, &p) != nil || len(p.ID) == 0 {
		return
	}
	key := string(bytes.TrimSpace(p.ID))
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == c.current && c.stop != nil {
		c.stop()
		return
	}
	if c.cancelled == nil || len(c.cancelled) >= maxCancelled {
		c.cancelled = make(map[string]bool)
	}
	c.cancelled[key] = true
}

// begin starts answering request id: its context is cancelled already
// when the client cancelled it while it waited. Call done when answered.
func (c *cancels) begin(parent context.Context, id json.RawMessage) (ctx context.Context, done func()) {
	key := string(bytes.TrimSpace(id))
	ctx, stop := context.WithCancel(parent)
	c.mu.Lock()
	if c.cancelled[key] {
		delete(c.cancelled, key)
		stop()
	}
	c.current, c.stop = key, stop
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.current, c.stop = "", nil
		c.mu.Unlock()
		stop()
	}
}
