package convert

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseLink: no link, however malformed, panics or hangs, and every
// node that parses can be written in every target without panicking.
func FuzzParseLink(f *testing.F) {
	f.Add("vmess://" + corpusUUID + "@example.com:443?type=ws&path=%2F#x")
	f.Fuzz(func(t *testing.T, s string) {
		n, warns, err := ParseLink(s)
		if err != nil {
			return
		}
		for _, w := range warns {
			if len(n.UUID) >= 8 && strings.Contains(w.Message, n.UUID) {
				t.Fatalf("a warning prints the id: %s", w)
			}
		}
		if n.Port < 1 || n.Port > 65535 || n.Server == "" || n.UUID == "" {
			t.Fatalf("ParseLink accepted an invalid node: %+v", n)
		}
		if o, _, err := ToXray(n); err == nil {
			if _, err := json.Marshal(o); err != nil {
				t.Fatalf("outbound does not marshal: %v", err)
			}
		}
		for _, target := range OutputFormats() {
			if _, _, err := Emit([]*Node{n}, target, EmitOptions{}); err != nil {
				t.Fatalf("Emit %s: %v", target, err)
			}
		}
	})
}

// FuzzParse: no document of any format panics, hangs or eats memory.
func FuzzParse(f *testing.F) {
	f.Add([]byte("proxies:\n  - {name: a, type: vmess, server: a, port: 1, uuid: x, alterId: 0, cipher: auto}\n"), uint8(0))
	f.Add([]byte(`{"outbounds":[{"protocol":"vmess","settings":{"vnext":[]}}]}`), uint8(4))
	f.Add([]byte(`[{"remarks":"r","outbounds":[{"tag":"proxy","protocol":"vmess","settings":{"vnext":[{"address":"a","port":1,"users":[{"id":"x"}]}]}},{"protocol":"freedom"}]},{"outbounds":7},3]`), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, from uint8) {
		formats := []InputFormat{FormatAuto, FormatLinks, FormatClash, FormatSingBox, FormatXray}
		res, err := Parse(context.Background(), "fuzz", data, Options{From: formats[int(from)%len(formats)], MaxInputBytes: 1 << 20})
		if err != nil {
			return
		}
		for _, n := range res.Nodes {
			if n.Port < 1 || n.Port > 65535 || n.Server == "" {
				t.Fatalf("Parse returned an invalid node: %+v", n)
			}
			_, _, _ = ToXray(n)
		}
	})
}
