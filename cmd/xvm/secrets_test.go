package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	xuuid "github.com/xtls/xray-core/common/uuid"
)

// The ids of the corpus: a UUID, a name-style id (1-30 bytes, which Xray
// maps to a UUIDv5 and which does not look like an id), and a 31-byte id
// Xray refuses.
const (
	uuidID  = "b831381d-6324-4d53-ad4f-8cda48b30811"
	nameID  = "my-secret-user-name"
	longID  = "abcdefghijklmnopqrstuvwxyz01234"
	escaped = `b831381d-6324-4d53-ad4f-8cda48b3081\u0031` // uuidID with its last digit written as a JSON escape
	// Other spellings Xray reads as uuidID.
	undashed  = "b831381d63244d53ad4f8cda48b30811"
	oddDashes = "b831381d6324-4d53ad4f-8cda48b30811"
	// nameUUID is the UUID Xray maps nameID to (uuid.ParseString: SHA-1
	// of sixteen zero bytes and the name, as a version 5 UUID).
	nameUUID = "64cedadf-1bc1-5771-8b69-714b26189742"
)

// spellings is a UUID written the ways Xray reads it: dashed and undashed,
// in lower and upper case.
func spellings(id string) []string {
	plain := strings.ReplaceAll(id, "-", "")
	return []string{id, plain, strings.ToUpper(id), strings.ToUpper(plain)}
}

// idCase is one input that carries ids, for one verb.
type idCase struct {
	name string
	file string // file name (its extension picks the format)
	text string
	ids  []string
}

// lintIDCorpus holds an id in each place a config can: every case has a
// finding on the id's own line, so text output echoes that line.
func lintIDCorpus() []idCase {
	vnext := func(id, extra string) string {
		return `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443,
  "users": [{"id": "` + id + `", "level": "x"` + extra + `}]}]}}`
	}
	return []idCase{
		{"uuid in vnext", "a.json", vnext(uuidID, ""), []string{uuidID}},
		{"name-style id", "a.json", vnext(nameID, ""), []string{nameID}},
		{"31-byte id", "a.json", vnext(longID, ""), []string{longID}},
		{"id written with an escape", "a.json", vnext(escaped, ""), []string{uuidID, escaped}},
		{"same id twice", "a.json", `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443,
  "users": [{"id": "` + nameID + `", "level": "x"}, {"id": "` + nameID + `", "level": "x"}]}]}}`, []string{nameID}},
		{"flat form", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": "443", "id": "` + nameID + `"}}`, []string{nameID}},
		{"syntax error on the id's line", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443,
  "id": "` + nameID + `" "level": 0}}`, []string{nameID}},
		{"syntax error after the id", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "id": "` + nameID + `",}}`, []string{nameID}},
		{"unterminated id", "a.json", `{"protocol": "vmess", "settings": {"id": "` + nameID, []string{nameID}},
		{"id in a ws path", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "id": "` + nameID + `"},
  "streamSettings": {"network": "ws", "wsSettings": {"path": "` + nameID + `/ws", "host": "` + uuidID + `.example.com"}}}`, []string{nameID, uuidID}},
		{"vless user", "a.json", `{"outbounds": [{"protocol": "vless", "tag": "x", "sendThrough": "bogus", "settings": {"vnext": [{"address": "a.example.com", "port": 443, "users": [{"id": "` + nameID + `", "encryption": "none"}]}]}},
  {"protocol": "vmess", "tag": "x", "settings": {"address": "a.example.com", "port": 443, "id": "` + uuidID + `"}}]}`, []string{nameID, uuidID}},
		// Every spelling of one UUID that Xray's uuid.ParseString reads
		// (32 hex digits, each group optionally led by a dash, any case,
		// text after the 32nd digit ignored when the whole is at most 36
		// bytes), and two it refuses but a user may write (braces, a URN):
		// the masking must not depend on the spelling.
		{"undashed uuid", "a.json", vnext(undashed, ""), spellings(uuidID)},
		{"upper-case uuid", "a.json", vnext(strings.ToUpper(uuidID), ""), spellings(uuidID)},
		{"upper-case undashed uuid", "a.json", vnext(strings.ToUpper(undashed), ""), spellings(uuidID)},
		{"dashes in odd places", "a.json", vnext(oddDashes, ""), append(spellings(uuidID), oddDashes)},
		{"text after the 32nd digit", "a.json", vnext(undashed+"zzz", ""), append(spellings(uuidID), undashed+"zzz")},
		{"uuid in braces", "a.json", vnext("{"+uuidID+"}", ""), spellings(uuidID)},
		{"urn uuid", "a.json", vnext("urn:uuid:"+uuidID, ""), spellings(uuidID)},
		{"one id in two spellings", "a.json", `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443,
  "users": [{"id": "` + uuidID + `"}, {"id": "` + strings.ToUpper(undashed) + `"}]}]}}`, spellings(uuidID)},
		{"name id and its uuid twice", "a.json", `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443,
  "users": [{"id": "` + nameID + `"}, {"id": "` + nameUUID + `"}]}]}}`, append(spellings(nameUUID), nameID)},
		{"key in another case", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": "443", "ID": "` + nameID + `"}}`, []string{nameID}},
		{"flat form, fixable", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": "443", "id": "` + strings.ToUpper(uuidID) + `"}}`, spellings(uuidID)},
		// An id under a key lint suggests renaming to `id` (did-you-mean):
		// the finding shows the line.
		{"id under a misspelt key", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "idd": "` + nameID + `"}}`, []string{nameID}},
		{"id under uuid", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "uuid": "` + nameID + `"}}`, []string{nameID}},
		{"id under a misspelt key, syntax error", "a.json", `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "userId": "` + nameID + `" "x": 1}}`, []string{nameID}},
		{"yaml upper-case undashed", "a.yaml", "- protocol: vmess\n  settings:\n    address: a.example.com\n    port: \"443\"\n    id: " + strings.ToUpper(undashed) + "\n", spellings(uuidID)},
		{"yaml", "a.yaml", "- protocol: vmess\n  settings:\n    address: a.example.com\n    port: \"443\"\n    id: " + nameID + " # port: 1\n", []string{nameID}},
		{"yaml quoted", "a.yaml", "- protocol: vmess\n  settings: {address: a.example.com, port: \"443\", id: '" + nameID + "'}\n", []string{nameID}},
		{"toml", "a.toml", "[[outbounds]]\nprotocol = \"vmess\"\n[outbounds.settings]\naddress = \"a.example.com\"\nport = 443\nid = \"" + nameID + "\"\nlevel = \"x\"\n", []string{nameID}},
	}
}

