package lsp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/xvmtools/xvm/schema"
)

// FuzzReadMessage: the frame reader never panics and never returns a body
// over its limit.
func FuzzReadMessage(f *testing.F) {
	f.Add([]byte("Content-Length: 2\r\n\r\n{}"))
	f.Add([]byte("Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}xxx"))
	f.Add([]byte("Content-Type: a\nContent-Length: 2\n\n[]"))
	f.Add([]byte("Content-Length: -5\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 4; i++ {
			m, err := readMessage(r)
			if err != nil {
				return
			}
			if len(m.Params) > maxMessage {
				t.Fatalf("params of %d bytes", len(m.Params))
			}
		}
	})
}

// FuzzCursor: reading the cursor never panics, and the partial word is the
// text just before the cursor.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{jsonDoc, yamlDoc, tomlDoc, `{"a": [{"b": "c`, "a:\n  - b: c\n    d", "[[a]]\nb = 'c"} {
		f.Add(s, uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, s string, at uint16) {
		src := []byte(s)
		off := int(at) % (len(src) + 1)
		for _, fm := range []schema.Format{schema.JSON, schema.YAML, schema.TOML} {
			c := cursorAt(fm, src, off)
			if c.partial == "" {
				continue
			}
			if c.from < 0 || c.from+len(c.partial) != off || string(src[c.from:off]) != c.partial {
				t.Fatalf("%s: partial %q from %d, cursor %d", fm, c.partial, c.from, off)
			}
		}
	})
}

// BenchmarkCursor reads the cursor at the end of configs of doubling size:
// time per op must double, not quadruple.
func BenchmarkCursor(b *testing.B) {
	for _, n := range []int{1000, 2000, 4000, 8000} {
		for _, fm := range []schema.Format{schema.JSON, schema.YAML, schema.TOML} {
			src := []byte(docOfLines(fm, n))
			b.Run(fmt.Sprintf("%s/%d-lines", fm, n), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				for i := 0; i < b.N; i++ {
					cursorAt(fm, src, len(src))
				}
			})
		}
	}
}

