package convert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	xconf "github.com/xtls/xray-core/infra/conf"
)

// subscription10k builds a base64 subscription of 10,000 mixed links.
func subscription10k() []byte {
	return []byte(base64.StdEncoding.EncodeToString(linkList(10000)))
}

// linkList builds n mixed links (v2rayN ws+TLS, #716 gRPC+TLS, #716
// raw+HTTP header), one per line.
func linkList(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch i % 3 {
		case 0:
			j, _ := json.Marshal(map[string]string{"v": "2", "ps": fmt.Sprintf("node %d", i), "add": fmt.Sprintf("n%d.example.com", i),
				"port": "443", "id": corpusUUID, "aid": "0", "scy": "auto", "net": "ws", "type": "none",
				"host": "cdn.example.com", "path": "/ws", "tls": "tls", "sni": "cdn.example.com"})
			b.WriteString("vmess://" + base64.StdEncoding.EncodeToString(j))
		case 1:
			fmt.Fprintf(&b, "vmess://%s@n%d.example.com:443?type=grpc&security=tls&serviceName=svc&sni=g.example.com#grpc%%20%d", corpusUUID, i, i)
		default:
			fmt.Fprintf(&b, "vmess://%s@n%d.example.com:8080?type=tcp&headerType=http&host=h.example.com&path=%%2F#tcp%%20%d", corpusUUID, i, i)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// BenchmarkEmitDoubling writes 2,500 to 20,000 links as Xray JSON (the
// reference), Xray YAML, Xray TOML and Clash YAML. Every target is written
// one node at a time, so time and bytes allocated per input byte stay flat
// as the input doubles; alloc/input-byte is the bytes allocated by
// writing, per byte of the links read.
func BenchmarkEmitDoubling(b *testing.B) {
	for _, n := range []int{2500, 5000, 10000, 20000} {
		links := linkList(n)
		res, err := Parse(context.Background(), "links", links, Options{})
		if err != nil || len(res.Nodes) != n {
			b.Fatalf("parse: %v, %d nodes", err, len(res.Nodes))
		}
		for _, target := range []OutputFormat{ToXrayJSON, ToXrayYAML, ToXrayTOML, ToClashYAML} {
			b.Run(fmt.Sprintf("%s/links=%d", target, n), func(b *testing.B) {
				loopPerInputByte(b, len(links), func() error {
					_, err := EmitTo(io.Discard, res.Nodes, target, EmitOptions{})
					return err
				})
			})
		}
	}
}

// BenchmarkSubscription10kToXray converts a 10,000-link base64
// subscription to an Xray JSON array of outbounds.
func BenchmarkSubscription10kToXray(b *testing.B) {
	sub := subscription10k()
	b.SetBytes(int64(len(sub)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Parse(context.Background(), "sub", sub, Options{})
		if err != nil || len(res.Nodes) != 10000 {
			b.Fatalf("parse: %v, %d nodes", err, len(res.Nodes))
		}
		if _, _, err := Emit(res.Nodes, ToXrayJSON, EmitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkXrayLoader10k is the reference point: Xray-core's own loader
// decoding and building the same 10,000 outbounds that xvm produced.
func BenchmarkXrayLoader10k(b *testing.B) {
	res, err := Parse(context.Background(), "sub", subscription10k(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	out, _, err := Emit(res.Nodes, ToXrayJSON, EmitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		var ocs []xconf.OutboundDetourConfig
		if err := json.Unmarshal(out, &ocs); err != nil {
			b.Fatal(err)
		}
		for i := range ocs {
			if _, err := ocs[i].Build(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// repairInputs builds inputs of about size bytes for the two line repairs
// of the link reader: links glued together on one line and v2rayN links
// wrapped at 76 columns.
//   - glued-seams is hostile: one v2rayN base64 run that ends in a dot,
//     then "ss://" over and over: many seams, none of them a split;
//   - glued-links is v2rayN and vless links run together on one line;
//   - wrapped is v2rayN links wrapped at 76 columns with CRLF.
func repairInputs(size int) map[string][]byte {
	link := func(i int) string {
		j, _ := json.Marshal(map[string]string{"v": "2", "ps": fmt.Sprintf("node %d with a longer remark", i), "add": fmt.Sprintf("n%d.example.com", i),
			"port": "443", "id": corpusUUID, "aid": "0", "net": "ws", "host": "cdn.example.com", "path": "/ws", "tls": "tls"})
		return "vmess://" + base64.StdEncoding.EncodeToString(j)
	}
	var glued, wrapped strings.Builder
	for i := 0; glued.Len() < size; i++ {
		glued.WriteString(link(i) + "vless://" + corpusUUID + "@v.example.com:443?security=tls#v")
	}
	for i := 0; wrapped.Len() < size; i++ {
		l := link(i)
		for len(l) > 76 {
			wrapped.WriteString(l[:76] + "\r\n")
			l = l[76:]
		}
		wrapped.WriteString(l + "\r\n")
	}
	return map[string][]byte{
		"glued-seams": []byte("vmess://" + strings.Repeat("A", size/2) + "." + strings.Repeat("ss://", size/10)),
		"glued-links": []byte(glued.String()),
		"wrapped":     []byte(wrapped.String()),
	}
}

// BenchmarkRepairDoubling reads glued and wrapped links of 50 KB to
// 400 KB. Both repairs are linear: ns/input-byte and alloc/input-byte
// stay flat as the input doubles.
func BenchmarkRepairDoubling(b *testing.B) {
	for _, kind := range []string{"glued-seams", "glued-links", "wrapped"} {
		for _, size := range []int{50_000, 100_000, 200_000, 400_000} {
			data := repairInputs(size)[kind]
			b.Run(fmt.Sprintf("%s/bytes=%d", kind, size), func(b *testing.B) {
				loopPerInputByte(b, len(data), func() error {
					_, err := Parse(context.Background(), "bench", data, Options{})
					return err
				})
			})
		}
	}
}

// loopPerInputByte runs f in b's loop and reports, per byte of an input
// of size bytes, the time taken (ns/input-byte) and the bytes allocated
// (alloc/input-byte): the numbers that must stay flat as the input
// doubles.
func loopPerInputByte(b *testing.B, size int, f func() error) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size), "ns/input-byte")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(size), "alloc/input-byte")
}
