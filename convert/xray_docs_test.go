package convert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	xconf "github.com/xtls/xray-core/infra/conf"
)

// TestOddDocsBuildOrFail: every Clash, sing-box, v2rayN and client-line
// node convert writes to Xray must be built by Xray's own loader (adopted
// from the round-1 review).
func TestOddDocsBuildOrFail(t *testing.T) {
	clash := func(extra string) string {
		return "proxies:\n  - {name: n, type: vmess, server: a.example.com, port: 443, uuid: b831bfb3-e84c-4647-a953-bbdd6e6d6390, alterId: 0, cipher: auto" + extra + "}\n"
	}
	v2 := func(js string) string { return "vmess://" + base64.StdEncoding.EncodeToString([]byte(js)) }
	docs := map[string]string{
		"clash fp":          clash(", tls: true, client-fingerprint: hellofoo"),
		"clash reality":     clash(", tls: true, reality-opts: {public-key: abc, short-id: zz}, servername: a.com"),
		"clash ws no slash": clash(", network: ws, ws-opts: {path: ws}"),
		"clash ws ed":       clash(", network: ws, ws-opts: {path: /ws, max-early-data: 99999999, early-data-header-name: Sec-WebSocket-Protocol}"),
		"clash grpc":        clash(", network: grpc, tls: true, grpc-opts: {grpc-service-name: 'a/b'}"),
		"clash h2":          clash(", network: h2, tls: true, h2-opts: {host: [a.com], path: p}"),
		"clash http":        clash(", network: http, http-opts: {method: BOGUS, path: [p]}"),
		"clash cipher":      clash(", cipher: rc4"),
		"clash alpn":        clash(", tls: true, alpn: [bogus]"),
		"clash port str":    "proxies:\n  - {name: n, type: vmess, server: a.example.com, port: '443', uuid: b831bfb3-e84c-4647-a953-bbdd6e6d6390, alterId: 0, cipher: auto}\n",
		"singbox utls":      `{"outbounds":[{"type":"vmess","tag":"n","server":"a.example.com","server_port":443,"uuid":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","tls":{"enabled":true,"utls":{"enabled":true,"fingerprint":"hellofoo"}}}]}`,
		"singbox reality":   `{"outbounds":[{"type":"vmess","tag":"n","server":"a.example.com","server_port":443,"uuid":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","tls":{"enabled":true,"server_name":"a.com","reality":{"enabled":true,"public_key":"abc","short_id":"zz"}}}]}`,
		"singbox http":      `{"outbounds":[{"type":"vmess","tag":"n","server":"a.example.com","server_port":443,"uuid":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","transport":{"type":"http","method":"BOGUS"}}]}`,
		"v2rayn fp":         v2(`{"v":"2","ps":"n","add":"a.example.com","port":"443","id":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","aid":"0","net":"tcp","tls":"tls","fp":"hellofoo"}`),
		"v2rayn alpn":       v2(`{"v":"2","ps":"n","add":"a.example.com","port":"443","id":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","aid":"0","net":"tcp","tls":"tls","alpn":"h2,bogus"}`),
		"v2rayn port":       v2(`{"v":"2","ps":"n","add":"a.example.com","port":"70000","id":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","aid":"0","net":"tcp"}`),
		"v2rayn kcp":        v2(`{"v":"2","ps":"n","add":"a.example.com","port":"443","id":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","aid":"0","net":"kcp","type":"bogus"}`),
		"v2rayn grpc mode":  v2(`{"v":"2","ps":"n","add":"a.example.com","port":"443","id":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","aid":"0","net":"grpc","type":"multi","path":"svc"}`),
		"v2rayn xhttp":      v2(`{"v":"2","ps":"n","add":"a.example.com","port":"443","id":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","aid":"0","net":"xhttp","type":"bogus","path":"/x"}`),
		"v2rayn sni ip":     v2(`{"v":"2","ps":"n","add":"1.2.3.4","port":"443","id":"b831bfb3-e84c-4647-a953-bbdd6e6d6390","aid":"0","net":"tcp","tls":"tls"}`),
		"qx":                "vmess=a.example.com:443, method=chacha20-ietf-poly1305, password=b831bfb3-e84c-4647-a953-bbdd6e6d6390, obfs=wss, obfs-host=h, obfs-uri=ws, tag=q",
		"surge":             "s = vmess, a.example.com, 443, username=b831bfb3-e84c-4647-a953-bbdd6e6d6390, ws=true, ws-path=ws, tls=true, sni=x",
	}
	for name, d := range docs {
		res, err := Parse(context.Background(), name, []byte(d), Options{})
		if err != nil {
			t.Logf("%s: parse error %v", name, err)
			continue
		}
		for _, n := range res.Nodes {
			o, _, err := ToXray(n)
			if err != nil {
				continue
			}
			if xerr := buildWithXray(t, o); xerr != nil {
				t.Errorf("%s: convert writes, Xray refuses: %v", name, xerr)
			}
		}
	}
}

