package convert

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type diagWant struct {
	Severity Severity
	Line     int
	Field    string // substring of the diagnostic's field
}

func TestParseDocuments(t *testing.T) {
	tests := []struct {
		file      string
		from      InputFormat
		wantNames []string
		wantDiags []diagWant // every Error and Info, in order
		check     func(t *testing.T, nodes []*Node)
	}{
		{
			file:      "sub-plain.txt",
			wantNames: []string{"A ws", "B grpc", "B grpc", "C qx"},
			wantDiags: []diagWant{{Info, 1, ""}, {Info, 5, ""}, {Error, 6, "base64"}, {Info, 7, ""}},
			check: func(t *testing.T, nodes []*Node) {
				if nodes[0].Origin.Line != 4 || nodes[3].Origin.Line != 10 {
					t.Errorf("lines = %d, %d; want 4, 10", nodes[0].Origin.Line, nodes[3].Origin.Line)
				}
			},
		},
		{
			file:      "sub-base64.txt",
			wantNames: []string{"A ws", "B grpc", "B grpc", "C qx"},
			wantDiags: []diagWant{{Info, 1, ""}, {Info, 5, ""}, {Error, 6, "base64"}, {Info, 7, ""}},
		},
		{
			file:      "clash.yaml",
			wantNames: []string{"c-ws", "c-grpc", "c-http", "c-upgrade", "c-legacy", "c-reality"},
			wantDiags: []diagWant{{Info, 22, "proxies[1]"}, {Error, 75, "uuid"}},
			check: func(t *testing.T, nodes []*Node) {
				ws := nodes[0]
				if ws.Port != 443 || ws.Host != "cdn.example.com" || ws.Extras().EarlyData != 2048 || ws.Fingerprint != "chrome" || ws.SNI != "sni.example.com" {
					t.Errorf("c-ws = %+v", ws)
				}
				if h := nodes[2]; h.HeaderType != "http" || h.Path != "/a,/b" || h.Host != "h.example.com" || h.Cipher != "none" {
					t.Errorf("c-http = %+v", h)
				}
				if u := nodes[3]; u.Network != "httpupgrade" || u.Path != "/up" {
					t.Errorf("c-upgrade = %+v", u)
				}
				if l := nodes[4]; l.AlterID != 64 || !l.Insecure {
					t.Errorf("c-legacy = %+v", l)
				}
				if r := nodes[5]; r.Security != "reality" || r.Extras().ShortID != "6ba85179e30d4fc2" {
					t.Errorf("c-reality = %+v", r)
				}
			},
		},
		{
			file:      "singbox.json",
			wantNames: []string{"s-ws", "s-grpc", "s-up", "s-http"},
			wantDiags: []diagWant{{Info, 13, "outbounds[4]"}, {Error, 14, "server_port"}},
			check: func(t *testing.T, nodes []*Node) {
				if ws := nodes[0]; ws.Host != "cdn.example.com" || ws.Extras().EarlyData != 2048 || ws.Fingerprint != "firefox" {
					t.Errorf("s-ws = %+v", ws)
				}
				if h := nodes[3]; h.Network != "raw" || h.HeaderType != "http" || h.Path != "/x" {
					t.Errorf("s-http = %+v", h)
				}
			},
		},
		{
			file:      "xray.jsonc",
			wantNames: []string{"x-ws", "x-flat", "x-kcp-legacy", "x-two-users", "x-two-users"},
			wantDiags: []diagWant{{Info, 13, "outbounds[1]"}},
			check: func(t *testing.T, nodes []*Node) {
				if ws := nodes[0]; ws.Path != "/ws?ed=2048" || len(ws.ALPN) != 2 || ws.SNI != "sni.example.com" {
					t.Errorf("x-ws = %+v", ws)
				}
				if f := nodes[1]; f.Server != "flat.example.com" || f.Port != 8443 || f.Cipher != "zero" || f.Path != "/a,/b" {
					t.Errorf("x-flat = %+v", f)
				}
				if k := nodes[2]; k.HeaderType != "wechat-video" || k.Extras().Seed != "s33d" {
					t.Errorf("x-kcp-legacy = %+v", k)
				}
			},
		},
		{file: "surge.conf", wantNames: []string{"Surge1"}, wantDiags: []diagWant{{Info, 7, ""}}},
		{file: "xray.yaml", wantNames: []string{"y-grpc"}},
		{file: "xray.toml", wantNames: []string{"t-xhttp"}},
		{file: "xray-list.json", wantNames: []string{"l-1", "l-2"}},
		{file: "xray-settings.json", wantNames: []string{"bare.example.com:443"}},
		{file: "sub-plain.txt", from: FormatLinks, wantNames: []string{"A ws", "B grpc", "B grpc", "C qx"},
			wantDiags: []diagWant{{Info, 1, ""}, {Info, 5, ""}, {Error, 6, "base64"}, {Info, 7, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+string(tt.from), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("../testdata/convert", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Parse(context.Background(), tt.file, data, Options{From: tt.from})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var names []string
			for _, n := range res.Nodes {
				names = append(names, n.Name)
			}
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			var got []diagWant
			for _, d := range res.Diagnostics {
				noSecret(t, "diagnostic", d.String())
				if d.Input != tt.file {
					t.Errorf("diagnostic %q does not name the input", d)
				}
				if d.Severity == Warning {
					continue
				}
				got = append(got, diagWant{d.Severity, d.Line, d.Field})
			}
			if len(got) != len(tt.wantDiags) {
				t.Fatalf("diagnostics = %v, want %v\n%v", got, tt.wantDiags, res.Diagnostics)
			}
			for i, w := range tt.wantDiags {
				if got[i].Severity != w.Severity || got[i].Line != w.Line || !strings.Contains(got[i].Field, w.Field) {
					t.Errorf("diagnostic %d = %+v, want %+v", i, got[i], w)
				}
			}
			if tt.check != nil && len(res.Nodes) == len(tt.wantNames) {
				tt.check(t, res.Nodes)
			}
			for _, n := range res.Nodes {
				o, _, err := ToXray(n)
				if err != nil {
					t.Errorf("%s: ToXray: %v", n.Name, err)
					continue
				}
				if err := buildWithXray(t, o); err != nil {
					t.Errorf("%s: Xray-core refused the outbound: %v", n.Name, err)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		data string
		opts Options
		want string
	}{
		{"empty", "  \n", Options{}, "empty input"},
		{"over the size cap", strings.Repeat("A", 2048), Options{MaxInputBytes: 1024}, "over the 1024-byte limit"},
		{"not links nor base64", "just some words here", Options{}, "not share links"},
		{"bad JSON", `{"outbounds": [`, Options{}, "not valid JSON"},
		{"bad YAML", "proxies:\n  - [unclosed", Options{}, "not valid YAML"},
		{"clash without proxies", "proxies: 3\n", Options{}, "no proxies"},
		{"unknown format", "x", Options{From: "ini"}, "unknown input format"},
		{"deep JSON", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), Options{From: FormatXray}, "not valid JSON"},
		{"deep YAML", "outbounds:\n" + strings.Repeat("[", 5000) + strings.Repeat("]", 5000), Options{From: FormatXray}, ""},
		{"billion laughs", billionLaughs, Options{From: FormatClash}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(context.Background(), "in", []byte(tt.data), tt.opts)
			if err == nil {
				t.Fatalf("Parse accepted %q", clip(tt.data))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "convert: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			// Typed, so a caller words it without cutting text.
			var ie *InputError
			if !errors.As(err, &ie) || ie.Input != "in" || !strings.HasSuffix(err.Error(), ": "+ie.Reason) {
				t.Errorf("error %q (%T) is not an *InputError naming the input", err, err)
			}
		})
	}
}

const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
proxies:
  - {name: x, type: vmess, server: a, port: 1, uuid: hello, alterId: 0, cipher: auto, extra: *i}
`

func TestParseCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sub := strings.Repeat("vmess://"+corpusUUID+"@a.example.com:443?type=tcp#n\n", 1000)
	if _, err := Parse(ctx, "sub", []byte(sub), Options{}); err == nil {
		t.Fatal("Parse ignored a cancelled context")
	}
}

func TestParseBoundsDiagnostics(t *testing.T) {
	bad := strings.Repeat("vmess://!!\n", 5000)
	res, err := Parse(context.Background(), "bad", []byte(bad), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diagnostics) != MaxDiagnostics+1 {
		t.Errorf("%d diagnostics kept, want %d", len(res.Diagnostics), MaxDiagnostics+1)
	}
	if res.Errors() != 5000 {
		t.Errorf("Errors() = %d, want 5000", res.Errors())
	}
	if last := res.Diagnostics[len(res.Diagnostics)-1]; !strings.Contains(last.Message, "4000 more diagnostics") {
		t.Errorf("last diagnostic %q does not summarise the rest", last)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want InputFormat
	}{
		{"vmess://abc", FormatLinks},
		{"dm1lc3M6Ly9hYmM=", FormatLinks},
		{"proxies:\n  - name: a", FormatClash},
		{"port: 7890\nproxies:\n", FormatClash},
		{`{"outbounds":[{"type":"vmess","server":"a","server_port":1}]}`, FormatSingBox},
		{`{"type":"vmess","server":"a"}`, FormatSingBox},
		{`{"outbounds":[{"protocol":"vmess"}]}`, FormatXray},
		{`{"vnext":[{"address":"a","port":1,"users":[{"id":"x"}]}],"x":{"type":"none"}}`, FormatXray},
		{"// comment\n{\"outbounds\":[]}", FormatXray},
		{"[[outbounds]]\nprotocol = \"vmess\"", FormatXray},
		{"[Proxy]\nA = vmess, a.example.com, 443, username=x", FormatLinks},
		{"outbounds:\n  - protocol: vmess", FormatXray},
		{"[\n {\"protocol\":\"vmess\"}\n]", FormatXray},
		{strings.Repeat("[", 50), FormatXray},
	}
	for _, tt := range tests {
		t.Run(clip(tt.in), func(t *testing.T) {
			if got := detect([]byte(tt.in)); got != tt.want {
				t.Errorf("detect = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSNIDefaultsKeepTheSourceMeaning: each dialect's own fallback for an
// empty server name is made explicit, so a conversion never changes which
// name the TLS handshake uses.
func TestSNIDefaultsKeepTheSourceMeaning(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"v2rayn falls back to the Host header",
			"vmess://" + b64(`{"v":"2","add":"a.example.com","port":"443","id":"`+corpusUUID+`","net":"ws","host":"h.example.com","tls":"tls"}`), "h.example.com"},
		{"mihomo falls back to the ws Host header",
			"proxies:\n  - {name: c, type: vmess, server: a.example.com, port: 443, uuid: " + corpusUUID + ", alterId: 0, cipher: auto, tls: true, network: ws, ws-opts: {headers: {Host: h.example.com}}}\n", "h.example.com"},
		{"Xray falls back to the address",
			`[{"protocol":"vmess","settings":{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + corpusUUID + `"}]}]},"streamSettings":{"network":"ws","security":"tls","wsSettings":{"host":"h.example.com"}}}]`, "a.example.com"},
		{"sing-box falls back to the server",
			`{"outbounds":[{"type":"vmess","server":"a.example.com","server_port":443,"uuid":"` + corpusUUID + `","tls":{"enabled":true},"transport":{"type":"ws","headers":{"Host":"h.example.com"}}}]}`, "a.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := parseOne(t, "in", []byte(tt.in))
			for _, target := range []OutputFormat{ToXrayJSON, ToV2RayNLink, ToURILink, ToClashYAML, ToSingBox} {
				out, _, err := Emit([]*Node{n}, target, EmitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				back := parseOne(t, string(target), out)
				o, _, err := ToXray(back)
				if err != nil {
					t.Fatal(err)
				}
				if got := o.StreamSettings.TLSSettings.ServerName; got != tt.want {
					t.Errorf("via %s: serverName = %q, want %q", target, got, tt.want)
				}
			}
		})
	}
}

func TestXrayShapeErrorsNameTheField(t *testing.T) {
	in := "{\"outbounds\": [\n{\"protocol\":\"vmess\",\"settings\":{\"vnext\":[{\"address\":\"a\",\"port\":\"443\",\"users\":[{\"id\":\"x\"}]}]}},\n{\"protocol\":\"vmess\",\"settings\":{\"vnext\":[{\"address\":\"a\",\"port\":443,\"users\":[{\"id\":\"x\"}]}]},\"mux\":{\"enabled\":\"yes\"}}\n]}"
	res, err := Parse(context.Background(), "c.json", []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"c.json:2: error: outbounds[0].settings.vnext.port: is a JSON string; want an integer (no quotes)",
		"c.json:3: error: outbounds[1].mux.enabled: is a JSON string; want true or false",
	}
	var got []string
	for _, d := range res.Diagnostics {
		got = append(got, d.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}
