package convert

import (
	"bytes"
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

// TestDedupe: one row per setting, saying whether two entries that
// differ only in it are the same server. What the server checks (or what
// picks which server or certificate is accepted) keeps them apart; what
// only the client does merges them, and the note names those settings.
func TestDedupe(t *testing.T) {
	const id = corpusUUID
	upper := strings.ToUpper(id)
	link := func(host, query string) string { return "vmess://" + id + "@" + host + ":443?" + query }
	base := link("a.example", "type=ws&security=tls&path=%2Fws&host=cdn.example")
	tcp := link("a.example", "type=tcp")
	kcp := link("a.example", "type=kcp&headerType=none&seed=seed1")
	grpc := link("a.example", "type=grpc&security=tls&serviceName=g&authority=front.example")
	xhttp := link("a.example", "type=xhttp&security=tls&path=%2Fx&mode=packet-up")
	reality := link("a.example", "type=tcp&security=reality&sni=www.example&pbk=Ar5b6iHqWl8g4JtVvJmG0dB8Pcd7lWm3-dFcS5M2X1U&sid=6ba85179e30d4fc2&spx=%2F")
	type spec struct {
		name  string
		first string // base when empty
		other string
		same  bool
		// differs is the client-side settings the note names.
		differs string
	}
	for _, c := range []spec{
		{name: "only the name differs", other: base + "#B", same: true},
		{name: "case of host, server and id", other: "vmess://" + upper + "@A.EXAMPLE:443?type=ws&security=tls&path=%2Fws&host=CDN.example#B", same: true},
		{name: "sni equal to the address is the default", other: base + "&sni=a.example#B", same: true},
		{name: "the same server in the v2rayN dialect", other: v2rayNLink(map[string]string{"v": "2", "ps": "B", "add": "a.example", "port": "443", "id": id, "net": "ws", "path": "/ws", "host": "cdn.example", "tls": "tls"}), same: true},
		// client-side settings: the server accepts either
		{name: "cipher", other: base + "&encryption=chacha20-poly1305#B", same: true, differs: "cipher"},
		{name: "fingerprint", other: base + "&fp=firefox#B", same: true, differs: "fingerprint"},
		{name: "alpn", other: base + "&alpn=h2#B", same: true, differs: "alpn"},
		{name: "ws early data size", first: base + "&ed=2048", other: base + "&ed=4096#B", same: true, differs: "early data"},
		{name: "REALITY spiderX", first: reality, other: strings.Replace(reality, "spx=%2F", "spx=%2Fother", 1) + "#B", same: true, differs: "spiderX"},
		{name: "tcp header none is no header", first: tcp, other: tcp + "&headerType=none#B", same: true},
		{name: "xhttp mode auto is the default", first: link("a.example", "type=xhttp&path=%2Fx"), other: link("a.example", "type=xhttp&path=%2Fx&mode=auto") + "#B", same: true},
		// what the server checks
		{name: "port", other: strings.Replace(base, ":443", ":8443", 1) + "#B"},
		{name: "id", other: strings.Replace(base, id, "b831bfb3-e84c-4647-a953-bbdd6e6d6391", 1) + "#B"},
		{name: "alterId", other: base + "&aid=64#B"},
		{name: "path", other: strings.Replace(base, "%2Fws", "%2Fws2", 1) + "#B"},
		{name: "path case", other: strings.Replace(base, "%2Fws", "%2FWS", 1) + "#B"},
		{name: "host", other: strings.Replace(base, "cdn.example", "cdn2.example", 1) + "#B"},
		{name: "sni", other: base + "&sni=other.example#B"},
		{name: "security", other: strings.Replace(base, "security=tls", "security=none", 1) + "#B"},
		{name: "network", other: strings.Replace(base, "type=ws", "type=httpupgrade", 1) + "#B"},
		{name: "allowInsecure", other: base + "&allowInsecure=1#B"},
		{name: "pinned certificate", other: base + "&pcs=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855#B"},
		{name: "certificate name", other: base + "&vcn=cert.example#B"},
		{name: "ECH config", other: base + "&ech=AEX%2BDQBBpQAgACB#B"},
		{name: "ws early data header", first: base + "&ed=2048", other: base + "&ed=2048&eh=X-Early-Data#B"},
		{name: "tcp header http", first: tcp, other: tcp + "&headerType=http#B"},
		{name: "kcp seed", first: kcp, other: strings.Replace(kcp, "seed1", "seed2", 1) + "#B"},
		{name: "kcp header", first: kcp, other: strings.Replace(kcp, "headerType=none", "headerType=wechat-video", 1) + "#B"},
		{name: "gRPC authority", first: grpc, other: strings.Replace(grpc, "front.example", "front2.example", 1) + "#B"},
		{name: "xhttp mode", first: xhttp, other: strings.Replace(xhttp, "packet-up", "stream-one", 1) + "#B"},
		{name: "xhttp extra", first: xhttp, other: xhttp + "&extra=%7B%22downloadSettings%22%3A%7B%22address%22%3A%22b.example%22%7D%7D#B"},
		{name: "REALITY public key", first: reality, other: strings.Replace(reality, "pbk=A", "pbk=B", 1) + "#B"},
		{name: "REALITY short id", first: reality, other: strings.Replace(reality, "sid=6b", "sid=7b", 1) + "#B"},
		{name: "REALITY ML-DSA key", first: reality, other: reality + "&pqv=" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 1952)) + "#B"},
		{name: "final mask", first: kcp, other: kcp + "&fm=%7B%22udp%22%3A%5B%7B%22type%22%3A%22salamander%22%7D%5D%7D#B"},
	} {
		t.Run(c.name, func(t *testing.T) {
			first := c.first
			if first == "" {
				first = base
			}
			nodes := parseLinks(t, first+"#A", c.other)
			kept, notes := Dedupe(nodes)
			if c.same != (len(kept) == 1) || len(notes) != len(nodes)-len(kept) {
				t.Fatalf("kept %d, notes %v", len(kept), notes)
			}
			if !c.same {
				return
			}
			want := `same server as "A" (a.example:443, sub:1); left out, the first listed is kept`
			if c.differs != "" {
				want += " (this entry's own " + c.differs + " is dropped with it)"
			}
			if n := notes[0]; kept[0].Name != "A" || n.Severity != Info || n.Server != "B" || n.Line != 2 || n.Message != want {
				t.Fatalf("note %+v\nwant message %q", n, want)
			}
		})
	}
}

