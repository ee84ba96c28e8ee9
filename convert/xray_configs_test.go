package convert

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestXrayConfigList reads a JSON array of whole Xray configs, as
// Marzban renders its v2ray-json subscription for v2rayN 6.40 and later
// (app/subscription/v2ray.py, V2rayJsonConfig: the template's log,
// inbounds, dns and routing around each server's "proxy" outbound, a
// "remarks" name, indent 4, non-ASCII escaped as \u surrogates). Each
// element's vmess outbounds are nodes named by its remarks, as v2rayN
// names each element (ServiceLib/Handler/Fmt/V2rayFmt.cs, ResolveFull);
// other proxies are skipped with a line each, local plumbing (freedom,
// blackhole) with one line for all; the nodes build in Xray.
func TestXrayConfigList(t *testing.T) {
	const in = "../testdata/convert/xray-configs-array.json"
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Parse(context.Background(), "sub", data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		name, server, network string
		line                  int
	}
	wants := []want{
		{"🇩🇪 Germany | WS", "de.example.com", "ws", 49},
		{"🇳🇱 Netherlands | gRPC", "nl.example.com", "grpc", 166},
		{"🇺🇸 USA | TCP", "us.example.com", "raw", 419},
	}
	if len(res.Nodes) != len(wants) {
		t.Fatalf("%d nodes, want %d: %v", len(res.Nodes), len(wants), res.Diagnostics)
	}
	for i, w := range wants {
		n := res.Nodes[i]
		if n.Name != w.name || n.Server != w.server || n.network() != w.network || n.Origin.Line != w.line {
			t.Errorf("node %d: %q %s %s line %d, want %+v", i, n.Name, n.Server, n.network(), n.Origin.Line, w)
		}
		o, _, err := ToXray(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := buildWithXray(t, o); err != nil {
			t.Errorf("%s: Xray refuses the outbound: %v", n.Name, err)
		}
	}
	var vless, local bool
	for _, d := range res.Diagnostics {
		if d.Severity == Error {
			t.Errorf("error: %v", d)
		}
		if d.Field == "[2].outbounds[0]" && strings.Contains(d.Message, `protocol "vless" is not vmess; skipped`) {
			vless = true
		}
		if d.Severity == Info && d.Message == "a list of 4 whole Xray configs (v2rayN's JSON subscription): 9 freedom and blackhole outbounds, their local routing, skipped" {
			local = true
		}
	}
	if !vless || !local {
		t.Errorf("want the vless proxy skipped by name and the local outbounds in one line: %v", res.Diagnostics)
	}
}

// TestXrayConfigListNames: an element with several vmess outbounds names
// each "remarks (tag)"; one without remarks keeps the tag, as an Xray
// config does; an element that is an outbound (not a config) is read as
// one, so a list may mix both.
func TestXrayConfigListNames(t *testing.T) {
	const vnext = `{"vnext":[{"address":"a.example","port":443,"users":[{"id":"b831381d-6324-4d53-ad4f-8cda48b30811"}]}]}`
	data := `[
 {"remarks": "Two", "outbounds": [{"tag": "p1", "protocol": "vmess", "settings": ` + vnext + `}, {"tag": "p2", "protocol": "VMess", "settings": ` + vnext + `}]},
 {"Outbounds": [{"tag": "proxy", "protocol": "vmess", "settings": ` + vnext + `}]},
 {"tag": "bare", "protocol": "vmess", "settings": ` + vnext + `}
]`
	res, err := Parse(context.Background(), "sub", []byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range res.Nodes {
		names = append(names, n.Name)
	}
	if got := strings.Join(names, ","); got != "Two (p1),Two (p2),proxy,bare" {
		t.Fatalf("names %q; diagnostics %v", got, res.Diagnostics)
	}
}

// BenchmarkXrayConfigListDoubling reads lists of whole configs of doubling
// length (the fixture's four elements repeated): time and memory per input
// byte must stay flat.
func BenchmarkXrayConfigListDoubling(b *testing.B) {
	data, err := os.ReadFile("../testdata/convert/xray-configs-array.json")
	if err != nil {
		b.Fatal(err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{256, 512, 1024, 2048} {
		list := make([]json.RawMessage, 0, n)
		for len(list) < n {
			list = append(list, elems...)
		}
		in, err := json.MarshalIndent(list[:n], "", "    ")
		if err != nil {
			b.Fatal(err)
		}
		want := n / len(elems) * 3 // three vmess servers in every four elements
		b.Run(fmt.Sprintf("configs=%d", n), func(b *testing.B) {
			loopPerInputByte(b, len(in), func() error {
				res, err := Parse(context.Background(), "bench", in, Options{})
				if err == nil && len(res.Nodes) != want {
					err = fmt.Errorf("%d nodes, want %d", len(res.Nodes), want)
				}
				return err
			})
		})
	}
}