// TestBadValuesNamedInTheirDialect checks a value Xray would refuse is an
// error on that node, naming the field as the source document spells it,
// and never showing the id (Clash entries are placed by line, the others
// by path).
func TestBadValuesNamedInTheirDialect(t *testing.T) {
	const id = "b831bfb3-e84c-4647-a953-bbdd6e6d6390"
	clash := func(extra string) string {
		return "proxies:\n  - {name: n, type: vmess, server: a.example.com, port: 443, uuid: " + id + ", alterId: 0, cipher: auto" + extra + "}\n"
	}
	sb := func(tls string) string {
		return `{"outbounds":[{"type":"vmess","tag":"n","server":"a.example.com","server_port":443,"uuid":"` + id + `","tls":` + tls + `}]}`
	}
	xr := func(stream string) string {
		return `{"outbounds":[{"protocol":"vmess","settings":{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + id + `"}]}]},"streamSettings":` + stream + `}]}`
	}
	v2 := func(js string) string { return "vmess://" + base64.StdEncoding.EncodeToString([]byte(js)) }
	tests := []struct{ name, doc, field string }{
		{"clash public key", clash(", tls: true, servername: a.com, reality-opts: {public-key: abc}"), "reality-opts.public-key"},
		{"clash short id", clash(", tls: true, servername: a.com, reality-opts: {public-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, short-id: zz}"), "reality-opts.short-id"},
		{"clash cert pin", clash(", tls: true, fingerprint: zz"), "fingerprint"},
		{"clash id dash", "proxies:\n  - {name: n, type: vmess, server: a.example.com, port: 443, uuid: b831-381d6324-4d53-ad4f-8cda48b30811, alterId: 0, cipher: auto}\n", "uuid"},
		{"sing-box short id", sb(`{"enabled":true,"server_name":"a.com","reality":{"enabled":true,"public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","short_id":"abc"}}`), "outbounds[0].tls.reality.short_id"},
		{"sing-box alpn", sb(`{"enabled":true,"alpn":["h2","fromMitm"]}`), "outbounds[0].tls.alpn"},
		{"xray public key", xr(`{"security":"reality","realitySettings":{"serverName":"a.com","publicKey":"abc"}}`), "outbounds[0].streamSettings.realitySettings.publicKey"},
		{"xray pinned hash", xr(`{"security":"tls","tlsSettings":{"pinnedPeerCertSha256":"zz"}}`), "outbounds[0].streamSettings.tlsSettings.pinnedPeerCertSha256"},
		{"xray finalmask", xr(`{"finalmask":{"udp":[{"type":"bogus"}]}}`), "outbounds[0].streamSettings.finalmask"},
		{"xray ML-DSA key", xr(`{"security":"reality","realitySettings":{"serverName":"a.com","publicKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","mldsa65Verify":"abc"}}`), "outbounds[0].streamSettings.realitySettings.mldsa65Verify"},
		{"xray id dash", `{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"b831381d--6324-4d53-ad4f-8cda48b3081"}]}]}`, "[0].settings.vnext[0].users[0].id"},
		{"v2rayn id dash", v2(`{"v":"2","ps":"n","add":"a.example.com","port":"443","id":"b831-381d6324-4d53-ad4f-8cda48b30811","aid":"0","net":"tcp"}`), "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(context.Background(), "in", []byte(tt.doc), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Nodes) != 0 {
				t.Errorf("%d nodes read, want the bad one refused", len(res.Nodes))
			}
			var fields []string
			for _, d := range res.Diagnostics {
				if strings.Contains(strings.ToLower(d.String()), id) || strings.Contains(d.String(), "381d6324") {
					t.Errorf("diagnostic shows the id: %s", d)
				}
				if d.Severity == Error {
					fields = append(fields, d.Field)
				}
			}
			if len(fields) != 1 || fields[0] != tt.field {
				t.Errorf("errors about %q, want one about %q; %v", fields, tt.field, res.Diagnostics)
			}
		})
	}
}

