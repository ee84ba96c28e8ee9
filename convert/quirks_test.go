package convert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
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

// TestSNIFallsBackToHostOnRawTLS: v2rayN sends the first host as the TLS
// server name when a link has no sni, whatever the transport
// (V2rayOutboundService.cs FillBoundStreamSettings); Xray and mihomo would
// send the address. Every target gets the host, with a warning.
func TestSNIFallsBackToHostOnRawTLS(t *testing.T) {
	links := map[string]string{
		"v2rayn": v2raynJSON(rawTLSHost()),
		"uri":    "vmess://" + corpusUUID + "@203.0.113.7:443?type=tcp&security=tls&host=real.example.com#u",
	}
	for name, link := range links {
		t.Run(name, func(t *testing.T) {
			n, warns, err := ParseLink(link)
			if err != nil {
				t.Fatal(err)
			}
			if !hasDiag(warns, Warning, "sni", "real.example.com") {
				t.Errorf("no warning naming the chosen server name: %v", warns)
			}
			o, _, err := ToXray(n)
			if err != nil {
				t.Fatal(err)
			}
			if ts := o.StreamSettings.TLSSettings; ts == nil || ts.ServerName != "real.example.com" {
				t.Errorf("xray tlsSettings = %+v; want serverName real.example.com", ts)
			}
			if err := buildWithXray(t, o); err != nil {
				t.Errorf("Xray refuses it: %v", err)
			}
			c, _, err := toClash(n.full())
			if err != nil || c.ServerName != "real.example.com" {
				t.Errorf("clash servername = %q (%v); want real.example.com", c.ServerName, err)
			}
			s, _, err := toSingBox(n.full())
			if err != nil || s.TLS == nil || s.TLS.ServerName != "real.example.com" {
				t.Errorf("sing-box tls = %+v (%v); want server_name real.example.com", s.TLS, err)
			}
		})
	}
	// With an sni, or without TLS, nothing is chosen and nothing is said.
	j := rawTLSHost()
	j["sni"] = "given.example.com"
	n, warns, err := ParseLink(v2raynJSON(j))
	if err != nil || n.SNI != "given.example.com" || hasDiag(warns, Warning, "sni", "") {
		t.Errorf("explicit sni: %+v %v %v", n, warns, err)
	}
}

// TestQuantumultXOverTLSServerName: in a Quantumult X line, obfs-host is
// the TLS server name when obfs=over-tls (there is no HTTP layer for it to
// be a Host header of).
func TestQuantumultXOverTLSServerName(t *testing.T) {
	line := "vmess=example.com:443, method=none, password=" + corpusUUID + ", obfs-host=vmess-over-tls.example.com, obfs=over-tls, tag=L"
	n, _, err := ParseLink(line)
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := ToXray(n)
	if err != nil {
		t.Fatal(err)
	}
	if ts := o.StreamSettings.TLSSettings; o.StreamSettings.Security != "tls" || ts == nil || ts.ServerName != "vmess-over-tls.example.com" {
		t.Errorf("security %q, tlsSettings %+v; want tls with serverName vmess-over-tls.example.com", o.StreamSettings.Security, ts)
	}
	// tls-host, when given, is the server name.
	n, _, err = ParseLink(line + ", tls-host=t.example.com")
	if err != nil || n.SNI != "t.example.com" {
		t.Errorf("tls-host: sni %q (%v); want t.example.com", n.SNI, err)
	}
}

// TestClientFilesWithoutScheme: Quantumult X, Surge and Loon files hold no
// "://" at all; a comment or a section header on the first line must not
// make them look like something else.
func TestClientFilesWithoutScheme(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // the node's network
	}{
		{"quantumult-x after a comment", "# my servers\nvmess=example.com:80, method=aes-128-gcm, password=" + corpusUUID + ", tag=A\n", "raw"},
		{"surge [Proxy] section", "[Proxy]\nA = vmess, example.com, 443, username=" + corpusUUID + ", ws=true, ws-path=/ws\n", "ws"},
		{"loon after blank lines and a comment", "\n\n; loon\n[Proxy]\nA = vmess, example.com, 443, aes-128-gcm, \"" + corpusUUID + "\", transport=ws, path=/ws\n", "ws"},
		{"CRLF", "# servers\r\nvmess=example.com:80, method=none, password=" + corpusUUID + ", tag=A\r\n", "raw"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseAll(t, tc.text)
			if len(res.Nodes) != 1 || res.Errors() != 0 {
				t.Fatalf("nodes %d, diagnostics %v; want 1 node", len(res.Nodes), res.Diagnostics)
			}
			if n := res.Nodes[0]; n.Network != tc.want || n.Name != "A" {
				t.Errorf("node %+v; want %s named A", n, tc.want)
			}
		})
	}
}