// TestDedupeNamesMKCPTuning: entries of an Xray config that differ only
// in mKCP's capacities or congestion (the client's own: not in the key)
// are one server, and the note names what the one left out had of its
// own; a capacity of 0 (Xray's smallest window) differs from none.
func TestDedupeNamesMKCPTuning(t *testing.T) {
	out := func(tag, kcp string) string {
		return `{"tag": "` + tag + `", "protocol": "vmess", "settings": {"vnext": [{"address": "k.example", "port": 443, "users": [{"id": "b831bfb3-e84c-4647-a953-bbdd6e6d6390"}]}]}, "streamSettings": {"network": "kcp", "kcpSettings": {` + kcp + `}}}`
	}
	for _, c := range []struct {
		name, a, b, differs string
	}{
		{"uplink 0 against none", `"mtu": 1350`, `"mtu": 1350, "uplinkCapacity": 0`, "mKCP uplink capacity"},
		{"downlink", `"downlinkCapacity": 20`, `"downlinkCapacity": 100`, "mKCP downlink capacity"},
		{"write buffer", `"writeBufferSize": 2`, `"writeBufferSize": 8`, "mKCP write buffer"},
		{"congestion", `"congestion": false`, `"congestion": true`, "mKCP congestion"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := `{"outbounds": [` + out("A", c.a) + `, ` + out("B", c.b) + `]}`
			res, err := Parse(context.Background(), "cfg.json", []byte(cfg), Options{})
			if err != nil || len(res.Nodes) != 2 {
				t.Fatalf("parse: %v %v", err, res.Diagnostics)
			}
			kept, notes := Dedupe(res.Nodes)
			if len(kept) != 1 || len(notes) != 1 || !strings.Contains(notes[0].Message, "own "+c.differs+" is dropped") {
				t.Fatalf("kept %d, notes %v; want one note naming %s", len(kept), notes, c.differs)
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
