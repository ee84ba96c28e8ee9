package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// config5000Quoted is a config of 5,000 VMess outbounds (about 2 MB), each
// with its port written as a string: 5,000 findings --fix can fix.
func config5000Quoted() []byte {
	var b strings.Builder
	b.WriteString("{\n  \"outbounds\": [\n")
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `    {"tag": "vmess-%d", "protocol": "vmess",
     "settings": {"vnext": [{"address": "s%d.example.com", "port": "%d",
       "users": [{"id": "%08x-7e62-4138-9fd3-098a63964b6b", "security": "auto"}]}]},
     "streamSettings": {"network": "ws", "security": "tls", "tlsSettings": {"serverName": "s%d.example.com"}, "wsSettings": {"path": "/ws%d"}}}`,
			i, i, 1000+i%60000, i, i, i)
	}
	b.WriteString("\n  ]\n}\n")
	return []byte(b.String())
}

// BenchmarkLintCLI5000 is `xvm lint big.json` on the 5,000-outbound file
// with 5,000 findings; BenchmarkLintFixCLI5000 is `xvm lint --fix big.json`
// on the same file (restored before each run, outside the timer). Run them
// together and compare.
func BenchmarkLintCLI5000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.json")
	if err := os.WriteFile(path, config5000Quoted(), 0o644); err != nil {
		b.Fatal(err)
	}
	eachIDMode(b, func(b *testing.B, flags []string) {
		for i := 0; i < b.N; i++ {
			if _, _, code := runXVM(b, false, "", append(append([]string{"lint"}, flags...), path)...); code != 1 {
				b.Fatalf("exit %d", code)
			}
		}
	})
}

func BenchmarkLintFixCLI5000(b *testing.B) {
	data := config5000Quoted()
	path := filepath.Join(b.TempDir(), "big.json")
	eachIDMode(b, func(b *testing.B, flags []string) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			args := append(append([]string{"lint", "--fix"}, flags...), path)
			if _, errOut, code := runXVM(b, false, "", args...); code != 0 || !strings.Contains(errOut, "fixed 5000 findings") {
				b.Fatalf("exit %d: %s", code, errOut)
			}
		}
	})
}

// eachIDMode runs a benchmark with ids masked (the default) and shown:
// masking is lint's cost per finding, apart from what --fix adds.
func eachIDMode(b *testing.B, fn func(b *testing.B, flags []string)) {
	b.Run("masked", func(b *testing.B) { fn(b, nil) })
	b.Run("shown", func(b *testing.B) { fn(b, []string{"--show-secrets"}) })
}

// config5000SixFixes is 5,000 VMess outbounds with six fixable findings
// each (a quoted port, alterId 0, an unknown security, a key in the wrong
// case, a path without its slash, allowInsecure); with withheld, the
// security key is misspelt too, so that its rename, whose value Xray then
// refuses, is withheld in every outbound.
func config5000SixFixes(withheld bool) []byte {
	security := `"security": "aes-128-cfb"`
	if withheld {
		security = `"secuirty": "aes-128-cfb"`
	}
	var b strings.Builder
	b.WriteString("{\n  \"outbounds\": [\n")
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `    {"tag": "vmess-%d", "protocol": "vmess",
     "settings": {"vnext": [{"address": "s%d.example.com", "port": "%d",
       "users": [{"id": "%08x-7e62-4138-9fd3-098a63964b6b", "alterId": 0, %s, "Level": 0}]}]},
     "streamSettings": {"network": "ws", "security": "tls", "tlsSettings": {"serverName": "s%d.example.com", "allowInsecure": true}, "wsSettings": {"path": "ws%d"}}}`,
			i, i, 1000+i%60000, i, security, i, i)
	}
	b.WriteString("\n  ]\n}\n")
	return []byte(b.String())
}

// BenchmarkFixVsLintCLI5000 runs `xvm lint --show-secrets big.json` and
// `xvm lint --show-secrets --fix big.json` in turn in every iteration, so
// that both see the same machine load, and reports their times and ratio
// (fix/lint), for one fixable finding in each of 5,000 outbounds, six, and
// six of which one is withheld. Ids are shown because masking, lint's own
// cost per finding, is not what is compared.
//
//	go test ./cmd/xvm -run '^$' -bench FixVsLintCLI5000 -benchtime 5x -count 3
func BenchmarkFixVsLintCLI5000(b *testing.B) {
	for _, shape := range []struct {
		name  string
		data  []byte
		fixed string
	}{
		{"one-fix-each", config5000Quoted(), "fixed 5000 findings"},
		{"six-fixes-each", config5000SixFixes(false), "fixed 30000 findings"},
		{"six-fixes-one-withheld-each", config5000SixFixes(true), "fixed 25000 findings"},
	} {
		b.Run(shape.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "big.json")
			var lintT, fixT time.Duration
			for i := 0; i < b.N; i++ {
				if err := os.WriteFile(path, shape.data, 0o644); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, _, code := runXVM(b, false, "", "lint", "--show-secrets", path); code != 1 {
					b.Fatalf("lint: exit %d", code)
				}
				lintT += time.Since(start)
				start = time.Now()
				if _, errOut, code := runXVM(b, false, "", "lint", "--show-secrets", "--fix", path); code > 1 || !strings.Contains(errOut, shape.fixed) {
					b.Fatalf("fix: exit %d: %s", code, errOut)
				}
				fixT += time.Since(start)
			}
			b.ReportMetric(float64(lintT.Milliseconds())/float64(b.N), "lint-ms/op")
			b.ReportMetric(float64(fixT.Milliseconds())/float64(b.N), "fix-ms/op")
			b.ReportMetric(float64(fixT)/float64(lintT), "fix/lint")
		})
	}
}
