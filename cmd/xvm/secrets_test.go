package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// The ids of the corpus: a UUID, a name-style id (1-30 bytes, which Xray
// maps to a UUIDv5 and which does not look like an id), and a 31-byte id
// Xray refuses.
const (
	uuidID  = "b831381d-6324-4d53-ad4f-8cda48b30811"
	nameID  = "my-secret-user-name"
	longID  = "abcdefghijklmnopqrstuvwxyz01234"
	escaped = `b831381d-6324-4d53-ad4f-8cda48b3081\u0031` // uuidID with its last digit written as a JSON escape
)

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
	for _, id := range ids {
		if strings.Contains(out, id) {
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
	for _, c := range lintIDCorpus() {
		path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+"/"+c.file, c.text)
		for _, format := range []string{"text", "json", "sarif", "github"} {
			for _, tty := range []bool{false, true} {
				t.Run(fmt.Sprintf("lint %s %s tty=%v", c.name, format, tty), func(t *testing.T) {
					out, errOut, code := runXVM(t, tty, "", "lint", "--fail-on", "info", "--format", format, path)
					if code != 1 {
						t.Fatalf("exit %d, want 1 (a finding on the id's line); stderr %q\n%s", code, errOut, out)
					}
					requireNoID(t, "lint --format "+format, out+errOut, c.ids)
				})
			}
		}
		t.Run("lint "+c.name+" --show-secrets", func(t *testing.T) {
			out, _, _ := runXVM(t, false, "", "lint", "--show-secrets", path)
			if !strings.Contains(out, c.ids[0]) && !strings.Contains(c.text, `\u`) {
				t.Errorf("--show-secrets does not show the id %q:\n%s", c.ids[0], out)
			}
		})
	}
	for _, c := range convertIDCorpus() {
		path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+"/"+c.file, c.text)
		for _, to := range []string{"xray", "xray-config", "v2rayn", "uri", "clash", "sing-box", "yaml", "toml"} {
			t.Run(fmt.Sprintf("convert %s --to %s", c.name, to), func(t *testing.T) {
				_, errOut, code := runXVM(t, false, "", "convert", "--to", to, path)
				if code == 0 && errOut == "" {
					t.Fatalf("no message at all: the case tests nothing")
				}
				requireNoID(t, "convert's messages", errOut, c.ids)
			})
		}
		t.Run("probe reads "+c.name, func(t *testing.T) {
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
