package convert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func parseLinks(t *testing.T, links ...string) []*Node {
	t.Helper()
	res, err := Parse(context.Background(), "sub", []byte(strings.Join(links, "\n")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors() > 0 || len(res.Nodes) != len(links) {
		t.Fatalf("parse: %d nodes of %d, %v", len(res.Nodes), len(links), res.Diagnostics)
	}
	return res.Nodes
}

func TestDedupe(t *testing.T) {
	const id = corpusUUID
	upper := strings.ToUpper(id)
	base := "vmess://" + id + "@a.example:443?type=ws&security=tls&path=%2Fws&host=cdn.example"
	type spec struct {
		name  string
		other string
		same  bool
	}
	for _, c := range []spec{
		{"only the name differs", base + "#B", true},
		{"case of host, server and id", "vmess://" + upper + "@A.EXAMPLE:443?type=ws&security=tls&path=%2Fws&host=CDN.example#B", true},
		{"sni equal to the address is the default", base + "&sni=a.example#B", true},
		{"cipher and fingerprint are the client's", base + "&encryption=none&fp=chrome#B", true},
		{"the same server in the v2rayN dialect", v2rayNLink(map[string]string{"v": "2", "ps": "B", "add": "a.example", "port": "443", "id": id, "net": "ws", "path": "/ws", "host": "cdn.example", "tls": "tls"}), true},
		{"port", strings.Replace(base, ":443", ":8443", 1) + "#B", false},
		{"id", strings.Replace(base, id, "b831bfb3-e84c-4647-a953-bbdd6e6d6391", 1) + "#B", false},
		{"path", strings.Replace(base, "%2Fws", "%2Fws2", 1) + "#B", false},
		{"path case", strings.Replace(base, "%2Fws", "%2FWS", 1) + "#B", false},
		{"host", strings.Replace(base, "cdn.example", "cdn2.example", 1) + "#B", false},
		{"sni", base + "&sni=other.example#B", false},
		{"security", strings.Replace(base, "security=tls", "security=none", 1) + "#B", false},
		{"network", strings.Replace(base, "type=ws", "type=httpupgrade", 1) + "#B", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			nodes := parseLinks(t, base+"#A", c.other)
			if got := SameServer(nodes[0], nodes[1]); got != c.same {
				t.Fatalf("SameServer = %v, want %v", got, c.same)
			}
			kept, notes := Dedupe(nodes)
			if c.same != (len(kept) == 1) || len(notes) != len(nodes)-len(kept) {
				t.Fatalf("kept %d, notes %v", len(kept), notes)
			}
			if c.same {
				n := notes[0]
				if kept[0].Name != "A" || n.Severity != Info || n.Server != "B" || n.Line != 2 ||
					n.Message != `same server as "A" (a.example:443, sub:1); left out` {
					t.Fatalf("note %+v", n)
				}
			}
		})
	}
}

func TestDedupeGRPCServiceName(t *testing.T) {
	a := "vmess://" + corpusUUID + "@g.example:443?type=grpc&security=tls&serviceName="
	nodes := parseLinks(t, a+"one#A", a+"two#B", a+"one#C")
	kept, notes := Dedupe(nodes)
	if len(kept) != 2 || kept[0].Name != "A" || kept[1].Name != "B" || len(notes) != 1 || notes[0].Server != "C" {
		t.Fatalf("kept %v notes %v", kept, notes)
	}
}

func TestFilter(t *testing.T) {
	nodes := parseLinks(t,
		"vmess://"+corpusUUID+"@a.example:443#HK%2001",
		"vmess://"+corpusUUID+"@b.example:443#HK%2002%20expired",
		"vmess://"+corpusUUID+"@c.example:443#JP%2001",
		"vmess://"+corpusUUID+"@d.example:443",
	)
	names := func(ns []*Node) string {
		var s []string
		for _, n := range ns {
			s = append(s, n.Name)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		include, exclude string
		want             string
		left             int
	}{
		{"", "", "HK 01,HK 02 expired,JP 01,d.example:443", 0},
		{"^HK", "", "HK 01,HK 02 expired", 2},
		{"", "(?i)EXPIRED", "HK 01,JP 01,d.example:443", 1},
		{"HK|JP", "expired", "HK 01,JP 01", 2},
		{`:443$`, "", "d.example:443", 3},
		{"nothing", "", "", 4},
	} {
		var inc, exc *regexp.Regexp
		if c.include != "" {
			inc = regexp.MustCompile(c.include)
		}
		if c.exclude != "" {
			exc = regexp.MustCompile(c.exclude)
		}
		kept, left := Filter(nodes, inc, exc)
		if got := names(kept); got != c.want || left != c.left {
			t.Errorf("include %q exclude %q: kept %q (%d left out), want %q (%d)", c.include, c.exclude, got, left, c.want, c.left)
		}
	}
}

// v2rayNLink writes a v2rayN share link (base64 of the JSON fields).
func v2rayNLink(fields map[string]string) string {
	b, _ := json.Marshal(fields)
	return "vmess://" + base64.StdEncoding.EncodeToString(b)
}
