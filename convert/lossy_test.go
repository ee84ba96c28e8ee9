package convert

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// lossCase sets one Node field on an otherwise plain node.
type lossCase struct {
	field string
	node  func() *Node
	get   func(*Node) any
}

func baseNode(network string) *Node {
	n := &Node{Name: "n", Server: "s.example.com", Port: 443, UUID: corpusUUID, Cipher: "auto",
		Network: network, Security: "tls", SNI: "sni.example.com"}
	switch network {
	case "ws", "httpupgrade", "xhttp", "h2":
		n.Host, n.Path = "h.example.com", "/p"
	case "grpc":
		n.ServiceName = "svc"
	case "kcp", "quic":
		n.Security, n.SNI = "", ""
	}
	return n
}

func with(network string, set func(*Node)) func() *Node {
	return func() *Node { n := baseNode(network); set(n); return n }
}

// effectiveEarlyData is ws early data wherever it is written.
func effectiveEarlyData(n *Node) any {
	if _, ed := splitEarlyData(n.Path); ed > 0 {
		return ed
	}
	return ext(n).EarlyData
}

func lossCases() []lossCase {
	return []lossCase{
		{"alterId", with("ws", func(n *Node) { n.AlterID = 64 }), func(n *Node) any { return n.AlterID }},
		{"cipher", with("ws", func(n *Node) { n.Cipher = "chacha20-poly1305" }), func(n *Node) any { return n.Cipher }},
		{"experiments", with("ws", func(n *Node) { ext(n).Experiments = "AuthenticatedLength" }), func(n *Node) any { return ext(n).Experiments }},
		{"ws host/path", with("ws", func(n *Node) { n.Host, n.Path = "x.example.com", "/x" }), func(n *Node) any { return n.Host + n.Path }},
		{"ws headers", with("ws", func(n *Node) { ext(n).Headers = map[string]string{"User-Agent": "ua"} }), func(n *Node) any { return ext(n).Headers }},
		{"ws early data", with("ws", func(n *Node) { ext(n).EarlyData = 2048 }), effectiveEarlyData},
		{"httpupgrade", with("httpupgrade", func(*Node) {}), func(n *Node) any { return n.Network + n.Host + n.Path }},
		{"grpc serviceName", with("grpc", func(n *Node) { n.ServiceName = "other" }), func(n *Node) any { return n.ServiceName }},
		{"grpc multi mode", with("grpc", func(n *Node) { ext(n).GRPCMode = "multi" }), func(n *Node) any { return ext(n).GRPCMode }},
		{"grpc authority", with("grpc", func(n *Node) { ext(n).Authority = "a.example.com" }), func(n *Node) any { return ext(n).Authority }},
		{"tcp http header", with("raw", func(n *Node) { n.Security, n.SNI, n.HeaderType, n.Host, n.Path = "", "", "http", "a.example.com", "/a" }),
			func(n *Node) any { return n.HeaderType + n.Host + n.Path }},
		{"tcp http paths", with("raw", func(n *Node) { n.Security, n.SNI, n.HeaderType, n.Path = "", "", "http", "/a,/b" }), func(n *Node) any { return n.Path }},
		{"kcp", with("kcp", func(*Node) {}), func(n *Node) any { return n.Network }},
		{"kcp header/seed", with("kcp", func(n *Node) { n.HeaderType, ext(n).Seed = "srtp", "s" }), func(n *Node) any { return n.HeaderType + ext(n).Seed }},
		{"kcp mtu/tti", with("kcp", func(n *Node) { ext(n).MTU, ext(n).TTI = 1350, 20 }), func(n *Node) any { return fmt.Sprint(ext(n).MTU, ext(n).TTI) }},
		{"xhttp", with("xhttp", func(n *Node) { ext(n).XHTTPMode = "packet-up" }), func(n *Node) any { return n.Network + ext(n).XHTTPMode + n.Path }},
		{"xhttp extra", with("xhttp", func(n *Node) { ext(n).XHTTPExtra = json.RawMessage(`{"xPaddingBytes":"100-1000"}`) }), func(n *Node) any { return string(ext(n).XHTTPExtra) }},
		{"h2", with("h2", func(*Node) {}), func(n *Node) any { return n.Network + n.Host + n.Path }},
		{"quic", with("quic", func(n *Node) { n.Security, ext(n).QUICSecurity, ext(n).QUICKey = "tls", "aes-128-gcm", "k" }),
			func(n *Node) any { return n.Network + ext(n).QUICSecurity + ext(n).QUICKey }},
		{"sni", with("ws", func(n *Node) { n.SNI = "other.example.com" }), func(n *Node) any { return n.SNI }},
		{"alpn", with("ws", func(n *Node) { n.ALPN = []string{"h2", "http/1.1"} }), func(n *Node) any { return strings.Join(n.ALPN, ",") }},
		{"fp", with("ws", func(n *Node) { n.Fingerprint = "firefox" }), func(n *Node) any { return n.Fingerprint }},
		{"insecure", with("ws", func(n *Node) { n.Insecure = true }), func(n *Node) any { return n.Insecure }},
		{"pcs", with("ws", func(n *Node) { ext(n).PCS = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }), func(n *Node) any { return ext(n).PCS }},
		{"vcn", with("ws", func(n *Node) { ext(n).VCN = "v.example.com" }), func(n *Node) any { return ext(n).VCN }},
		{"ech", with("ws", func(n *Node) { ext(n).ECH = "AEX+DQBBpQAgACB/abc" }), func(n *Node) any { return ext(n).ECH }},
		{"reality", with("raw", func(n *Node) {
			n.Security, ext(n).PublicKey, ext(n).ShortID = "reality", "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw", "6ba85179e30d4fc2"
		}), func(n *Node) any { return n.Security + ext(n).PublicKey + ext(n).ShortID }},
		{"reality spx/pqv", with("raw", func(n *Node) {
			n.Security, ext(n).PublicKey, ext(n).SpiderX, ext(n).PQV = "reality", "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw", "/s", strings.Repeat("A", 2603) // 1952 bytes, as Xray requires
		}), func(n *Node) any { return ext(n).SpiderX + ext(n).PQV }},
		{"finalmask", with("ws", func(n *Node) { ext(n).FinalMask = json.RawMessage(`{"tcp":[{"type":"fragment"}]}`) }), func(n *Node) any { return string(ext(n).FinalMask) }},
		{"tfo", with("ws", func(n *Node) { n.TFO = true }), func(n *Node) any { return n.TFO }},
		{"mux", with("ws", func(n *Node) { n.Mux = true }), func(n *Node) any { return n.Mux }},
	}
}

