package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// frame writes messages with LSP's base-protocol headers.
func frame(msgs ...any) string {
	var b strings.Builder
	for _, m := range msgs {
		body, _ := json.Marshal(m)
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	}
	return b.String()
}

// TestLSPCommand runs `xvm lsp` in-process over a scripted stdin: the
// command is wired, answers initialize and hover, and maps the protocol's
// exit rules to exit codes.
func TestLSPCommand(t *testing.T) {
	open := map[string]any{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{
		"uri": "file:///w/a.json", "languageId": "json", "version": 1,
		"text": `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "id": "27848739-7e62-4138-9fd3-098a63964b6b"}}`}}}
	hover := map[string]any{"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": map[string]any{
		"textDocument": map[string]any{"uri": "file:///w/a.json"}, "position": map[string]any{"line": 0, "character": 65}}}
	init := map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{"capabilities": map[string]any{}}}
	initialized := map[string]any{"jsonrpc": "2.0", "method": "initialized", "params": map[string]any{}}
	shutdown := map[string]any{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}
	exit := map[string]any{"jsonrpc": "2.0", "method": "exit"}

	tests := []struct {
		name string
		args []string
		in   string
		code int
		want []string
	}{
		{"session", []string{"lsp"}, frame(init, initialized, open, hover, shutdown, exit), 0,
			[]string{`"id":1,"result":{"capabilities"`, `"name":"xvm"`, `"id":2,"result":{"contents"`, "服务端监听的端口号", `"id":3,"result":null`}},
		{"vscode passes --stdio", []string{"lsp", "--stdio"}, frame(init, shutdown, exit), 0, []string{`"id":1,"result"`}},
		{"exit without shutdown", []string{"lsp"}, frame(init, exit), 1, []string{`"id":1,"result"`}},
		{"client goes away", []string{"lsp"}, frame(init), 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVM(t, false, tt.in, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
