package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/xvmtools/xvm/probe"
)

var updateSafe = flag.Bool("update-safe", false, "rewrite testdata/*_injection.golden files")

// hostile is what a share link's remark can hold: an OSC sequence that
// sets the terminal's title, a bell, a line break and a forged table row,
// a C1 control and a GitHub workflow command.
const hostile = "\x1b]0;pwned\x07\nforged  127.0.0.1:1  raw  ok\u0085\n::error file=README.md::x ##[error]y"

// requirePrintable fails when out holds a control character other than
// the line breaks of its own lines, or a line that starts a workflow
// command.
func requirePrintable(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Errorf("%s: control character %U at %d:\n%q", what, r, i, out)
			return
		}
	}
	for _, line := range strings.Split(out, "\n") {
		// The runner trims leading white space before "::" and obeys the
		// legacy "##[" anywhere in a line.
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") || strings.Contains(line, "##[") {
			t.Errorf("%s: a line is a workflow command: %q", what, line)
		}
	}
}

// TestProbeTableEscapesInput renders results whose name and error come
// from a hostile link: the table shows the escapes visibly, one row per
// result (issue: a remark set the terminal title and forged a row).
func TestProbeTableEscapesInput(t *testing.T) {
	results := []probe.Result{
		{Index: 0, Name: hostile, Address: "127.0.0.1", Port: 1, Network: "raw", Security: "auto",
			Error: &probe.Failure{Kind: probe.KindRefused, Message: "dial " + hostile}},
		{Index: 1, Name: "plain", Address: "127.0.0.1", Port: 2, Network: "ws", Security: "auto",
			Error: &probe.Failure{Kind: probe.KindTransport, Message: "server answered \x1b[2J ##[error]x"}},
		{Index: 2, Name: "  ::error::pwned", Address: "127.0.0.1", Port: 3, Network: "raw", Security: "auto",
			Error: &probe.Failure{Kind: probe.KindRefused, Message: "refused"}},
	}
	for _, color := range []bool{false, true} {
		var b strings.Builder
		if err := writeProbeTable(&b, probe.Table(results), color); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if lines := strings.Count(out, "\n"); lines != 4 {
			t.Errorf("color=%v: %d lines, want a heading and 3 rows:\n%s", color, lines, out)
		}
		if color {
			// Our own styling is the only escape sequence: SGR, no OSC.
			if strings.Contains(out, "\x1b]") || strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\a") {
				t.Errorf("styled table carries the input's escapes:\n%q", out)
			}
			continue
		}
		requirePrintable(t, "table", out)
		path := filepath.Join("testdata", "probe_table_injection.golden")
		if *updateSafe {
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestProbeTableEscapesInput -update-safe)", err)
		}
		if d := cmp.Diff(string(want), out); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	}
}

// TestProbeEscapesRemarkEndToEnd probes a link whose remark is the hostile
// text (percent-encoded, as in the issue) at a loopback port where nothing
// listens: the table and stderr show it escaped; JSON carries it as JSON.
func TestProbeEscapesRemarkEndToEnd(t *testing.T) {
	link := "vmess://" + uuidID + "@127.0.0.1:9?type=tcp#%1B%5D0%3Bpwned%07%0Aforged%20row%0A%3A%3Aerror%3A%3Ax"
	out, errOut, code := runXVM(t, false, "", "probe", "--count", "1", "--timeout", "2s", "--url", "http://127.0.0.1:1/", link)
	if code != 1 || !strings.Contains(out, `\x1b]0;pwned\a\nforged row\n::error::x`) {
		t.Fatalf("exit %d; want the refused server with its name escaped:\n%s\n%s", code, out, errOut)
	}
	requirePrintable(t, "table", out)
	requirePrintable(t, "stderr", errOut)
	for _, output := range []string{"json", "ndjson"} {
		out, _, _ := runXVM(t, false, "", "probe", "--count", "1", "--timeout", "2s", "--url", "http://127.0.0.1:1/", "--output", output, link)
		var rs []probe.Result
		var err error
		if output == "json" {
			err = json.Unmarshal([]byte(out), &rs)
		} else {
			rs = make([]probe.Result, 1)
			err = json.Unmarshal([]byte(out), &rs[0])
		}
		if err != nil || len(rs) != 1 || rs[0].Name != "\x1b]0;pwned\a\nforged row\n::error::x" {
			t.Fatalf("%s: %v; want the name as written:\n%s", output, err, out)
		}
		if strings.ContainsAny(out, "\x1b\a") {
			t.Errorf("%s output holds raw control characters:\n%q", output, out)
		}
	}
}

// TestConvertWarningsEscapeInput converts a link whose remark is hostile
// and whose transport is unknown: the warning names the server escaped.
func TestConvertWarningsEscapeInput(t *testing.T) {
	link := v2rayNLink(hostile, "127.0.0.1", 9, uuidID, "bogus", nil)
	for _, color := range []bool{false, true} {
		args := []string{"convert", "--to", "uri", link}
		if color {
			args = append([]string{"--color", "always"}, args...)
		}
		_, errOut, code := runXVM(t, false, "", args...)
		if code != 0 || !strings.Contains(errOut, `\x1b]0;pwned\a\nforged`) {
			t.Fatalf("exit %d; want a warning naming the server escaped:\n%q", code, errOut)
		}
		if !color {
			requirePrintable(t, "convert's warnings", errOut)
		} else if strings.Contains(errOut, "\x1b]") || strings.Contains(errOut, "\a") {
			t.Errorf("styled warnings carry the input's escapes:\n%q", errOut)
		}
	}
}

// TestErrorsEscapeInput: an error that names an input (here a file that
// does not exist) shows it escaped.
func TestErrorsEscapeInput(t *testing.T) {
	_, errOut, code := runXVM(t, false, "", "lint", "no-such\x1b]0;pwned\a\n::error::x.json")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	requirePrintable(t, "stderr", errOut)
}
