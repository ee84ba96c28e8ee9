package convert

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	xconf "github.com/xtls/xray-core/infra/conf"
)

// subscription10k builds a base64 subscription of 10,000 mixed links.
func subscription10k() []byte {
	var b strings.Builder
	for i := 0; i < 10000; i++ {
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
	return []byte(base64.StdEncoding.EncodeToString([]byte(b.String())))
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
