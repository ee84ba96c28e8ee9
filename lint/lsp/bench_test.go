package lsp

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/xvmtools/xvm/lint"
)

// config2000 is a pretty-printed config of about 2,000 lines (100 VMess
// outbounds over WebSocket and TLS), with one quoted port to report.
func config2000() string {
	var b strings.Builder
	b.WriteString("{\n  \"log\": {\"loglevel\": \"warning\"},\n  \"outbounds\": [\n")
	for i := 0; i < 100; i++ {
		port := fmt.Sprint(1000 + i)
		if i == 50 {
			port = `"443"`
		}
		fmt.Fprintf(&b, `    {
      "tag": "vmess-%d",
      "protocol": "vmess",
      "settings": {
        "vnext": [
          {
            "address": "s%d.example.com",
            "port": %s,
            "users": [{"id": "%08x-7e62-4138-9fd3-098a63964b6b", "security": "auto", "email": "u%d@example.com"}]
          }
        ]
      },
      "streamSettings": {
        "network": "ws",
        "security": "tls",
        "tlsSettings": {"serverName": "s%d.example.com", "fingerprint": "chrome"},
        "wsSettings": {"path": "/ws%d", "host": "s%d.example.com"}
      }
    }`, i, i, port, i, i, i, i, i)
		if i < 99 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

// BenchmarkDiagnosticsAfterChange is the time from a didChange of a
// 2,000-line config to its publishDiagnostics, debounce included: what an
// editor waits after a keystroke. Compare with BenchmarkLint2000, plain
// lint of the same text, in the same run.
func BenchmarkDiagnosticsAfterChange(b *testing.B) {
	text := config2000()
	if n := strings.Count(text, "\n"); n < 1900 || n > 2200 {
		b.Fatalf("config has %d lines", n)
	}
	c := startServer(b, Options{})
	c.initialize("", nil)
	uri := "file:///bench/config.json"
	first := c.open(uri, "json", text)
	if len(first.Diagnostics) != 1 {
		b.Fatalf("diagnostics on open: %+v", first.Diagnostics)
	}
	// Two texts that differ by one keystroke, so that every change is real.
	texts := [2]string{strings.Replace(text, `"loglevel": "warning"`, `"loglevel": "warnin"`, 1), text}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := i + 2
		c.change(uri, v, texts[i%2])
		if got := c.diagnostics(uri, v); len(got.Diagnostics) != 1 {
			b.Fatalf("version %d: %d diagnostics", v, len(got.Diagnostics))
		}
	}
	b.ReportMetric(float64(DefaultDebounce.Milliseconds()), "debounce-ms")
}

// BenchmarkLint2000 is plain lint of BenchmarkDiagnosticsAfterChange's text.
func BenchmarkLint2000(b *testing.B) {
	text := []byte(config2000())
	l, err := lint.New(lint.Options{Now: testNow})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.LintBytes(context.Background(), "config.json", text); err != nil {
			b.Fatal(err)
		}
	}
}

// findingsOnOneLine is a minified outbound whose one line, not ASCII, holds
// n unknown keys: n findings whose columns grow with n.
func findingsOnOneLine(n int) string {
	var b strings.Builder
	b.WriteString(`{"protocol": "vmess", "tag": "代理é", "settings": {"vnext": [{"address": "a.example.com", "port": 443, "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b"`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `, "k%d😀": %d`, i, i)
	}
	b.WriteString("}]}]}}\n")
	return b.String()
}

// BenchmarkFindingsOnOneLine is the time from didOpen to the first
// publishDiagnostics of a one-line document with a doubling number of
// findings: converting each finding's position must not walk the line
// from its start (2,500 → 20,000 findings took 0.34 → 22 s when it did).
//
//	go test ./lint/lsp -run '^$' -bench FindingsOnOneLine -benchtime 3x
func BenchmarkFindingsOnOneLine(b *testing.B) {
	for _, n := range []int{2_500, 5_000, 10_000, 20_000} {
		b.Run(fmt.Sprintf("findings=%d", n), func(b *testing.B) {
			text := findingsOnOneLine(n)
			c := startServer(b, Options{})
			c.initialize("", nil)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				uri := fmt.Sprintf("file:///bench/one-line-%d.json", i)
				if got := c.open(uri, "json", text); len(got.Diagnostics) != n {
					b.Fatalf("%d diagnostics, want %d", len(got.Diagnostics), n)
				}
			}
		})
	}
}
