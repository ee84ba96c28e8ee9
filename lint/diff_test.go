package lint

import (
	"bytes"
	"strings"
	"testing"
)

// TestDiffEscapesInput renders the diff of a fix in a file whose name and
// unchanged lines hold terminal escapes and GitHub workflow commands
// (raw control characters are allowed in comments): every line of the
// diff is escaped, but for tabs and the CR of CRLF, which git needs.
func TestDiffEscapesInput(t *testing.T) {
	src := "{\r\n" +
		"/*\r\n::error file=README.md::injected\r\n \t::warning::x\r\n*/ \"port\": \"443\",\r\n" +
		"  \"tag\": \"a\", // \x1b]0;pwned\a ##[error]legacy ##[add-mask]secret\r\n" +
		"\t\"x\": 1 // \u0085 next line \u2028 separator\r\n" +
		"}\r\n"
	after := strings.Replace(src, `"443"`, "443", 1)
	var b bytes.Buffer
	if err := RenderDiff(&b, "cfg/\x1b[2Jname\n::error::x.json", []byte(src), []byte(after), DiffOptions{ShowSecrets: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"--- a/cfg/\\x1b[2Jname\\n::error::x.json\n",
		" \\x3a:error file=README.md::injected\r\n",
		"  \t\\x3a:warning::x\r\n",
		"-*/ \"port\": \"443\",\r\n+*/ \"port\": 443,\r\n",
		` // \x1b]0;pwned\a ##\x5berror]legacy ##\x5badd-mask]secret` + "\r\n",
		" \t\"x\": 1 // \\u0085 next line \\u2028 separator\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		body := strings.TrimSuffix(line, "\r")
		for _, r := range body {
			if (r < 0x20 && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
				t.Errorf("control character %U in %q", r, line)
			}
		}
		if workflowCommand(line) {
			t.Errorf("line %q is a workflow command", line)
		}
	}
}