// TestNothingDroppedSilently proves the promise for every field the
// model holds and every target: either the field survives being written
// and read back, or the emitter reported a diagnostic for that node. It
// also prints the lossy pairs (docs/convert.md's table comes from this run).
func TestNothingDroppedSilently(t *testing.T) {
	// The plain nodes themselves convert cleanly everywhere they can.
	for _, nw := range []string{"ws", "grpc", "raw"} {
		for _, target := range OutputFormats() {
			if _, d, _ := Emit([]*Node{baseNode(nw)}, target, EmitOptions{}); len(d) > 0 {
				t.Fatalf("base %s node is not clean for %s: %v", nw, target, d)
			}
		}
	}
	table := map[string][]string{}
	for _, c := range lossCases() {
		for _, target := range OutputFormats() {
			t.Run(c.field+"/"+string(target), func(t *testing.T) {
				n := c.node()
				out, diags, err := Emit([]*Node{n}, target, EmitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				notes := 0
				for _, d := range diags {
					if d.Severity == Info {
						notes++
					}
				}
				if len(diags) > notes {
					kind := "lossy"
					for _, d := range diags {
						if d.Severity == Error {
							kind = "not convertible"
						}
						if d.Severity == Info {
							continue
						}
						if d.Server != "n" || d.Field == "" || d.Message == "" {
							t.Errorf("diagnostic does not name server and field: %+v", d)
						}
					}
					table[string(target)] = append(table[string(target)], c.field+" ("+kind+")")
					return
				}
				res, err := Parse(context.Background(), "out", out, Options{})
				if err != nil || len(res.Nodes) != 1 {
					t.Fatalf("reading back: %v %v\n%s", err, res.Diagnostics, out)
				}
				if got, want := c.get(res.Nodes[0]), c.get(n); !reflect.DeepEqual(got, want) {
					t.Errorf("%s silently changed %v -> %v\n%s", c.field, want, got, out)
				}
			})
		}
	}
	targets := make([]string, 0, len(table))
	for k := range table {
		targets = append(targets, k)
	}
	sort.Strings(targets)
	for _, k := range targets {
		t.Logf("| %s | %s |", k, strings.Join(table[k], ", "))
	}
}

// flagName matches a command-line flag such as --to.
var flagName = regexp.MustCompile(`(^|[\s(])--[a-z]`)

// TestLossesNameACarrierNotAFlag: the library's messages name no
// command-line flag (the CLI chooses the words of its advice); a loss
// that another target carries says which in Carrier, and that target
// does carry it: writing the node there reports nothing about the field
// and reading it back gives the same value.
func TestLossesNameACarrierNotAFlag(t *testing.T) {
	carried := map[string]bool{}
	for _, c := range lossCases() {
		for _, target := range OutputFormats() {
			_, diags, err := Emit([]*Node{c.node()}, target, EmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diags {
				if flagName.MatchString(d.Message) {
					t.Errorf("%s/%s: a library message names a flag: %s", c.field, target, d.Message)
				}
				if d.Carrier == "" {
					continue
				}
				carried[c.field] = true
				out, more, err := Emit([]*Node{c.node()}, d.Carrier, EmitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range more {
					if m.Field == d.Field {
						t.Errorf("%s: %s names %s as the carrier of %s, which reports %s", c.field, target, d.Carrier, d.Field, m)
					}
				}
				res, err := Parse(context.Background(), "out", out, Options{})
				if err != nil || len(res.Nodes) != 1 {
					t.Fatalf("reading back %s: %v %v", d.Carrier, err, res.Diagnostics)
				}
				if got, want := c.get(res.Nodes[0]), c.get(c.node()); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: carrier %s changed it %v -> %v", c.field, d.Carrier, want, got)
				}
			}
		}
	}
	for _, f := range []string{"kcp mtu/tti", "xhttp extra", "reality", "ech", "finalmask"} {
		if !carried[f] {
			t.Errorf("the v2rayN link's loss of %s names no carrier; the standard link carries it", f)
		}
	}
}

// ext returns n's extra fields for setting, allocating them when n has none.
func ext(n *Node) *NodeExtra {
	if n.Extra == nil {
		n.Extra = &NodeExtra{}
	}
	return n.Extra
}