// convertIDCorpus holds ids in every input dialect convert reads, in
// entries that give warnings or errors. convert's output carries the ids
// (that is its job); its messages must not. The servers are on loopback
// port 9, where nothing listens, so that probe (which reads the same
// inputs) fails fast without leaving the machine.
func convertIDCorpus() []idCase {
	link := v2rayNLink("n", "127.0.0.1", 9, nameID, "ws", map[string]string{"path": nameID, "scy": "bogus", "type": "bogus", "tls": "bogus"})
	badPort := v2rayNLink("n", "127.0.0.1", 0, uuidID, "tcp", nil)
	return []idCase{
		{"v2rayN links", "links.txt", link + "\n" + badPort + "\n" + "vmess://" + nameID + "@127.0.0.1:99999?type=bogus\n", []string{nameID, uuidID}},
		{"uri form", "links.txt", "vmess://" + uuidID + "@127.0.0.1:9?type=ws&path=%2F" + nameID + "&security=bogus#n\n", []string{nameID, uuidID}},
		{"loon line with a cipher", "loon.conf", "[Proxy]\np1 = vmess, 127.0.0.1, 9, bogus-cipher, \"" + uuidID + "\", over-tls=true\n", []string{uuidID}},
		{"loon line without a cipher", "loon.conf", "[Proxy]\np1 = vmess, 127.0.0.1, 9, \"" + uuidID + "\", over-tls=true\n", []string{uuidID}},
		{"loon line without a cipher, name-style id", "loon.conf", "[Proxy]\np1 = vmess, 127.0.0.1, 9, \"" + nameID + "\", over-tls=true\n", []string{nameID}},
		{"quantumult x", "qx.conf", "vmess=127.0.0.1:9, method=bogus, password=" + uuidID + ", obfs=ws, obfs-uri=/" + nameID + ", tag=q\n", []string{uuidID, nameID}},
		{"xray config", "a.json", `{"outbounds": [{"protocol": "vmess", "settings": {"address": "127.0.0.1", "port": 9, "id": "` + nameID + `", "security": "bogus"},
  "streamSettings": {"network": "ws", "wsSettings": {"path": "/` + nameID + `"}}}]}`, []string{nameID}},
		{"clash", "clash.yaml", "proxies:\n  - {name: c, type: vmess, server: 127.0.0.1, port: 9, uuid: " + nameID + ", alterId: 0, cipher: bogus, network: ws, ws-opts: {path: /" + nameID + "}}\n", []string{nameID}},
		{"sing-box", "sb.json", `{"outbounds": [{"type": "vmess", "tag": "s", "server": "127.0.0.1", "server_port": 9, "uuid": "` + nameID + `", "security": "bogus", "transport": {"type": "ws", "path": "/` + nameID + `"}}]}`, []string{nameID}},
	}
}

