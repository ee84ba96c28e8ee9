package lint

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	xlog "github.com/xtls/xray-core/common/log"
	"github.com/xtls/xray-core/infra/conf/serial"
)

// config5000 generates a config with n VMess outbounds over a mix of
// transports (about 2.5 MB for n = 5000).
func config5000(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"log\": {\"loglevel\": \"warning\"},\n  \"outbounds\": [\n")
	nets := []string{
		`"network": "ws", "security": "tls", "tlsSettings": {"serverName": "s%d.example.com", "fingerprint": "chrome", "alpn": ["http/1.1"]}, "wsSettings": {"path": "/ws%d", "host": "s%d.example.com"}`,
		`"network": "grpc", "security": "tls", "tlsSettings": {"serverName": "s%d.example.com"}, "grpcSettings": {"serviceName": "svc%d", "multiMode": false, "user_agent": "ua%d"}`,
		`"network": "raw", "security": "tls", "tlsSettings": {"serverName": "s%d.example.com", "alpn": ["h2"]}, "sockopt": {"tcpFastOpen": true, "mark": %d, "interface": "eth%d"}`,
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		stream := fmt.Sprintf(nets[i%len(nets)], i, i, i)
		fmt.Fprintf(&b, `  {"tag": "vmess-%d", "protocol": "vmess",
   "settings": {"vnext": [{"address": "s%d.example.com", "port": %d,
     "users": [{"id": "%08x-7e62-4138-9fd3-098a63964b6b", "security": "auto", "level": 0, "email": "user%d@example.com"}]}]},
   "streamSettings": {%s},
   "mux": {"enabled": false, "concurrency": -1}}`, i, i, 1000+i%60000, i, i, stream)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

func BenchmarkLint5000(b *testing.B) {
	data := config5000(5000)
	l := newTestLinter(b, Options{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds, err := l.LintBytes(context.Background(), "gen.json", data)
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) != 0 {
			b.Fatalf("generated config has findings: %v", ds[0])
		}
	}
}

func BenchmarkXrayLoad5000(b *testing.B) {
	xlog.RegisterHandler(quietXrayLog{})
	data := config5000(5000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := serial.DecodeJSONConfig(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Build(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLint5000Memory measures the heap lint needs for the 5,000-outbound
// config and keeps it well under the 200 MB budget.
func TestLint5000Memory(t *testing.T) {
	data := config5000(5000)
	l := newTestLinter(t, Options{})
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ds, err := l.LintBytes(context.Background(), "gen.json", data)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(ds) != 0 {
		t.Fatalf("generated config has findings: %v", ds[0])
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("config %d bytes; lint allocated %d MB in total", len(data), alloc>>20)
	if alloc > 200<<20 {
		t.Errorf("lint allocated %d MB for a %d-byte config; budget is 200 MB", alloc>>20, len(data))
	}
}

// TestFewFindingsKeepNoFile: the findings of a large file with few of them
// keep copies of their lines, not the file, so that a run over many large
// files holds little until it renders; their excerpts still show the line.
func TestFewFindingsKeepNoFile(t *testing.T) {
	l := newTestLinter(t, Options{})
	size := 0
	lint := func() []Diagnostic {
		data := config5000(5000)
		data = bytes.Replace(data, []byte(`"port": 1000,`), []byte(`"port": "1000",`), 1)
		size = len(data)
		ds, err := l.LintBytes(context.Background(), "gen.json", data)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ds := lint()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(ds) != 1 {
		t.Fatalf("want the one quoted port, got %v", ds)
	}
	if kept := int64(after.HeapAlloc) - int64(before.HeapAlloc); kept > int64(size)/4 {
		t.Errorf("one finding keeps %d bytes of a %d-byte file", kept, size)
	}
	if text, _ := ds[0].Excerpt(); !strings.Contains(text, `"port": "1000",`) {
		t.Errorf("excerpt %q", text)
	}
}
