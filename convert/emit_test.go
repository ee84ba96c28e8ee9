package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xvmtools/xvm/convert/converttest"
	"github.com/xvmtools/xvm/schema/conf"
)

// corpusNodes returns every corpus node that parses, renamed uniquely.
func corpusNodes(t *testing.T) []*Node {
	t.Helper()
	var nodes []*Node
	for _, c := range loadCorpus(t) {
		if c.Error != "" {
			continue
		}
		n, _, err := ParseLink(c.Link)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		nodes = append(nodes, n)
	}
	return nodes
}

func keysOf(m map[string]any) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

func allowOnly(t *testing.T, where string, m map[string]any, allowed ...string) {
	t.Helper()
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, k := range keysOf(m) {
		if !ok[k] {
			t.Errorf("%s: key %q is not a documented field (allowed: %v)", where, k, allowed)
		}
	}
}

// sing-box v1.13 documented vmess outbound fields (sing-box rejects unknown
// keys): https://sing-box.sagernet.org/configuration/outbound/vmess/ and the
// shared TLS, V2Ray transport and dial field pages.
var (
	sbOutboundFields = []string{"type", "tag", "server", "server_port", "uuid", "security", "alter_id",
		"global_padding", "authenticated_length", "network", "tls", "packet_encoding", "transport", "multiplex",
		"detour", "bind_interface", "inet4_bind_address", "inet6_bind_address", "routing_mark", "reuse_addr",
		"connect_timeout", "tcp_fast_open", "tcp_multi_path", "udp_fragment", "domain_resolver"}
	sbTLSFields = []string{"enabled", "disable_sni", "server_name", "insecure", "alpn", "min_version",
		"max_version", "cipher_suites", "certificate", "certificate_path", "certificate_public_key_sha256",
		"fragment", "record_fragment", "ech", "utls", "reality"}
	sbUTLSFields      = []string{"enabled", "fingerprint"}
	sbRealityFields   = []string{"enabled", "public_key", "short_id"}
	sbECHFields       = []string{"enabled", "config", "config_path", "query_server_name"}
	sbTransportFields = map[string][]string{
		"http":        {"type", "host", "path", "method", "headers", "idle_timeout", "ping_timeout"},
		"ws":          {"type", "path", "headers", "max_early_data", "early_data_header_name"},
		"quic":        {"type"},
		"grpc":        {"type", "service_name", "idle_timeout", "ping_timeout", "permit_without_stream"},
		"httpupgrade": {"type", "host", "path", "headers"},
	}
	sbUTLSFingerprints = []string{"chrome", "firefox", "edge", "safari", "360", "qq", "ios", "android", "random", "randomized"}
)