// BenchmarkReadMessage reads didChange messages of doubling size.
func BenchmarkReadMessage(b *testing.B) {
	for _, n := range []int{1000, 2000, 4000, 8000} {
		text := docOfLines(schema.JSON, n)
		body := fmt.Sprintf(`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///a.json","version":2},"contentChanges":[{"text":%q}]}}`, text)
		msg := []byte(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
		b.Run(fmt.Sprintf("%d-lines", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for i := 0; i < b.N; i++ {
				if _, err := readMessage(bufio.NewReader(bytes.NewReader(msg))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// docOfLines is an unfinished document of about n lines in format f, cut
// where a key is being typed.
func docOfLines(f schema.Format, n int) string {
	var b strings.Builder
	switch f {
	case schema.YAML:
		b.WriteString("outbounds:\n")
		for i := 0; b.Len() == 0 || strings.Count(b.String(), "\n") < n; i++ {
			fmt.Fprintf(&b, "  - protocol: vmess\n    tag: t%d\n    settings:\n      address: a.example.com\n      port: 443\n", i)
		}
		b.WriteString("  - sec")
	case schema.TOML:
		for i := 0; strings.Count(b.String(), "\n") < n; i++ {
			fmt.Fprintf(&b, "[[outbounds]]\nprotocol = \"vmess\"\ntag = \"t%d\"\n[outbounds.settings]\naddress = \"a\"\n", i)
		}
		b.WriteString("sec")
	default:
		b.WriteString("{\"outbounds\": [\n")
		for i := 0; strings.Count(b.String(), "\n") < n; i++ {
			fmt.Fprintf(&b, "  {\"protocol\": \"vmess\", \"tag\": \"t%d\",\n   \"settings\": {\"address\": \"a\", \"port\": 443}},\n", i)
		}
		b.WriteString(`  {"sec`)
	}
	return b.String()
}

// fuzzParams holds valid params of every method the server handles, the
// seeds of FuzzHandle (TestFuzzCoversEveryMethod keeps it complete).
var fuzzParams = map[string]string{
	"initialize":                       `{"rootUri":"file:///w","capabilities":{"general":{"positionEncodings":["utf-8"]}},"initializationOptions":{"target":"seed"}}`,
	"initialized":                      `{}`,
	"$/cancelRequest":                  `{"id":2}`,
	"$/setTrace":                       `{"value":"off"}`,
	"shutdown":                         ``,
	"workspace/didChangeConfiguration": `{"settings":{}}`,
	"textDocument/didSave":             `{"textDocument":{"uri":"file:///w/a.json"}}`,
	"workspace/didChangeWatchedFiles":  `{"changes":[{"uri":"file:///w/.xvm.yaml","type":2}]}`,
	"textDocument/didOpen":             `{"textDocument":{"uri":"file:///w/b.yaml","languageId":"yaml","version":1,"text":"outbounds:\n  - protocol: vmess\n    port: '1'\n"}}`,
	"textDocument/didChange":           `{"textDocument":{"uri":"file:///w/a.json","version":2},"contentChanges":[{"range":{"start":{"line":1,"character":3},"end":{"line":1,"character":9}},"text":"\"sec"}]}`,
	"textDocument/didClose":            `{"textDocument":{"uri":"file:///w/a.json"}}`,
	"textDocument/hover":               `{"textDocument":{"uri":"file:///w/a.json"},"position":{"line":4,"character":12}}`,
	"textDocument/completion":          `{"textDocument":{"uri":"file:///w/a.json"},"position":{"line":4,"character":12}}`,
	"textDocument/codeAction":          `{"textDocument":{"uri":"file:///w/a.json"},"range":{"start":{"line":0,"character":0},"end":{"line":99,"character":0}},"context":{"diagnostics":[],"only":["quickfix","source.fixAll"]}}`,
}

// handlerNames is every method in handlers, sorted.
func handlerNames() []string {
	names := make([]string, 0, len(handlers))
	for n := range handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestFuzzCoversEveryMethod(t *testing.T) {
	for _, n := range handlerNames() {
		if _, ok := fuzzParams[n]; !ok {
			t.Errorf("FuzzHandle has no seed for %s", n)
		}
	}
	for n := range fuzzParams {
		if handlers[n] == nil {
			t.Errorf("FuzzHandle seeds %s, which the server does not handle", n)
		}
	}
}

// FuzzHandle dispatches one message on each method the server handles, as
// a request and as a notification, with any params, on a session with an
// open document: it never panics, and a request is answered exactly once.
func FuzzHandle(f *testing.F) {
	names := handlerNames()
	for i, n := range names {
		f.Add(uint8(i), []byte(fuzzParams[n]), true)
		f.Add(uint8(i), []byte(fuzzParams[n]), false)
	}
	f.Add(uint8(0), []byte(`{"textDocument":{"uri":"file:///w/a.json"},"position":{"line":-1,"character":99999999}}`), true)
	f.Add(uint8(0), []byte(`null`), true)
	f.Fuzz(func(t *testing.T, which uint8, params []byte, request bool) {
		s, out := newTestServer(t)
		s.handle(&message{Method: "textDocument/didOpen", Params: json.RawMessage(`{"textDocument":{"uri":"file:///w/a.json","languageId":"json","version":1,"text":` + mustJSON(t, jsonDoc) + `}}`)})
		before := strings.Count(out.String(), `"id":2,`)
		m := &message{Method: names[int(which)%len(names)]}
		if len(params) > 0 {
			m.Params = params
		}
		if request {
			m.ID = json.RawMessage("2")
		}
		s.handle(m)
		got := strings.Count(out.String(), `"id":2,`) - before
		if request && got != 1 {
			t.Fatalf("%s as a request answered %d times:\n%s", m.Method, got, out.String())
		}
	})
}
