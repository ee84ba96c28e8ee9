package lint

import (
	"context"
	"fmt"
	"testing"
)

// TestSuppressionOnlyInComments checks that "xvm-disable-next-line" is
// honoured in a real comment of JSONC, YAML and TOML and not in a string
// value that reads like one: a string is data (a pull request could
// otherwise hide a finding behind a tag or a path).
func TestSuppressionOnlyInComments(t *testing.T) {
	const id = "27848739-7e62-4138-9fd3-098a63964b6b"
	for _, tc := range []struct {
		name, file, src string
		suppressed      bool
	}{
		{"json line comment", "a.jsonc", `{"protocol": "vmess",
  // xvm-disable-next-line unknown-key
  "bogus": 1,
  "settings": {"address": "a.example.com", "port": 443, "id": "` + id + `"}}`, true},
		{"json block comment", "a.jsonc", `{"protocol": "vmess", /* note
  xvm-disable-next-line unknown-key */
  "bogus": 1,
  "settings": {"address": "a.example.com", "port": 443, "id": "` + id + `"}}`, true},
		{"json hash comment", "a.jsonc", `{"protocol": "vmess", # xvm-disable-next-line unknown-key
  "bogus": 1,
  "settings": {"address": "a.example.com", "port": 443, "id": "` + id + `"}}`, true},
		{"json string", "a.jsonc", `{"protocol": "vmess", "tag": "// xvm-disable-next-line unknown-key",
  "bogus": 1,
  "settings": {"address": "a.example.com", "port": 443, "id": "` + id + `"}}`, false},
		{"yaml comment", "a.yaml", `protocol: vmess
# xvm-disable-next-line unknown-key
bogus: 1
settings: {address: a.example.com, port: 443, id: ` + id + `}
`, true},
		{"yaml quoted", "a.yaml", `protocol: vmess
tag: "# xvm-disable-next-line unknown-key"
bogus: 1
settings: {address: a.example.com, port: 443, id: ` + id + `}
`, false},
		{"yaml plain scalar", "a.yaml", `protocol: vmess
tag: a#xvm-disable-next-line unknown-key
bogus: 1
settings: {address: a.example.com, port: 443, id: ` + id + `}
`, false},
		{"yaml block scalar", "a.yaml", `protocol: vmess
sendThrough: |
  # xvm-disable-next-line unknown-key
bogus: 1
settings: {address: a.example.com, port: 443, id: ` + id + `}
`, false},
		{"yaml quoted over lines", "a.yaml", `protocol: vmess
tag: 'a
  # xvm-disable-next-line unknown-key'
bogus: 1
settings: {address: a.example.com, port: 443, id: ` + id + `}
`, false},
		{"toml comment", "a.toml", `protocol = "vmess"
# xvm-disable-next-line unknown-key
bogus = 1
[settings]
address = "a.example.com"
port = 443
id = "` + id + `"
`, true},
		{"toml string", "a.toml", `protocol = "vmess"
tag = "# xvm-disable-next-line unknown-key"
bogus = 1
[settings]
address = "a.example.com"
port = 443
id = "` + id + `"
`, false},
		{"toml multi-line string", "a.toml", `protocol = "vmess"
tag = '''
# xvm-disable-next-line unknown-key'''
bogus = 1
[settings]
address = "a.example.com"
port = 443
id = "` + id + `"
`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := newTestLinter(t, Options{}).LintBytes(context.Background(), tc.file, []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			var all []string
			for _, d := range ds {
				all = append(all, fmt.Sprintf("%d:%d %s %s", d.Pos.Line, d.Pos.Col, d.Rule, d.Pointer))
				if d.Rule == "unknown-key" && d.Pointer == "/bogus" {
					found = true
				}
			}
			if found == tc.suppressed {
				t.Errorf("unknown key /bogus reported: %v, want %v; findings %v", found, !tc.suppressed, all)
			}
		})
	}
}