// TestXrayHostHeaderAsXrayReadsIt: a Host inside a transport's headers is
// read as Xray-core's loader reads it (infra/conf/transport_internet.go):
// for ws it is the Host only when "host" is empty and is dropped
// otherwise (WebSocketConfig.Build); for httpupgrade and xhttp it is a
// load error (HttpUpgradeConfig.Build, SplitHTTPConfig.Build), so the
// node is refused naming the header. Each case is also built by Xray, so
// the expectations are the loader's, not ours.
func TestXrayHostHeaderAsXrayReadsIt(t *testing.T) {
	xr := func(stream string) string {
		return `{"outbounds":[{"protocol":"vmess","settings":{"vnext":[{"address":"a.example.com","port":443,"users":[{"id":"` + corpusUUID + `"}]}]},"streamSettings":` + stream + `}]}`
	}
	tests := []struct {
		name, stream string
		host         string // the node's Host; "" with errField set
		errField     string
	}{
		{"ws header only", `{"network":"ws","wsSettings":{"path":"/w","headers":{"Host":"h.example.com"}}}`, "h.example.com", ""},
		{"ws host wins", `{"network":"ws","wsSettings":{"path":"/w","host":"a.example.com","headers":{"host":"h.example.com"}}}`, "a.example.com", ""},
		{"httpupgrade header only", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/u","headers":{"Host":"h.example.com"}}}`, "", "outbounds[0].streamSettings.httpupgradeSettings.headers.Host"},
		{"httpupgrade both", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/u","host":"a.example.com","headers":{"HOST":"h.example.com"}}}`, "", "outbounds[0].streamSettings.httpupgradeSettings.headers.HOST"},
		{"xhttp header", `{"network":"xhttp","xhttpSettings":{"path":"/x","host":"a.example.com","headers":{"Host":"h.example.com"}}}`, "", "outbounds[0].streamSettings.xhttpSettings.headers.Host"},
		{"httpupgrade other header", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/u","host":"a.example.com","headers":{"X-A":"b"}}}`, "a.example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := xr(tt.stream)
			var cfg struct {
				Outbounds []json.RawMessage `json:"outbounds"`
			}
			if err := json.Unmarshal([]byte(doc), &cfg); err != nil {
				t.Fatal(err)
			}
			var oc xconf.OutboundDetourConfig
			if err := json.Unmarshal(cfg.Outbounds[0], &oc); err != nil {
				t.Fatal(err)
			}
			_, xerr := oc.Build()
			if (xerr != nil) != (tt.errField != "") {
				t.Fatalf("Xray's loader: %v; the case expects an error: %v", xerr, tt.errField != "")
			}
			res := parseAll(t, doc)
			if tt.errField != "" {
				if len(res.Nodes) != 0 || !hasDiag(res.Diagnostics, Error, tt.errField, "Host") {
					t.Errorf("nodes %d, diagnostics %v; want an error on %s", len(res.Nodes), res.Diagnostics, tt.errField)
				}
				return
			}
			if len(res.Nodes) != 1 || res.Nodes[0].Host != tt.host {
				t.Fatalf("nodes %+v, diagnostics %v; want Host %q", res.Nodes, res.Diagnostics, tt.host)
			}
			if _, ok := res.Nodes[0].Extras().Headers["Host"]; ok {
				t.Errorf("Host kept among the headers: %v", res.Nodes[0].Extras().Headers)
			}
		})
	}
}