// requireNoID fails when out shows one of ids in full.
func requireNoID(t *testing.T, what, out string, ids []string) {
	t.Helper()
	lower := strings.ToLower(out)
	for _, id := range ids {
		if strings.Contains(lower, strings.ToLower(id)) {
			t.Errorf("%s shows the id %q in full:\n%s", what, id, out)
		}
	}
}

// TestNoOutputShowsAnID runs every verb that reads ids, in every output
// format, over inputs that carry ids in every position, and greps what it
// prints for each id in full. Only convert's converted output (stdout)
// carries ids, because that is what convert is for; probe's results come
// from a server that answers the WebSocket upgrade with 404, with the id in
// the WebSocket path (the transport's errors once quoted it).
func TestNoOutputShowsAnID(t *testing.T) {
	dir := t.TempDir()
	// The built binary as well as Main in-process: what a user runs.
	bin := builtXVM(t)
	for i, c := range lintIDCorpus() {
		path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+"/"+c.file, c.text)
		// -short: the built binary on the first case only; Main in-process
		// below still sees every case in every format.
		builtToo := i == 0 || !testing.Short()
		t.Run("built xvm lint "+c.name, func(t *testing.T) {
			t.Parallel()
			if !builtToo {
				return
			}
			for _, args := range [][]string{{"--format", "text"}, {"--format", "json"}, {"--format", "sarif"}, {"--format", "github"}, {"--diff"}} {
				out, err := exec.Command(bin, append(append([]string{"lint", "--fail-on", "info"}, args...), path)...).CombinedOutput()
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("xvm lint %v: %v, want exit 1\n%s", args, err, out)
				}
				requireNoID(t, fmt.Sprintf("built xvm lint %v", args), string(out), c.ids)
			}
		})
		for _, format := range []string{"text", "json", "sarif", "github"} {
			for _, tty := range []bool{false, true} {
				t.Run(fmt.Sprintf("lint %s %s tty=%v", c.name, format, tty), func(t *testing.T) {
					t.Parallel()
					out, errOut, code := runXVM(t, tty, "", "lint", "--fail-on", "info", "--format", format, path)
					if code != 1 {
						t.Fatalf("exit %d, want 1 (a finding on the id's line); stderr %q\n%s", code, errOut, out)
					}
					requireNoID(t, "lint --format "+format, out+errOut, c.ids)
				})
			}
		}
		t.Run("lint --diff "+c.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, _ := runXVM(t, false, "", "lint", "--diff", path)
			requireNoID(t, "lint --diff", out+errOut, c.ids)
		})
		t.Run("lsp "+c.name, func(t *testing.T) {
			t.Parallel()
			requireNoID(t, "xvm lsp", lspSession(t, "file://"+path, c.text), c.ids)
		})
		t.Run("lint "+c.name+" --show-secrets", func(t *testing.T) {
			t.Parallel()
			out, _, _ := runXVM(t, false, "", "lint", "--show-secrets", path)
			if !strings.Contains(strings.ToLower(out), strings.ToLower(c.ids[0])) && !strings.Contains(c.text, `\u`) {
				t.Errorf("--show-secrets does not show the id %q:\n%s", c.ids[0], out)
			}
		})
	}
	for _, c := range convertIDCorpus() {
		path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+"/"+c.file, c.text)
		for _, to := range []string{"xray", "xray-config", "v2rayn", "uri", "clash", "sing-box", "yaml", "toml"} {
			t.Run(fmt.Sprintf("convert %s --to %s", c.name, to), func(t *testing.T) {
				t.Parallel()
				_, errOut, code := runXVM(t, false, "", "convert", "--to", to, path)
				if code == 0 && errOut == "" {
					t.Fatalf("no message at all: the case tests nothing")
				}
				requireNoID(t, "convert's messages", errOut, c.ids)
			})
		}
		t.Run("probe reads "+c.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runXVM(t, false, "", "probe", "--count", "1", "--timeout", "2s", "--url", "http://127.0.0.1:1/", path)
			if code == 0 {
				t.Fatalf("every server passed; want them refused:\n%s", out)
			}
			requireNoID(t, "probe", out+errOut, c.ids)
		})
	}

	// probe: a WebSocket path that holds the id, against a server that
	// refuses the upgrade.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	host, portText, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portText)
	links := []string{
		v2rayNLink("path holds the uuid", host, port, uuidID, "ws", map[string]string{"path": "/ws/" + uuidID}),
		v2rayNLink("path holds the name", host, port, nameID, "ws", map[string]string{"path": "/" + nameID + "?ed=2048"}),
	}
	for _, output := range []string{"table", "json", "ndjson"} {
		for _, tty := range []bool{false, true} {
			t.Run(fmt.Sprintf("probe --output %s tty=%v", output, tty), func(t *testing.T) {
				t.Parallel()
				args := append([]string{"probe", "--count", "1", "--timeout", "3s", "--url", "http://127.0.0.1:1/", "--output", output}, links...)
				out, errOut, code := runXVM(t, tty, "", args...)
				if code != 1 || !strings.Contains(out, "transport") {
					t.Fatalf("exit %d, want 1 with transport failures:\n%s\n%s", code, out, errOut)
				}
				requireNoID(t, "probe --output "+output, out+errOut, []string{uuidID, nameID})
			})
		}
	}
}

