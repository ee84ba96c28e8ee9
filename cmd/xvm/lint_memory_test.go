package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// lintGoalInputs are the sizes xvm lint must handle in under 300 MB
// (docs/lint.md): 200,000 keys that are all findings, 200,000 findings
// over twice as many keys, and 50,000 outbounds with a finding each (and
// an id each, which every excerpt masks).
func lintGoalInputs() map[string]string {
	var unknown, dup, outbounds strings.Builder
	unknown.WriteString(`{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443, "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b"`)
	for i := 0; i < 200_000; i++ {
		fmt.Fprintf(&unknown, ",\n      \"k%d\": %d", i, i)
	}
	unknown.WriteString("}]}]}}\n")
	dup.WriteString(`{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "id": "27848739-7e62-4138-9fd3-098a63964b6b"}, "streamSettings": {"network": "ws", "wsSettings": {"headers": {`)
	for i := 0; i < 200_000; i++ {
		if i > 0 {
			dup.WriteByte(',')
		}
		fmt.Fprintf(&dup, "\n  \"h%d\": \"a\", \"h%d\": \"b\"", i, i)
	}
	dup.WriteString("}}}}\n")
	outbounds.WriteString("{\"outbounds\": [\n")
	for i := 0; i < 50_000; i++ {
		if i > 0 {
			outbounds.WriteString(",\n")
		}
		fmt.Fprintf(&outbounds, `{"tag": "o%d", "protocol": "vmess", "settings": {"address": "s%d.example.com", "port": "443", "id": "%08x-7e62-4138-9fd3-098a63964b6b"}}`, i, i, i)
	}
	outbounds.WriteString("\n]}\n")
	return map[string]string{
		"unknown-keys.json":    unknown.String(),
		"duplicate-keys.json":  dup.String(),
		"outbounds-50000.json": outbounds.String(),
	}
}

// TestLintGoalSizesUnder300MB runs the xvm binary on each goal input in
// text and JSON, as a user would, and checks its peak resident memory
// (the kernel's maxrss): under 300 MB, with no memory limit set. The
// binary is built from this tree.
func TestLintGoalSizesUnder300MB(t *testing.T) {
	dir := t.TempDir()
	bin := builtXVM(t)
	inputs, formats := lintGoalInputs(), []string{"text", "json"}
	if testing.Short() {
		// -short: one goal input in one format, still the built binary.
		inputs = map[string]string{"outbounds-50000.json": inputs["outbounds-50000.json"]}
		formats = formats[:1]
	}
	for name, text := range inputs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, format := range formats {
			cmd := exec.Command(bin, "lint", "--fail-on", "info", "--format", format, path)
			cmd.Env = append(os.Environ(), "GOMEMLIMIT=off", "GOGC=100")
			out, err := os.Create(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = out, out
			err = cmd.Run()
			out.Close()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("%s, %s: %v; want exit 1 (findings)", name, format, err)
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			peak := ru.Maxrss >> 10 // kilobytes on Linux
			t.Logf("%s (%d bytes), %s: peak RSS %d MB, CPU %v", name, len(text), format, peak, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
			if peak >= 300 {
				t.Errorf("%s, %s: peak RSS %d MB, want under 300 MB", name, format, peak)
			}
		}
	}
}
