package lint

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"
)

// config5000Fixable is config5000 with one fixable finding in every
// outbound: the port written as a string.
func config5000Fixable(n int) []byte {
	return regexp.MustCompile(`"port": (\d+)`).ReplaceAll(config5000(n), []byte(`"port": "$1"`))
}

// BenchmarkFix5000 runs --fix on the 5,000-outbound config with a quoted
// port in every outbound: lint, 5,000 fixes, and the second lint that
// checks the result. Compare with BenchmarkLint5000Fixable (plain lint of
// the same file) in the same run.
func BenchmarkFix5000(b *testing.B) {
	eachSecrets(b, func(b *testing.B, opts Options) {
		data := config5000Fixable(5000)
		l := benchSetup(b, data, opts)
		for i := 0; i < b.N; i++ {
			res, err := l.FixBytes(context.Background(), "gen.json", data)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Fixed) != 5000 || len(res.Remaining) != 0 {
				b.Fatalf("fixed %d, %d remain", len(res.Fixed), len(res.Remaining))
			}
		}
	})
}

// eachSecrets runs a benchmark with ids masked (the default) and shown:
// masking is lint's cost per finding, apart from what --fix adds.
func eachSecrets(b *testing.B, fn func(b *testing.B, opts Options)) {
	b.Run("masked", func(b *testing.B) { fn(b, Options{}) })
	b.Run("shown", func(b *testing.B) { fn(b, Options{ShowSecrets: true}) })
}

// BenchmarkLint5000Fixable is plain lint of BenchmarkFix5000's input.
func BenchmarkLint5000Fixable(b *testing.B) {
	eachSecrets(b, func(b *testing.B, opts Options) {
		data := config5000Fixable(5000)
		l := benchSetup(b, data, opts)
		for i := 0; i < b.N; i++ {
			ds, err := l.LintBytes(context.Background(), "gen.json", data)
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) != 5000 {
				b.Fatalf("%d findings", len(ds))
			}
		}
	})
}

// BenchmarkFix5000Clean runs --fix on the clean 5,000-outbound config
// (nothing to fix: one lint); compare with BenchmarkLint5000.
func BenchmarkFix5000Clean(b *testing.B) {
	data := config5000(5000)
	l := benchSetup(b, data, Options{})
	for i := 0; i < b.N; i++ {
		res, err := l.FixBytes(context.Background(), "gen.json", data)
		if err != nil {
			b.Fatal(err)
		}
		if res.Changed() || !bytes.Equal(res.Source, data) {
			b.Fatal("clean config changed")
		}
	}
}

// benchSetup builds a linter and starts measuring a benchmark over data.
func benchSetup(b *testing.B, data []byte, opts Options) *Linter {
	l := newTestLinter(b, opts)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	return l
}

// config5000SixFixes is a config of n VMess outbounds with six fixable
// findings in each: a quoted port, alterId 0, an unknown security, a key
// in the wrong case, a path without its slash and allowInsecure.
func config5000SixFixes(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"outbounds\": [\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `  {"tag": "vmess-%d", "protocol": "vmess",
   "settings": {"vnext": [{"address": "s%d.example.com", "port": "%d",
     "users": [{"id": "%08x-7e62-4138-9fd3-098a63964b6b", "alterId": 0, "security": "aes-128-cfb", "Level": 0}]}]},
   "streamSettings": {"network": "ws", "security": "tls", "tlsSettings": {"serverName": "s%d.example.com", "allowInsecure": true}, "wsSettings": {"path": "ws%d"}}}`,
			i, i, 1000+i%60000, i, i, i)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

// BenchmarkFixVsLint5000 runs LintBytes (as `xvm lint` does for its text
// format: counting what --fix could fix) and FixBytes on 5,000 outbounds
// in turn in every iteration, so that both see the same machine load, and
// reports their times and ratio (fix/lint): with one fixable finding in
// each outbound (a quoted port), with six, and with six of which one is
// withheld (a second lint of the text without it). Ids are shown: masking
// is lint's own cost per finding, not what is compared.
//
//	go test ./lint -run '^$' -bench FixVsLint5000 -benchtime 5x -count 3
func BenchmarkFixVsLint5000(b *testing.B) {
	for _, shape := range []struct {
		name  string
		data  []byte
		fixes int
	}{
		{"one-fix-each", config5000Fixable(5000), 5000},
		{"six-fixes-each", config5000SixFixes(5000), 30000},
		// The same with the security key misspelt: renamed, its value is
		// refused, so that fix is withheld in every outbound.
		{"six-fixes-one-withheld-each", bytes.ReplaceAll(config5000SixFixes(5000), []byte(`"security": "aes-128-cfb"`), []byte(`"secuirty": "aes-128-cfb"`)), 25000},
	} {
		b.Run(shape.name, func(b *testing.B) {
			data := shape.data
			l := benchSetup(b, data, Options{ShowSecrets: true, Fixes: CountFixes})
			var lintT, fixT time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if ds, err := l.LintBytes(context.Background(), "gen.json", data); err != nil || len(ds) < shape.fixes {
					b.Fatalf("lint: %d findings, %v", len(ds), err)
				}
				lintT += time.Since(start)
				start = time.Now()
				if res, err := l.FixBytes(context.Background(), "gen.json", data); err != nil || len(res.Fixed) != shape.fixes {
					b.Fatalf("fix: %d fixed, %d withheld, %v", len(res.Fixed), len(res.Withheld), err)
				}
				fixT += time.Since(start)
			}
			b.ReportMetric(float64(lintT.Milliseconds())/float64(b.N), "lint-ms/op")
			b.ReportMetric(float64(fixT.Milliseconds())/float64(b.N), "fix-ms/op")
			b.ReportMetric(float64(fixT)/float64(lintT), "fix/lint")
		})
	}
}
