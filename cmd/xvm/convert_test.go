package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xconf "github.com/xtls/xray-core/infra/conf"
	"github.com/xtls/xray-core/infra/conf/serial"
	_ "github.com/xtls/xray-core/main/distro/all" // register vmess, transports and masks
)

const convertUUID = "b831bfb3-e84c-4647-a953-bbdd6e6d6390"

func convertFixture(name string) string {
	return filepath.Join("..", "..", "testdata", "convert", name)
}

func TestConvertCommand(t *testing.T) {
	link := "vmess://" + convertUUID + "@example.com:443?type=ws&security=tls&host=cdn.example.com&path=%2Fws#HK"
	kcp := "vmess://" + convertUUID + "@k.example.com:443?type=kcp#K1"
	clash, err := os.ReadFile(convertFixture("clash.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		tty        bool
		stdin      string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    []string // substrings of stderr
		wantNoErr  []string // must not be in stderr
		emptyOut   bool
		goldenFile string // stdout must equal this convert golden file
		xray       string // stdout must build with Xray-core's loader: "outbounds" or "config"
	}{
		{name: "one link to xray", args: []string{"convert", link}, wantCode: 0, xray: "outbounds",
			wantOut: []string{`"protocol": "vmess"`, `"serverName": "cdn.example.com"`}},
		{name: "subscription with a bad line", args: []string{"convert", convertFixture("sub-plain.txt")}, wantCode: 1,
			wantErr:    []string{"sub-plain.txt:6: error: base64:", "sub-plain.txt:5: info: ss:// is not VMess; skipped", "1 entry failed; 4 server(s) written"},
			goldenFile: "sub-plain.xray.json", xray: "outbounds"},
		{name: "strict makes a bad line fatal", args: []string{"convert", "--strict", convertFixture("sub-plain.txt")}, wantCode: 2,
			emptyOut: true, wantErr: []string{"--strict is set; nothing written"}},
		{name: "base64 subscription to clash", args: []string{"convert", "--to", "clash", convertFixture("sub-base64.txt")}, wantCode: 1,
			goldenFile: "sub-plain.clash.yaml"},
		{name: "clash from stdin to sing-box", stdin: string(clash), args: []string{"convert", "--to", "sing-box", "-"}, wantCode: 1,
			goldenFile: "clash.sing-box.json", wantErr: []string{"<stdin>:75: error: uuid: missing"}},
		{name: "every target", args: []string{"convert", "--to", "uri", convertFixture("sub-plain.txt")}, wantCode: 1,
			goldenFile: "sub-plain.uri.txt"},
		{name: "xray-config with listen", args: []string{"convert", "--to", "xray-config", "--listen", "127.0.0.1:2080", link}, wantCode: 0, xray: "config",
			wantOut: []string{`"port": 2080`, `"protocol": "socks"`}},
		{name: "target cannot express a node", args: []string{"convert", "--to", "clash", link, kcp}, wantCode: 1,
			wantOut: []string{"name: HK"}, wantErr: []string{"K1: network: cannot be written as clash"}},
		{name: "warnings name server and field", args: []string{"convert", "vmess://" + convertUUID + "@e.example.com:443?type=ws&security=tls&insecure=1#ins"}, wantCode: 0, xray: "outbounds",
			wantErr: []string{"warning: ins: insecure:"}},
		{name: "quiet keeps warnings", args: []string{"convert", "-q", "vmess://" + convertUUID + "@e.example.com:443?type=ws&security=tls&insecure=1#ins"}, wantCode: 0,
			wantErr: []string{"warning: ins: insecure:"}},
		{name: "quiet drops notes", args: []string{"convert", "-q", convertFixture("sub-plain.txt")}, wantCode: 1,
			wantErr: []string{"sub-plain.txt:6: error: base64:"}, wantNoErr: []string{"info:", "server(s) written"}},
		{name: "stdin is named <stdin>", stdin: link + "\nvmess://" + convertUUID + "@example.com:99999\n", args: []string{"convert", "-"}, wantCode: 1,
			wantErr: []string{"<stdin>:2: error: port"}, wantNoErr: []string{" stdin:"}},
		{name: "name template with an unknown placeholder", args: []string{"convert", "--to", "uri", "--name-template", "{index} {foo}", link}, wantCode: 2,
			emptyOut: true, wantErr: []string{`--name-template "{index} {foo}": unknown placeholder {foo}; want {name} {server} {port} {network} {security} {index}`}},
		{name: "name template with literal braces", args: []string{"convert", "--to", "uri", "--name-template", "{ {name} }", link}, wantCode: 0,
			wantOut: []string{"#%7B%20HK%20%7D\n"}},
		{name: "name template", args: []string{"convert", "--to", "uri", "--name-template", "{index}-{name}", link, link}, wantCode: 0,
			wantOut: []string{"#1-HK\n", "#2-HK\n"}},
		{name: "duplicate names made unique", args: []string{"convert", "--to", "uri", link, link}, wantCode: 0,
			wantOut: []string{"#HK\n", "#HK-2\n"}},
		{name: "bad link is exit 2 and masks the id", args: []string{"convert", "vmess://" + convertUUID + "@example.com:99999?type=ws"}, wantCode: 2,
			emptyOut: true, wantErr: []string{"argument 1:1: error: port: 99999 is out of range", "no VMess server could be read"}},
		{name: "bad id is not echoed", args: []string{"convert", "vmess://zz" + convertUUID[2:] + "@example.com:443"}, wantCode: 2,
			wantErr: []string{"uuid: is not a UUID"}, wantNoErr: []string{convertUUID[2:]}},
		{name: "a value Xray refuses is an error naming the field", args: []string{"convert", "vmess://" + convertUUID + "@example.com:443?type=tcp&security=reality&sni=a.com&pbk=abc#R", link}, wantCode: 1, xray: "outbounds",
			wantErr: []string{"argument 1:1: error: pbk: REALITY public key decodes to 2 bytes", "1 entry failed; 1 server(s) written"}},
		{name: "an unknown fingerprint is dropped with a warning", args: []string{"convert", "vmess://" + convertUUID + "@example.com:443?type=tcp&security=tls&fp=hellofoo#F"}, wantCode: 0, xray: "outbounds",
			wantErr: []string{`warning: F: fp: unknown uTLS fingerprint "hellofoo" not carried; Xray uses chrome`}, wantNoErr: []string{"error"}},
		{name: "seed manual vnext from stdin", stdin: `{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + convertUUID + `"},{"id":"27848739-7e62-4138-9fd3-098a63964b6b"}]},{"address":"b.example.com","port":443,"users":[{"id":"` + convertUUID + `"}]}]}`,
			args: []string{"convert", "-"}, wantCode: 0, xray: "outbounds",
			wantOut: []string{`"address": "a.example.com"`, `"address": "b.example.com"`},
			wantErr: []string{"<stdin>: warning: [0].settings.vnext: 2 servers with 3 users in all: written as 3 nodes"}, wantNoErr: []string{convertUUID, "27848739"}},
		{name: "quantumult x file opening with a comment", stdin: "# my servers\nvmess=example.com:80, method=aes-128-gcm, password=" + convertUUID + ", tag=A\n",
			args: []string{"convert", "-"}, wantCode: 0, xray: "outbounds", wantOut: []string{`"tag": "A"`}},
		{name: "surge [Proxy] section", stdin: "[Proxy]\nA = vmess, example.com, 443, username=" + convertUUID + ", ws=true, ws-path=/ws\n",
			args: []string{"convert", "-"}, wantCode: 0, xray: "outbounds", wantOut: []string{`"path": "/ws"`}},
		{name: "strict with a node the target cannot express writes nothing", args: []string{"convert", "--strict", "--to", "clash", link, kcp}, wantCode: 2,
			emptyOut: true, wantErr: []string{"K1: network: cannot be written as clash", "1 entry failed and --strict is set; nothing written"}},
		{name: "strict with a bad line reports what writing would", args: []string{"convert", "--strict", "--to", "clash", kcp, "vmess://" + convertUUID + "@example.com:99999"}, wantCode: 2,
			emptyOut: true, wantErr: []string{"argument 2:1: error: port", "K1: network: cannot be written as clash", "no server could be written as clash"}},
		{name: "nothing expressible in the target", args: []string{"convert", "--to", "clash", kcp}, wantCode: 2,
			emptyOut: true, wantErr: []string{"no server could be written as clash"}},
		{name: "a loss another target carries names that target", args: []string{"convert", "--to", "v2rayn", "vmess://" + convertUUID + "@k.example.com:443?type=kcp&mtu=1350#K"}, wantCode: 0,
			wantErr: []string{"warning: K: mtu/tti: v2rayN's link has no key for them; not carried (use --to uri)"}},
		{name: "unknown target", args: []string{"convert", "--to", "ini", link}, wantCode: 2, wantErr: []string{`--to "ini"`}},
		{name: "unknown source", args: []string{"convert", "--from", "ini", link}, wantCode: 2, wantErr: []string{`--from "ini"`}},
		{name: "bad listen", args: []string{"convert", "--listen", "nope", link}, wantCode: 2, wantErr: []string{"--listen"}},
		{name: "missing file", args: []string{"convert", "no-such-file.txt"}, wantCode: 2, wantErr: []string{"no-such-file.txt", "give a file"}},
		{name: "input over the cap", args: []string{"convert", "--max-input-size", "10", convertFixture("sub-plain.txt")}, wantCode: 2, wantErr: []string{"over the 10-byte limit"}},
		{name: "empty stdin", stdin: "", args: []string{"convert"}, wantCode: 2, wantErr: []string{"empty input"}},
		{name: "colour on a terminal", tty: true, args: []string{"convert", "--to", "clash", kcp, link}, wantCode: 1, wantErr: []string{"\x1b["}},
		{name: "no colour in a pipe", args: []string{"convert", "--to", "clash", kcp, link}, wantCode: 1, wantNoErr: []string{"\x1b["}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVM(t, tt.tty, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, w := range tt.wantNoErr {
				if strings.Contains(errOut, w) {
					t.Errorf("stderr has %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(strings.ToLower(errOut), convertUUID) {
				t.Errorf("stderr shows the user id:\n%s", errOut)
			}
			if tt.emptyOut && out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if tt.xray != "" {
				xrayBuilds(t, tt.xray, out)
			}
			if tt.goldenFile != "" {
				want, err := os.ReadFile(convertFixture(filepath.Join("golden", tt.goldenFile)))
				if err != nil {
					t.Fatal(err)
				}
				if out != string(want) {
					t.Errorf("stdout differs from %s:\n%s", tt.goldenFile, out)
				}
			}
		})
	}
}

func TestConvertDefaultIsJSONArray(t *testing.T) {
	out, _, code := runXVM(t, false, "", "convert", "vmess://"+convertUUID+"@example.com:443?type=tcp#a")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var arr []map[string]any
	if err := json.Unmarshal([]byte(out), &arr); err != nil || len(arr) != 1 || arr[0]["tag"] != "a" {
		t.Fatalf("stdout is not a one-outbound JSON array: %v\n%s", err, out)
	}
	xrayBuilds(t, "outbounds", out)
}

// xrayBuilds feeds convert's output to Xray-core's own loader
// (infra/conf v1.260327.0): a JSON array of outbounds, or a whole config.
func xrayBuilds(t *testing.T, kind, out string) {
	t.Helper()
	data := []byte(out)
	if kind == "outbounds" {
		var arr []xconf.OutboundDetourConfig
		if err := json.Unmarshal(data, &arr); err != nil {
			t.Fatalf("Xray cannot read the outbounds: %v", err)
		}
		for i := range arr {
			if _, err := arr[i].Build(); err != nil {
				t.Fatalf("Xray refused outbound %d: %v", i, err)
			}
		}
		return
	}
	c, err := serial.DecodeJSONConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Xray cannot read the config: %v", err)
	}
	if _, err := c.Build(); err != nil {
		t.Fatalf("Xray refused the config: %v", err)
	}
}
