package convert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// Inputs seen in public links and configs that earlier versions read
// wrongly or refused. Each case names what a peer (v2rayN, mihomo, Xray)
// does with the same input; docs/convert.md cites the peers' source.

// v2raynJSON is a vmess:// link with the JSON object j, base64-encoded the
// way v2rayN writes it.
func v2raynJSON(j map[string]any) string {
	b, _ := json.Marshal(j)
	return "vmess://" + base64.StdEncoding.EncodeToString(b)
}

// rawTLSHost is issue 12's first input: raw TCP with TLS, no sni, and a
// host different from the address.
func rawTLSHost() map[string]any {
	return map[string]any{"v": "2", "ps": "raw-tls-host", "add": "203.0.113.7", "port": "443", "id": corpusUUID,
		"aid": "0", "net": "tcp", "type": "none", "host": "real.example.com", "path": "", "tls": "tls"}
}

// hasDiag reports whether diags holds one of severity sev whose field
// contains field and whose message contains msg.
func hasDiag(diags []Diagnostic, sev Severity, field, msg string) bool {
	for _, d := range diags {
		if d.Severity == sev && strings.Contains(d.Field, field) && strings.Contains(d.Message, msg) {
			return true
		}
	}
	return false
}

// parseAll runs Parse on text and fails the test on an input-level error.
func parseAll(t *testing.T, text string) Result {
	t.Helper()
	res, err := Parse(context.Background(), "in", []byte(text), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return res
}

// TestAlterIDAsString: Xray's VMess outbound has no alterId field at all
// (infra/conf/vmess.go VMessAccount), so any JSON value there loads; a
// number written as a string is read as the number.
func TestAlterIDAsString(t *testing.T) {
	for _, aid := range []string{`"0"`, `"64"`, `"x"`, `null`, `0`} {
		doc := `{"outbounds":[{"protocol":"vmess","settings":{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + corpusUUID + `","alterId":` + aid + `}]}]}}]}`
		res := parseAll(t, doc)
		if len(res.Nodes) != 1 || res.Errors() != 0 {
			t.Errorf("alterId %s: nodes %d, %v; want the node", aid, len(res.Nodes), res.Diagnostics)
			continue
		}
		want := map[string]int{`"64"`: 64}[aid]
		if got := res.Nodes[0].AlterID; got != want {
			t.Errorf("alterId %s: read %d; want %d", aid, got, want)
		}
	}
}

// TestURLAsAddressRefused: a URL (or host:port) where the address belongs
// is refused with the field named, so that every output lints clean and
// reads back.
func TestURLAsAddressRefused(t *testing.T) {
	tests := []struct{ name, input, field string }{
		{"v2rayn url", v2raynJSON(map[string]any{"v": "2", "ps": "Free", "add": "https://github.com/free/nodes", "port": "433", "id": "Free", "net": "ws"}), "add"},
		{"v2rayn host:port", v2raynJSON(map[string]any{"v": "2", "add": "a.example.com:443", "port": "443", "id": corpusUUID}), "add"},
		{"v2rayn spaces", v2raynJSON(map[string]any{"v": "2", "add": "a example.com", "port": "443", "id": corpusUUID}), "add"},
		{"clash", "proxies:\n- {name: c, type: vmess, server: 'http://a.example.com', port: 443, uuid: " + corpusUUID + ", alterId: 0, cipher: auto}\n", "server"},
		{"xray", `{"outbounds":[{"protocol":"vmess","settings":{"address":"a.example.com/ws","port":443,"id":"` + corpusUUID + `"}}]}`, "address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseAll(t, tc.input)
			if len(res.Nodes) != 0 || !hasDiag(res.Diagnostics, Error, tc.field, "") {
				t.Errorf("nodes %d, diagnostics %v; want an error on %s", len(res.Nodes), res.Diagnostics, tc.field)
			}
		})
	}
}

// TestMessagesNameNoInternals: messages speak of the input, not of Go
// APIs, and an empty value is called empty, not missing.
func TestMessagesNameNoInternals(t *testing.T) {
	tests := []struct{ name, input, field, want string }{
		{"xray flat form with empty values", `{"outbounds":[{"protocol":"vmess","settings":{"address":"","port":0,"id":""}}]}`, "address", "empty"},
		{"xray settings without a server", `{"outbounds":[{"protocol":"vmess","settings":{}}]}`, "settings", "address"},
		{"sing-box empty server", `{"outbounds":[{"type":"vmess","server":"","server_port":443,"uuid":"` + corpusUUID + `"}]}`, "server", "is empty"},
		{"sing-box absent server", `{"outbounds":[{"type":"vmess","server_port":443,"uuid":"` + corpusUUID + `"}]}`, "server", "missing"},
		{"clash empty uuid", "proxies:\n- {name: c, type: vmess, server: a.example.com, port: 443, uuid: '', alterId: 0, cipher: auto}\n", "uuid", "is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseAll(t, tc.input)
			if !hasDiag(res.Diagnostics, Error, tc.field, tc.want) {
				t.Errorf("diagnostics %v; want an error on %s saying %q", res.Diagnostics, tc.field, tc.want)
			}
			for _, d := range res.Diagnostics {
				if strings.Contains(d.Message, "conf.") || strings.Contains(d.Message, "Split") {
					t.Errorf("message names a Go API: %s", d)
				}
			}
		})
	}
}