// TestXrayAlterIDIgnored: Xray's VMess account has no alterId field at
// all (infra/conf/vmess.go, VMessAccount), so any JSON value there loads
// and the client speaks AEAD. Read from an Xray document, alterId is 0
// (with a note when it said otherwise), so that a Clash or sing-box
// output does not ask for the legacy header the source never sent. A
// dialect whose client honours alterId (v2rayN links, Clash, sing-box)
// keeps it.
func TestXrayAlterIDIgnored(t *testing.T) {
	xrayDoc := func(aid string) string {
		return `{"outbounds":[{"protocol":"vmess","settings":{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + corpusUUID + `","alterId":` + aid + `}]}]}}]}`
	}
	tests := []struct {
		name, input string
		want        int
		note        bool // an info note on alterId
	}{
		{"xray string 0", xrayDoc(`"0"`), 0, false},
		{"xray string 64", xrayDoc(`"64"`), 0, true},
		{"xray number 64", xrayDoc(`64`), 0, true},
		{"xray out of range", xrayDoc(`70000`), 0, true},
		{"xray text", xrayDoc(`"x"`), 0, false},
		{"xray null", xrayDoc(`null`), 0, false},
		{"xray number 0", xrayDoc(`0`), 0, false},
		{"xray yaml", "outbounds:\n  - protocol: vmess\n    settings:\n      vnext:\n        - {address: a.example.com, port: 443, users: [{id: " + corpusUUID + ", alterId: 64}]}\n", 0, true},
		{"xray toml", "[[outbounds]]\nprotocol = \"vmess\"\n[[outbounds.settings.vnext]]\naddress = \"a.example.com\"\nport = 443\n[[outbounds.settings.vnext.users]]\nid = \"" + corpusUUID + "\"\nalterId = 64\n", 0, true},
		{"v2rayn link keeps it", v2raynJSON(map[string]any{"v": "2", "add": "a.example.com", "port": "443", "id": corpusUUID, "aid": "64"}), 64, false},
		{"clash keeps it", "proxies:\n- {name: c, type: vmess, server: a.example.com, port: 443, uuid: " + corpusUUID + ", alterId: 64, cipher: auto}\n", 64, false},
		{"sing-box keeps it", `{"outbounds":[{"type":"vmess","tag":"s","server":"a.example.com","server_port":443,"uuid":"` + corpusUUID + `","alter_id":64}]}`, 64, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseAll(t, tc.input)
			if len(res.Nodes) != 1 || res.Errors() != 0 {
				t.Fatalf("nodes %d, %v; want the node", len(res.Nodes), res.Diagnostics)
			}
			if got := res.Nodes[0].AlterID; got != tc.want {
				t.Errorf("read alterId %d; want %d", got, tc.want)
			}
			if got := hasDiag(res.Diagnostics, Info, "alterId", "ignored by Xray"); got != tc.note {
				t.Errorf("note on alterId: %v, want %v: %v", got, tc.note, res.Diagnostics)
			}
			clash, _, err := Emit(res.Nodes, ToClashYAML, EmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("alterId: %d", tc.want); !strings.Contains(string(clash), want) {
				t.Errorf("Clash output lacks %q:\n%s", want, clash)
			}
		})
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

// TestGluedLinks: links run together with no separator are split where a
// scheme starts (a "://" is never part of base64), with a warning.
func TestGluedLinks(t *testing.T) {
	a := v2raynJSON(map[string]any{"v": "2", "ps": "A", "add": "a.example.com", "port": "443", "id": corpusUUID, "net": "ws", "tls": "tls"})
	b := v2raynJSON(map[string]any{"v": "2", "ps": "B", "add": "b.example.com", "port": "80", "id": corpusUUID})
	vless := "vless://" + corpusUUID + "@c.example.com:443?security=tls#C"
	tests := []struct {
		name  string
		line  string
		names []string
		notes int // non-VMess parts skipped
	}{
		{"vmess then vmess", a + b, []string{"A", "B"}, 0},
		{"vmess then vless", a + vless, []string{"A"}, 1},
		{"vless then vmess", vless + a, []string{"A"}, 1},
		{"three", a + vless + b, []string{"A", "B"}, 1},
		{"unpadded tail", strings.TrimRight(a, "=") + b, []string{"A", "B"}, 0},
		// Seen in a collector's list: a backtick between the links.
		{"backtick then vless", a + "`" + vless + "`", []string{"A"}, 1},
		{"backtick then vmess", a + "`" + b, []string{"A", "B"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseAll(t, tc.line+"\n")
			var names []string
			for _, n := range res.Nodes {
				names = append(names, n.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.names, ",") || res.Errors() != 0 {
				t.Fatalf("names %v, diagnostics %v; want %v", names, res.Diagnostics, tc.names)
			}
			if !hasDiag(res.Diagnostics, Warning, "", "run together") {
				t.Errorf("no warning about the glued links: %v", res.Diagnostics)
			}
			notes := 0
			for _, d := range res.Diagnostics {
				if d.Severity == Info {
					notes++
				}
			}
			if notes != tc.notes {
				t.Errorf("%d notes; want %d: %v", notes, tc.notes, res.Diagnostics)
			}
		})
	}
	// A remark that holds a URL is not a second link.
	res := parseAll(t, "vmess://"+corpusUUID+"@a.example.com:443?type=ws#join%20https://t.me/x\n")
	if len(res.Nodes) != 1 || res.Nodes[0].Name != "join https://t.me/x" {
		t.Errorf("remark with a URL: %+v %v", res.Nodes, res.Diagnostics)
	}
	// ParseLink reads the first and says what it left.
	n, warns, err := ParseLink(a + b)
	if err != nil || n.Name != "A" || !hasDiag(warns, Warning, "", "run together") {
		t.Errorf("ParseLink: %+v %v %v", n, warns, err)
	}
}

// TestGluedSeamsDoNotStall: a v2rayN base64 run followed by thousands of
// "://" seams that are not splits (issue 12's glued-link repair once
// rescanned the run at each, quadratic: 400 KB took 33 s). 2 MB must be
// read in far less than the bound, which only catches a stall; the
// doubling is measured by BenchmarkRepairDoubling.
func TestGluedSeamsDoNotStall(t *testing.T) {
	data := repairInputs(2_000_000)["glued-seams"]
	done := make(chan Result, 1)
	go func() {
		res, _ := Parse(context.Background(), "in", data, Options{})
		done <- res
	}()
	select {
	case res := <-done:
		if len(res.Nodes) != 0 || res.Errors() != 1 {
			t.Errorf("nodes %d, diagnostics %v; want one bad link", len(res.Nodes), res.Diagnostics)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("2 MB of glued seams not read within 60 s")
	}
	if _, _, err := ParseLink(string(data)); err == nil {
		t.Error("ParseLink read the hostile line")
	}
}

// TestLineWrappedV2RayNLink: base64 wrapped at 76 columns, as the base64
// tool writes it, with LF or CRLF, reads as one link.
func TestLineWrappedV2RayNLink(t *testing.T) {
	j := rawTLSHost()
	j["ps"] = "a rather long remark so that the payload runs over several lines of base64"
	j["sni"] = "s.example.com"
	link := v2raynJSON(j)
	body := strings.TrimPrefix(link, "vmess://")
	wrap := func(s string, width int, eol string) string {
		var b strings.Builder
		for len(s) > width {
			b.WriteString(s[:width] + eol)
			s = s[width:]
		}
		return b.String() + s + eol
	}
	other := v2raynJSON(map[string]any{"v": "2", "ps": "next", "add": "n.example.com", "port": "80", "id": corpusUUID})
	for _, eol := range []string{"\n", "\r\n"} {
		for name, text := range map[string]string{
			"prefix on the first line": wrap(link, 76, eol),
			"prefix alone":             "vmess://" + eol + wrap(body, 76, eol),
			"payload wrapped":          "vmess://" + wrap(body, 76, eol),
			"followed by a link":       wrap(link, 76, eol) + other + eol,
		} {
			t.Run(name+"/"+strings.ReplaceAll(strings.ReplaceAll(eol, "\r", "CR"), "\n", "LF"), func(t *testing.T) {
				res := parseAll(t, text)
				if len(res.Nodes) == 0 || res.Errors() != 0 || res.Nodes[0].SNI != "s.example.com" || res.Nodes[0].Origin.Line != 1 {
					t.Fatalf("nodes %+v, diagnostics %v; want the link, at line 1", res.Nodes, res.Diagnostics)
				}
				if name == "followed by a link" && (len(res.Nodes) != 2 || res.Nodes[1].Name != "next") {
					t.Errorf("second link lost: %+v", res.Nodes)
				}
			})
		}
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

// TestClashUDPKept: mihomo's udp defaults to off (VmessOption.UDP,
// omitempty); a Clash round trip writes what the source said.
func TestClashUDPKept(t *testing.T) {
	for _, udp := range []string{"", "udp: true, ", "udp: false, "} {
		in := "proxies:\n- {name: c, type: vmess, server: a.example.com, port: 443, uuid: " + corpusUUID + ", " + udp + "alterId: 0, cipher: auto}\n"
		res := parseAll(t, in)
		out, _, err := Emit(res.Nodes, ToClashYAML, EmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		on := strings.Contains(string(out), "udp: true")
		if want := udp == "udp: true, "; on != want {
			t.Errorf("source %q: output has udp on = %v; want %v\n%s", udp, on, want, out)
		}
	}
	// A link has no udp switch: mihomo's own link converter
	// (common/convert/converter.go) turns udp on for vmess, and so do we.
	n, _, err := ParseLink(v2raynJSON(rawTLSHost()))
	if err != nil {
		t.Fatal(err)
	}
	if c, _, _ := toClash(n.full()); !c.UDP {
		t.Errorf("link: udp off; want on, as mihomo's converter writes")
	}
}

// TestTLSTrueIsNotTLS: v2rayN turns TLS on only for tls "tls"
// (Global.StreamSecurity) and mihomo only for values ending in "tls", so
// "true" and "1" are no TLS, with a warning.
func TestTLSTrueIsNotTLS(t *testing.T) {
	for _, v := range []any{"true", "1", true} {
		j := rawTLSHost()
		j["tls"] = v
		n, warns, err := ParseLink(v2raynJSON(j))
		if err != nil {
			t.Fatal(err)
		}
		if n.Security != "" || !hasDiag(warns, Warning, "tls", "v2rayN") {
			t.Errorf("tls %v: security %q, warnings %v; want none, with a warning", v, n.Security, warns)
		}
	}
}

// TestYAMLEscapesControlCharacters: a control character in a name or a
// field is escaped in YAML output, so one odd entry neither aborts the
// run nor changes on the way (U+0085 is not turned into a space); Xray's
// YAML loader and yaml.v3 read back the same text.
func TestYAMLEscapesControlCharacters(t *testing.T) {
	links := []string{
		"vmess://" + corpusUUID + "@a.example.com:443?type=ws&security=tls#bad%C2%81name",
		"vmess://" + corpusUUID + "@b.example.com:443?type=ws&security=tls#a%7Fb",
		"vmess://" + corpusUUID + "@c.example.com:443?type=ws&security=tls&sni=a%7Fb#sni",
		"vmess://" + corpusUUID + "@d.example.com:443?type=ws&security=tls&path=%2Fp%C2%85q#nel%C2%85",
		"vmess://" + corpusUUID + "@e.example.com:443?type=ws#tab%09nl%0Acr%0Dq%22bs%5Cbom%EF%BB%BFls%E2%80%A8",
		"vmess://" + corpusUUID + "@f.example.com:443?type=ws#yes",
		"vmess://" + corpusUUID + "@g.example.com:443?type=ws#0x1F",
		"vmess://" + corpusUUID + "@h.example.com:443?type=ws#%20lead",
	}
	var nodes []*Node
	for _, l := range links {
		n, _, err := ParseLink(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		nodes = append(nodes, n)
	}
	for _, target := range []OutputFormat{ToXrayYAML, ToClashYAML} {
		out, diags, err := Emit(nodes, target, EmitOptions{})
		if err != nil || len(diags) > 0 {
			t.Fatalf("%s: %v %v", target, err, diags)
		}
		if strings.ContainsAny(string(out), "\x7f\u0081\u0085\u2028\ufeff\r") {
			t.Errorf("%s: raw control character in the output:\n%q", target, out)
		}
		var doc map[string][]map[string]any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("%s: yaml.v3 cannot read it back: %v\n%s", target, err, out)
		}
		key, name := "outbounds", "tag"
		if target == ToClashYAML {
			key, name = "proxies", "name"
		}
		for i, entry := range doc[key] {
			if got := entry[name]; got != nodes[i].Name {
				t.Errorf("%s: name %q read back as %q", target, nodes[i].Name, got)
			}
		}
	}
	out, _, _ := Emit(nodes, ToXrayYAML, EmitOptions{})
	if err := buildConfigWithXray(t, "yaml", out); err != nil {
		t.Errorf("Xray's YAML loader refuses it: %v\n%s", err, out)
	}
}

// TestLoonWithoutCipher: a Loon or Quantumult line may leave the cipher
// out; the quoted id must not be taken for a cipher (and printed in a
// warning) nor the next key=value for the id.
func TestLoonWithoutCipher(t *testing.T) {
	tests := []struct {
		name, line string
		tls        bool
		err        string // field of the expected error
	}{
		{"no cipher, quoted id", `p1 = vmess, a.example.com, 443, "` + corpusUUID + `", over-tls=true`, true, ""},
		{"no cipher, bare uuid", `p1 = vmess, a.example.com, 443, ` + corpusUUID + `, transport=ws, path=/ws`, false, ""},
		{"cipher, quoted id", `p1 = vmess, a.example.com, 443, aes-128-gcm, "` + corpusUUID + `", over-tls=true`, true, ""},
		{"cipher, no id", `p1 = vmess, a.example.com, 443, aes-128-gcm, over-tls=true`, false, "uuid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, warns, err := ParseLink(tc.line)
			for _, w := range warns {
				if strings.Contains(w.String(), corpusUUID) {
					t.Errorf("a warning prints the id: %s", w)
				}
			}
			if tc.err != "" {
				var fe *fieldError
				if !errors.As(err, &fe) || fe.Field != tc.err || strings.Contains(err.Error(), corpusUUID) {
					t.Fatalf("err = %v; want one on %s, without the id", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.UUID != corpusUUID || (n.Security == "tls") != tc.tls {
				t.Errorf("node id %q security %q; want the id, tls %v", n.UUID, n.Security, tc.tls)
			}
		})
	}
}

// TestRocketTransportsAndTLS pins what Shadowrocket and Kitsunebi links
// read for each transport and for TLS, now that the transport's part and
// the shared TLS reader do the reading (the same as before they did).
func TestRocketTransportsAndTLS(t *testing.T) {
	const pin = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	rocket := func(cred, query string) string {
		return "vmess://" + base64.RawURLEncoding.EncodeToString([]byte(cred+":"+corpusUUID+"@r.example.com:443")) + "?" + query
	}
	tests := []struct {
		name, link string
		want       Node // the fields compared below
	}{
		{"grpc by obfs", rocket("auto", "obfs=grpc&path=svc&tls=1&peer=g.example.com"),
			Node{Network: "grpc", ServiceName: "svc", Security: "tls", SNI: "g.example.com"}},
		{"grpc by network", rocket("auto", "network=grpc&serviceName=svc2&remark=k"),
			Node{Network: "grpc", ServiceName: "svc2"}},
		{"kcp", rocket("auto", "network=kcp&kcpHeader=wechat-video&seed=s33d"),
			Node{Network: "kcp", HeaderType: "wechat-video", Extra: &NodeExtra{Seed: "s33d"}}},
		{"tcp http disguise", rocket("auto", "obfs=http&path=/a&obfsParam=h.example.com"),
			Node{Network: "raw", HeaderType: "http", Host: "h.example.com", Path: "/a"}},
		{"h2", rocket("auto", "network=h2&h2Path=/h&h2Host=x.example.com&tls=1"),
			Node{Network: "h2", Host: "x.example.com", Path: "/h", Security: "tls"}},
		{"ws host over obfsParam", rocket("auto", "obfs=websocket&wsPath=/w&obfsParam=o.example.com&wsHost=w.example.com"),
			Node{Network: "ws", Host: "w.example.com", Path: "/w"}},
		{"ws headers as JSON", rocket("auto", "obfs=websocket&path=/w&obfsParam=%7B%22Host%22%3A%22j.example.com%22%2C%22X-A%22%3A%22b%22%7D"),
			Node{Network: "ws", Host: "j.example.com", Path: "/w", Extra: &NodeExtra{Headers: map[string]string{"X-A": "b"}}}},
		{"tls keys", rocket("auto", "tls=1&sni=s.example.com&alpn=h2,http/1.1&fp=firefox&allowInsecure=1&pcs="+pin),
			Node{Network: "raw", Security: "tls", SNI: "s.example.com", ALPN: []string{"h2", "http/1.1"}, Fingerprint: "firefox", Insecure: true, Extra: &NodeExtra{PCS: pin}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, _, err := ParseLink(tc.link)
			if err != nil {
				t.Fatal(err)
			}
			got := Node{Network: n.network(), ServiceName: n.ServiceName, HeaderType: n.HeaderType, Host: n.Host, Path: n.Path, Security: n.Security, SNI: n.SNI, ALPN: n.ALPN, Fingerprint: n.Fingerprint, Insecure: n.Insecure, Extra: &NodeExtra{Seed: n.Extras().Seed, Headers: n.Extras().Headers, PCS: n.Extras().PCS}}
			want := tc.want
			if want.Extra == nil {
				want.Extra = &NodeExtra{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestProxyNamedVmess: a Surge or Loon proxy may itself be named vmess
// ("vmess = vmess, host, port, …"); it is that line, not Quantumult X's
// "vmess=host:port, …", and a Quantumult X server whose host starts with
// vmess stays Quantumult X.
func TestProxyNamedVmess(t *testing.T) {
	tests := []struct {
		name, line string
		dialect    string
		host, path string
	}{
		{"surge", "vmess = vmess, a.example.com, 443, username=" + corpusUUID + ", ws=true, ws-path=/ws, vmess-aead=true", DialectSurge, "a.example.com", "/ws"},
		{"surge no spaces", "vmess=vmess,a.example.com,443,username=" + corpusUUID + ",vmess-aead=true", DialectSurge, "a.example.com", ""},
		{"loon", `VMESS = vmess, a.example.com, 443, auto, "` + corpusUUID + `", transport=ws, path=/l`, DialectLoon, "a.example.com", "/l"},
		{"quantumult x host vmess.", "vmess=vmess.example.com:443, method=none, password=" + corpusUUID + ", obfs=ws, obfs-uri=/q, tag=q", DialectQuantumultX, "vmess.example.com", "/q"},
		{"quantumult x host vmess", "vmess = vmess:443, method=none, password=" + corpusUUID + ", tag=q", DialectQuantumultX, "vmess", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, input := range []string{tc.line, "[Proxy]\n" + tc.line + "\n"} {
				res := parseAll(t, input)
				if len(res.Nodes) != 1 || res.Errors() != 0 {
					t.Fatalf("%q: nodes %d, diagnostics %v; want the node", input, len(res.Nodes), res.Diagnostics)
				}
				n := res.Nodes[0]
				if n.Origin.Dialect != tc.dialect || n.Server != tc.host || n.Port != 443 || n.Path != tc.path {
					t.Errorf("%q: read as %s %s:%d path %q; want %s %s:443 path %q", input, n.Origin.Dialect, n.Server, n.Port, n.Path, tc.dialect, tc.host, tc.path)
				}
			}
		})
	}
}

// TestSeparatorLinesSkipped: a line of dashes or equals signs between
// groups of links (seen in a public node list) is not an entry: it is
// skipped with a note, not refused.
func TestSeparatorLinesSkipped(t *testing.T) {
	a := v2raynJSON(map[string]any{"v": "2", "ps": "A", "add": "a.example.com", "port": "443", "id": corpusUUID})
	b := v2raynJSON(map[string]any{"v": "2", "ps": "B", "add": "b.example.com", "port": "443", "id": corpusUUID})
	for _, sep := range []string{"---", "=====", "***", "- - -"} {
		res := parseAll(t, a+"\n"+sep+"\n"+b+"\n")
		if len(res.Nodes) != 2 || res.Errors() != 0 {
			t.Errorf("%q: %d nodes, diagnostics %v; want 2 nodes and no error", sep, len(res.Nodes), res.Diagnostics)
		}
		if !hasDiag(res.Diagnostics, Info, "", "separator") {
			t.Errorf("%q: no note about the skipped line: %v", sep, res.Diagnostics)
		}
	}
	// A lone "-" or a word is still not a link.
	if res := parseAll(t, a+"\nhello\n"); res.Errors() != 1 {
		t.Errorf("a word: %v; want it refused", res.Diagnostics)
	}
}

// TestTrailingSeparatorAfterV2RayNLink: a collector that ends every link
// with a backtick leaves "…fQ==`" where the line ends; the base64 body is
// whole, so the link is read, with a warning, not refused as truncated.
func TestTrailingSeparatorAfterV2RayNLink(t *testing.T) {
	a := v2raynJSON(map[string]any{"v": "2", "ps": "A", "add": "a.example.com", "port": "443", "id": corpusUUID})
	for _, tail := range []string{"`", "`;", ","} {
		res := parseAll(t, a+tail+"\n")
		if len(res.Nodes) != 1 || res.Errors() != 0 {
			t.Fatalf("%q: %d nodes, diagnostics %v; want the link read", tail, len(res.Nodes), res.Diagnostics)
		}
		if !hasDiag(res.Diagnostics, Warning, "link", "after the link") {
			t.Errorf("%q: no warning: %v", tail, res.Diagnostics)
		}
		if _, warns, err := ParseLink(a + tail); err != nil || !hasDiag(warns, Warning, "link", "after the link") {
			t.Errorf("%q: ParseLink: %v %v", tail, warns, err)
		}
	}
	// A base64 body that is really cut short is still refused.
	if res := parseAll(t, a[:len(a)-7]+"`\n"); res.Errors() != 1 {
		t.Errorf("a truncated body: %v; want it refused", res.Diagnostics)
	}
}

// TestLegacyV2RayOutboundKeys: V2Ray configs from before v4 (v2fly's
// v2ray-examples still carry them) hold the main outbound under "outbound"
// and the rest under "outboundDetour". Xray reads only "outbounds", so it
// sees none of them; convert reads them, with a warning saying so, rather
// than taking the whole config for one outbound without a protocol.
func TestLegacyV2RayOutboundKeys(t *testing.T) {
	cfg := `{
 "outbound": {
  "protocol": "vmess",
  "settings": {"vnext": [{"address": "example.domain", "port": 443,
   "users": [{"id": "` + corpusUUID + `", "alterId": 0, "security": "none"}]}]},
  "streamSettings": {"network": "tcp", "security": "tls"}
 },
 "outboundDetour": [
  {"tag": "direct", "protocol": "freedom"},
  {"protocol": "vmess", "settings": {"vnext": [{"address": "b.example.com", "port": 8443,
   "users": [{"id": "` + corpusUUID + `"}]}]}}
 ]
}`
	res := parseAll(t, cfg)
	if len(res.Nodes) != 2 || res.Errors() != 0 {
		t.Fatalf("%d nodes, diagnostics %v; want both vmess outbounds read", len(res.Nodes), res.Diagnostics)
	}
	if res.Nodes[0].Server != "example.domain" || res.Nodes[1].Server != "b.example.com" {
		t.Errorf("servers %q, %q", res.Nodes[0].Server, res.Nodes[1].Server)
	}
	if !hasDiag(res.Diagnostics, Warning, "outbound", "Xray reads only") {
		t.Errorf("no warning about the legacy keys: %v", res.Diagnostics)
	}
	if !hasDiag(res.Diagnostics, Info, "outboundDetour[0]", "not vmess") {
		t.Errorf("the freedom detour is not noted by its field: %v", res.Diagnostics)
	}
	if res.Nodes[0].Origin.Line != 2 {
		t.Errorf("first node at line %d; want 2", res.Nodes[0].Origin.Line)
	}
}

// TestSingBoxKeysMatchWithoutCase: sing-box decodes its options with a copy
// of encoding/json (sing's common/json/internal/contextjson, decode.go:
// byExactName, then byFoldedName), so a key matches its field whatever its
// case: "alter_Id" is alter_id, "Server_Port" is server_port. Real configs
// carry such keys (generated "alter_Id": 0); convert reads them as sing-box
// does instead of dropping them as unknown.
func TestSingBoxKeysMatchWithoutCase(t *testing.T) {
	cfg := `{"outbounds": [{"Type": "vmess", "Tag": "a", "Server": "a.example.com", "Server_Port": 443,
 "UUID": "` + corpusUUID + `", "Security": "auto", "alter_Id": 64,
 "TLS": {"Enabled": true, "Server_Name": "sni.example.com", "UTLS": {"Enabled": true, "Fingerprint": "firefox"}},
 "Transport": {"Type": "ws", "Path": "/p", "Headers": {"Host": "h.example.com"}}}]}`
	res := parseAll(t, cfg)
	if len(res.Nodes) != 1 || res.Errors() != 0 {
		t.Fatalf("%d nodes, diagnostics %v; want the outbound read", len(res.Nodes), res.Diagnostics)
	}
	n := res.Nodes[0]
	if n.Server != "a.example.com" || n.Port != 443 || n.AlterID != 64 || n.Security != "tls" ||
		n.SNI != "sni.example.com" || n.Fingerprint != "firefox" || n.Network != "ws" || n.Path != "/p" || n.Host != "h.example.com" {
		t.Errorf("read %+v", n)
	}
	if hasDiag(res.Diagnostics, Warning, "", "unknown key") {
		t.Errorf("a key sing-box reads is called unknown: %v", res.Diagnostics)
	}
}

// TestXrayKeysMatchWithoutCase: Xray loads its JSON config with
// encoding/json, which matches keys to fields without regard to case, so
// "Outbounds"/"Protocol"/"Vnext" load (infra/conf/serial, Config.Build
// builds the outbound). convert reads such a config as Xray does.
func TestXrayKeysMatchWithoutCase(t *testing.T) {
	cfg := `{"Outbounds":[{"Protocol":"VMess","Tag":"x","Settings":{"Vnext":[{"Address":"a.example.com","Port":443,
 "Users":[{"ID":"` + corpusUUID + `"}]}]},"StreamSettings":{"Network":"ws","WSSettings":{"Path":"/p"}}}]}`
	res := parseAll(t, cfg)
	if len(res.Nodes) != 1 || res.Errors() != 0 {
		t.Fatalf("%d nodes, diagnostics %v; want the outbound read", len(res.Nodes), res.Diagnostics)
	}
	if n := res.Nodes[0]; n.Server != "a.example.com" || n.Port != 443 || n.Network != "ws" || n.Path != "/p" {
		t.Errorf("read %+v", n)
	}
	// A bare vnext object, keys capitalised.
	res = parseAll(t, `{"Vnext":[{"Address":"b.example.com","Port":443,"Users":[{"Id":"`+corpusUUID+`"}]}]}`)
	if len(res.Nodes) != 1 || res.Errors() != 0 {
		t.Fatalf("bare settings: %d nodes, diagnostics %v", len(res.Nodes), res.Diagnostics)
	}
}
