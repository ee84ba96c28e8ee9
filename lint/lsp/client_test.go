package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testNow is the clock of every test: after the allowInsecure cut-off.
func testNow() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

// hang bounds every wait in the tests: long enough for a loaded 2-core
// machine, short enough that a server that never answers fails the test
// instead of hanging it.
const hang = 20 * time.Second

// client is a minimal LSP client talking to an in-process server over
// pipes.
type client struct {
	t      testing.TB
	in     *io.PipeWriter // to the server
	nextID int

	mu      sync.Mutex
	waiting map[string]chan *message
	notes   chan *message
	done    chan error // Serve's result
}

func startServer(t testing.TB, opts Options) *client {
	t.Helper()
	if opts.Now == nil {
		opts.Now = testNow
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &client{t: t, in: inW, waiting: map[string]chan *message{}, notes: make(chan *message, 1024), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		err := Serve(ctx, inR, outW, opts)
		outW.Close()
		c.done <- err
	}()
	go func() {
		r := bufio.NewReader(outR)
		for {
			m, err := readMessage(r)
			if err != nil {
				return
			}
			if m.Method != "" {
				select {
				case c.notes <- m:
				default:
					t.Errorf("notification queue full; dropped %s", m.Method)
				}
				continue
			}
			c.mu.Lock()
			ch := c.waiting[string(m.ID)]
			delete(c.waiting, string(m.ID))
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		outR.Close()
	})
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.t.Fatalf("write to server: %v", err)
	}
}

// call sends a request and waits for its response.
func (c *client) call(method string, params any) *message {
	c.t.Helper()
	c.nextID++
	id := strconv.Itoa(c.nextID)
	ch := make(chan *message, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	c.send(map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method, "params": params})
	select {
	case m := <-ch:
		return m
	case <-time.After(hang):
		c.t.Fatalf("no response to %s within %v", method, hang)
		return nil
	}
}

// result calls and decodes a successful result into v.
func (c *client) result(method string, params, v any) {
	c.t.Helper()
	m := c.call(method, params)
	if m.Error != nil {
		c.t.Fatalf("%s: error %d %s", method, m.Error.Code, m.Error.Message)
	}
	if v != nil {
		if err := json.Unmarshal(m.Result, v); err != nil {
			c.t.Fatalf("%s: result %s: %v", method, m.Result, err)
		}
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

func (c *client) initialize(rootURI string, options any) initializeResult {
	c.t.Helper()
	var res initializeResult
	params := map[string]any{"processId": nil, "rootUri": rootURI, "capabilities": map[string]any{}}
	if options != nil {
		params["initializationOptions"] = options
	}
	c.result("initialize", params, &res)
	c.notify("initialized", map[string]any{})
	return res
}

// diagnostics waits for the publishDiagnostics of uri at version.
func (c *client) diagnostics(uri string, version int) publishDiagnosticsParams {
	c.t.Helper()
	deadline := time.After(hang)
	for {
		select {
		case m := <-c.notes:
			if m.Method != "textDocument/publishDiagnostics" {
				continue
			}
			var p publishDiagnosticsParams
			if err := json.Unmarshal(m.Params, &p); err != nil {
				c.t.Fatal(err)
			}
			if p.URI == uri && p.Version == version {
				return p
			}
		case <-deadline:
			c.t.Fatalf("no diagnostics for %s version %d within %v", uri, version, hang)
			return publishDiagnosticsParams{}
		}
	}
}

func (c *client) open(uri, lang, text string) publishDiagnosticsParams {
	c.t.Helper()
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": lang, "version": 1, "text": text}})
	return c.diagnostics(uri, 1)
}

func (c *client) change(uri string, version int, text string) {
	c.t.Helper()
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": version},
		"contentChanges": []map[string]any{{"text": text}},
	})
}

// exit shuts the server down and returns Serve's result.
func (c *client) exit(shutdownFirst bool) error {
	c.t.Helper()
	if shutdownFirst {
		c.result("shutdown", nil, nil)
	}
	c.notify("exit", nil)
	select {
	case err := <-c.done:
		return err
	case <-time.After(hang):
		c.t.Fatal("server did not exit")
		return nil
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