// lspSession runs `xvm lsp` in-process on a document: it opens the text,
// waits for its diagnostics, asks for a hover and the code actions at
// every line's start and the completions at the end, and returns all the
// server wrote.
func lspSession(t *testing.T, uri, text string) string {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ios := &IOStreams{In: inR, Out: outW, ErrOut: io.Discard, Getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		done <- Main(context.Background(), []string{"lsp"}, ios)
		outW.Close()
	}()
	var all strings.Builder
	got := make(chan string, 64)
	go func() {
		r := bufio.NewReader(outR)
		for {
			var n int
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					close(got)
					return
				}
				if strings.TrimSpace(line) == "" {
					break
				}
				fmt.Sscanf(line, "Content-Length: %d", &n)
			}
			body := make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				close(got)
				return
			}
			got <- string(body)
		}
	}()
	send := func(m map[string]any) {
		m["jsonrpc"] = "2.0"
		if _, err := io.WriteString(inW, frame(m)); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(want string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case m, ok := <-got:
				if !ok {
					t.Fatalf("xvm lsp ended before %s:\n%s", want, all.String())
				}
				all.WriteString(m + "\n")
				if strings.Contains(m, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s from xvm lsp:\n%s", want, all.String())
			}
		}
	}
	doc := map[string]any{"uri": uri}
	send(map[string]any{"id": 1, "method": "initialize", "params": map[string]any{"capabilities": map[string]any{}}})
	wait(`"id":1`)
	send(map[string]any{"method": "initialized", "params": map[string]any{}})
	send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": strings.TrimPrefix(filepath.Ext(uri), "."), "version": 1, "text": text}}})
	wait("publishDiagnostics")
	lines := strings.Split(text, "\n")
	id := 2
	for i, l := range lines {
		for _, col := range []int{0, strings.Index(l, "id") + 6} {
			at := map[string]any{"line": i, "character": max(col, 0)}
			send(map[string]any{"id": id, "method": "textDocument/hover", "params": map[string]any{"textDocument": doc, "position": at}})
			send(map[string]any{"id": id + 1, "method": "textDocument/codeAction", "params": map[string]any{"textDocument": doc,
				"range": map[string]any{"start": at, "end": at}, "context": map[string]any{"diagnostics": []any{}}}})
			send(map[string]any{"id": id + 2, "method": "textDocument/completion", "params": map[string]any{"textDocument": doc, "position": at}})
			wait(fmt.Sprintf(`"id":%d`, id+2))
			id += 3
		}
	}
	send(map[string]any{"id": id, "method": "shutdown"})
	wait(fmt.Sprintf(`"id":%d`, id))
	send(map[string]any{"method": "exit"})
	inW.Close()
	for m := range got {
		all.WriteString(m + "\n")
	}
	if code := <-done; code != 0 {
		t.Errorf("xvm lsp exit %d", code)
	}
	return all.String()
}

// TestNameUUIDIsXrays checks the corpus's nameUUID against Xray's own
// mapping of a name-style id.
func TestNameUUIDIsXrays(t *testing.T) {
	u, err := xuuid.ParseString(nameID)
	if err != nil {
		t.Fatal(err)
	}
	if u.String() != nameUUID {
		t.Errorf("Xray maps %q to %s, the corpus says %s", nameID, u.String(), nameUUID)
	}
	for _, s := range []string{undashed, strings.ToUpper(uuidID), oddDashes, undashed + "zzz"} {
		if u, err := xuuid.ParseString(s); err != nil || u.String() != uuidID {
			t.Errorf("Xray reads %q as %v (%v), want %s", s, u, err, uuidID)
		}
	}
	for _, s := range []string{"{" + uuidID + "}", "urn:uuid:" + uuidID} {
		if _, err := xuuid.ParseString(s); err == nil {
			t.Errorf("Xray reads %q; the corpus says it refuses it", s)
		}
	}
}