func TestSingBoxOutputFollowsDocumentedFields(t *testing.T) {
	out, diags, err := Emit(corpusNodes(t), ToSingBox, EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diags {
		noSecret(t, "diagnostic", d.String())
	}
	var doc struct {
		Outbounds []map[string]any `json:"outbounds"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Outbounds) < 50 {
		t.Fatalf("only %d outbounds emitted", len(doc.Outbounds))
	}
	for i, o := range doc.Outbounds {
		where := fmt.Sprintf("outbounds[%d] %v", i, o["tag"])
		allowOnly(t, where, o, sbOutboundFields...)
		if o["type"] != "vmess" {
			t.Errorf("%s: type = %v", where, o["type"])
		}
		if p, ok := o["server_port"].(float64); !ok || p < 1 || p > 65535 {
			t.Errorf("%s: server_port = %v, want a number", where, o["server_port"])
		}
		if _, ok := o["network"]; ok {
			t.Errorf("%s: network is sing-box's L4 filter, not the transport", where)
		}
		if tl, ok := o["tls"].(map[string]any); ok {
			allowOnly(t, where+".tls", tl, sbTLSFields...)
			if u, ok := tl["utls"].(map[string]any); ok {
				allowOnly(t, where+".tls.utls", u, sbUTLSFields...)
				if fp, _ := u["fingerprint"].(string); fp != "" && !contains(sbUTLSFingerprints, fp) {
					t.Errorf("%s: utls fingerprint %q is not one sing-box knows", where, fp)
				}
			}
			if r, ok := tl["reality"].(map[string]any); ok {
				allowOnly(t, where+".tls.reality", r, sbRealityFields...)
				if u, _ := tl["utls"].(map[string]any); u == nil || u["enabled"] != true {
					t.Errorf("%s: sing-box REALITY needs utls enabled", where)
				}
			}
			if e, ok := tl["ech"].(map[string]any); ok {
				allowOnly(t, where+".tls.ech", e, sbECHFields...)
			}
		}
		if tr, ok := o["transport"].(map[string]any); ok {
			typ, _ := tr["type"].(string)
			allowed, known := sbTransportFields[typ]
			if !known {
				t.Errorf("%s: transport type %q", where, typ)
				continue
			}
			allowOnly(t, where+".transport", tr, allowed...)
			if typ == "ws" {
				if p, _ := tr["path"].(string); strings.Contains(p, "ed=") {
					t.Errorf("%s: early data left in the ws path %q", where, p)
				}
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestClashOutputHasMihomoKeys: every proxy has the keys mihomo's vmess
// requires and none it does not know (converttest.MihomoVMessProblems).
func TestClashOutputHasMihomoKeys(t *testing.T) {
	out, _, err := Emit(corpusNodes(t), ToClashYAML, EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proxies, problems, err := converttest.MihomoVMessProblems(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(proxies) < 50 {
		t.Fatalf("only %d proxies emitted", len(proxies))
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestXrayTargetsBuildWithXray(t *testing.T) {
	nodes := corpusNodes(t)
	for _, target := range []OutputFormat{ToXrayJSON, ToXrayConfig, ToXrayYAML, ToXrayTOML} {
		t.Run(string(target), func(t *testing.T) {
			out, diags, err := Emit(nodes, target, EmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			failed := 0
			for _, d := range diags {
				noSecret(t, "diagnostic", d.String())
				if d.Severity == Error {
					failed++
				}
			}
			if failed != 1 { // the REALITY-over-ws corpus link
				t.Errorf("%d nodes left out, want 1: %v", failed, diags)
			}
			switch target {
			case ToXrayJSON:
				var outs []json.RawMessage
				if err := json.Unmarshal(out, &outs); err != nil {
					t.Fatal(err)
				}
				if len(outs) != len(nodes)-1 {
					t.Fatalf("%d outbounds, want %d", len(outs), len(nodes)-1)
				}
				// As a config, every outbound is built by Xray's loader.
				cfg := append(append([]byte(`{"outbounds":`), out...), '}')
				if err := buildConfigWithXray(t, "json", cfg); err != nil {
					t.Fatalf("Xray-core refused the outbounds: %v", err)
				}
			case ToXrayConfig:
				if err := buildConfigWithXray(t, "json", out); err != nil {
					t.Fatalf("Xray-core refused the config: %v", err)
				}
			case ToXrayYAML:
				if err := buildConfigWithXray(t, "yaml", out); err != nil {
					t.Fatalf("Xray-core refused the YAML: %v", err)
				}
			case ToXrayTOML:
				if err := buildConfigWithXray(t, "toml", out); err != nil {
					t.Fatalf("Xray-core refused the TOML: %v", err)
				}
			}
		})
	}
}

func TestNotConvertible(t *testing.T) {
	tests := []struct {
		link   string
		target OutputFormat
		field  string
	}{
		{"vmess://" + corpusUUID + "@e.example.com:443?type=kcp#k", ToClashYAML, "network"},
		{"vmess://" + corpusUUID + "@e.example.com:443?type=xhttp#x", ToSingBox, "network"},
		{"vmess://" + corpusUUID + "@e.example.com:443?type=ws&security=reality&pbk=Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw#r", ToXrayJSON, "security"},
		{"vmess://" + corpusUUID + "@e.example.com:443?type=tcp&security=reality#nokey", ToXrayJSON, "pbk"},
		{"vmess://" + corpusUUID + "@e.example.com:443?type=tcp&headerType=http&security=tls#t", ToSingBox, "headerType"},
	}
	for _, tt := range tests {
		t.Run(string(tt.target)+" "+tt.field, func(t *testing.T) {
			n, _, err := ParseLink(tt.link)
			if err != nil {
				t.Fatal(err)
			}
			out, diags, err := Emit([]*Node{n}, tt.target, EmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got *Diagnostic
			for i := range diags {
				if diags[i].Severity == Error {
					got = &diags[i]
				}
			}
			if got == nil || got.Field != tt.field || got.Server == "" {
				t.Fatalf("diagnostics %v, want an error about %q naming the server", diags, tt.field)
			}
			noSecret(t, "diagnostic", got.String())
			if strings.Contains(string(out), corpusUUID) {
				t.Errorf("the node was written anyway:\n%s", out)
			}
			var nc *NotConvertibleError
			if tt.target == ToXrayJSON {
				if _, _, err := ToXray(n); !errors.As(err, &nc) {
					t.Errorf("ToXray error %v, want NotConvertibleError", err)
				}
			}
		})
	}
}

func TestNamesUniqueAndTemplated(t *testing.T) {
	mk := func(name, server string) *Node {
		return &Node{Name: name, Server: server, Port: 443, UUID: corpusUUID, Network: "ws", Cipher: "auto"}
	}
	nodes := []*Node{mk("hk", "a.example.com"), mk("hk", "b.example.com"), mk("hk-2", "c.example.com"), mk("", "d.example.com"), mk("hk", "e.example.com")}
	tests := []struct {
		tmpl string
		want []string
	}{
		{"", []string{"hk", "hk-2", "hk-2-2", "d.example.com:443", "hk-3"}},
		{"{index}-{name}@{server}:{port}/{network}+{security}", []string{"1-hk@a.example.com:443/ws+none", "2-hk@b.example.com:443/ws+none", "3-hk-2@c.example.com:443/ws+none", "4-@d.example.com:443/ws+none", "5-hk@e.example.com:443/ws+none"}},
		{"same", []string{"same", "same-2", "same-3", "same-4", "same-5"}},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			var got []string
			got = uniqueNames(nodes, EmitOptions{NameTemplate: tt.tmpl})
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("names = %q, want %q", got, tt.want)
			}
		})
	}
	if nodes[1].Name != "hk" {
		t.Error("uniqueNames changed the caller's nodes")
	}
}

func TestCheckNameTemplate(t *testing.T) {
	for _, tt := range []struct {
		tmpl string
		bad  string // the placeholder named in the error; "" means valid
	}{
		{"", ""},
		{"{index} {name} {server}:{port} {network}/{security}", ""},
		{"plain", ""},
		{"{ {name} }", ""},
		{"{{name}}", ""},
		{"open { only", ""},
		{"{foo}", "{foo}"},
		{"{name} {Name}", "{Name}"},
		{"{}", "{}"},
	} {
		t.Run(tt.tmpl, func(t *testing.T) {
			err := CheckNameTemplate(tt.tmpl)
			if tt.bad == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "unknown placeholder "+tt.bad+"; want {name}") {
				t.Fatalf("error %v, want one naming %s and listing the valid ones", err, tt.bad)
			}
			if _, _, err := Emit(nil, ToURILink, EmitOptions{NameTemplate: tt.tmpl}); err == nil {
				t.Error("Emit accepted the template")
			}
		})
	}
}

// TestRefusalsSeenThroughWrapping: a part's refusal and a writer's
// NotConvertibleError are found with errors.As, so a refusal wrapped on
// its way up (fmt.Errorf("…: %w")) still names its field and target.
func TestRefusalsSeenThroughWrapping(t *testing.T) {
	n := (&Node{Name: "n", Server: "a.example.com", Port: 443}).full()
	err := n.notConvertible("clash", fmt.Errorf("writing: %w", refuse("network", "no such transport")))
	var nc *NotConvertibleError
	if !errors.As(err, &nc) || nc.Field != "network" || nc.Target != "clash" {
		t.Errorf("notConvertible gave %#v; want a NotConvertibleError on network for clash", err)
	}
	d := refused(n, fmt.Errorf("emit: %w", &NotConvertibleError{Server: "n", Target: "sing-box", Field: "network", Reason: "no mKCP"}))
	if d.Field != "network" || d.Message != "cannot be written as sing-box: no mKCP; node left out" {
		t.Errorf("refused gave field %q, message %q", d.Field, d.Message)
	}
}

// TestEmitWritesNothingWhenNothingCan: when no node can be written in the
// target, nothing is (not an empty list), so that a caller never has to
// run the emitter twice to keep an all-refused run from writing; with
// AllOrNothing, one refused node keeps the others from being written too.
func TestEmitWritesNothingWhenNothingCan(t *testing.T) {
	kcp := &Node{Name: "k", Server: "k.example.com", Port: 443, UUID: corpusUUID, Network: "kcp"}
	realityWS := &Node{Name: "r", Server: "r.example.com", Port: 443, UUID: corpusUUID, Network: "ws", Security: "reality", SNI: "r.example.com", Extra: &NodeExtra{PublicKey: "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw"}}
	good := baseNode("ws")
	big := baseNode("ws") // a node whose output is larger than any write buffer
	big.Name, big.Path = "big", "/"+strings.Repeat("p", 20000)
	refusedBy := map[OutputFormat]*Node{ToXrayJSON: realityWS, ToXrayConfig: realityWS, ToXrayYAML: realityWS, ToXrayTOML: realityWS,
		ToClashYAML: kcp, ToSingBox: kcp}
	for target, bad := range refusedBy {
		t.Run(string(target), func(t *testing.T) {
			var out bytes.Buffer
			diags, err := EmitTo(&out, []*Node{bad, bad}, target, EmitOptions{})
			if err != nil || out.Len() != 0 || !hasError(diags) {
				t.Errorf("all refused: err %v, wrote %q, diagnostics %v; want nothing written and the refusals", err, out.String(), diags)
			}
			out.Reset()
			diags, err = EmitTo(&out, []*Node{good, bad}, target, EmitOptions{AllOrNothing: true})
			if err != nil || out.Len() != 0 || !hasError(diags) {
				t.Errorf("all or nothing: err %v, wrote %q, diagnostics %v; want nothing written and the refusal", err, out.String(), diags)
			}
			for _, nodes := range [][]*Node{{good, bad}, {bad, big}} {
				want, _, err := Emit(nodes[:1], target, EmitOptions{})
				if nodes[0] == bad {
					want, _, err = Emit(nodes[1:], target, EmitOptions{})
				}
				if err != nil {
					t.Fatal(err)
				}
				out.Reset()
				if _, err := EmitTo(&out, nodes, target, EmitOptions{}); err != nil || out.String() != string(want) {
					t.Errorf("with %s refused: wrote %d bytes, want the %d of the writable node alone (err %v)", bad.Name, out.Len(), len(want), err)
				}
			}
		})
	}
}

// TestNameTemplateErrorIsTyped: the unknown placeholder comes back as data
// (errors.As), so that the CLI words its message without cutting a prefix
// off the text.
func TestNameTemplateErrorIsTyped(t *testing.T) {
	var pe *PlaceholderError
	if err := CheckNameTemplate("{index} {foo}"); !errors.As(err, &pe) || pe.Placeholder != "{foo}" {
		t.Errorf("CheckNameTemplate: %#v; want a PlaceholderError for {foo}", err)
	}
}

// TestTOMLWrittenNodeByNodeIsTheWholeDocument: toml is written one
// outbound at a time; the text must be what encoding the whole config at
// once gives, blank lines between tables included (none after an empty
// table such as a gRPC node's grpcSettings without a service name).
func TestTOMLWrittenNodeByNodeIsTheWholeDocument(t *testing.T) {
	emptyGRPC := baseNode("grpc")
	emptyGRPC.ServiceName, emptyGRPC.Security, emptyGRPC.SNI = "", "", ""
	nodes := []*Node{emptyGRPC, baseNode("ws"), emptyGRPC, emptyGRPC, baseNode("grpc"), baseNode("raw")}
	for _, c := range lossCases() {
		nodes = append(nodes, c.node(), emptyGRPC)
	}
	got, _, err := Emit(nodes, ToXrayTOML, EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list := nodeList{nodes: nodes, names: uniqueNames(nodes, EmitOptions{})}
	var diags []Diagnostic
	whole, err := json.Marshal(conf.Config{Outbounds: emitEach(list, (*fullNode).toXray, &diags)})
	if err != nil {
		t.Fatal(err)
	}
	want, err := jsonToTOML(whole)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("toml written node by node differs from the whole document (-whole +streamed):\n%s", diff)
	}
}
