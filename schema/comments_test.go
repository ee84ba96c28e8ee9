package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestComments checks which text each format's reader treats as a
// comment: never text inside a string or a block scalar.
func TestComments(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Format
		src  string
		want []string
	}{
		{"json", JSON, "{\"a\": \"//x\", // one\n \"b\": '#y', /* two\n */ # three\n}", []string{"// one", "/* two\n */", "# three"}},
		{"json escaped quote", JSON, `{"a": "\"//x"} //z`, []string{"//z"}},
		{"json open block", JSON, "{} /* x", []string{"/* x"}},
		{"yaml", YAML, "# one\na: 'x # y' # two\nb: \"p\\\" # q\" #three\nc: d#e\n", []string{"# one", "# two", "#three"}},
		{"yaml block scalar", YAML, "a: | # one\n  # not\n\n  text\n# two\nb:\n- >-\n  # not\n- x # three\n", []string{"# one", "# two", "# three"}},
		{"yaml compact block scalar", YAML, "- a: |\n   # not\n  b: 1 # one\n", []string{"# one"}},
		{"yaml quoted over lines", YAML, "a: 'x\n  # not'\nb: \"y\n  # not\" # one\n", []string{"# one"}},
		{"yaml flow", YAML, "a: [x, '#not', # one\n  y]\nb: {c: \"#\"} # two\n", []string{"# one", "# two"}},
		{"yaml plain with quote", YAML, "a: don't # one\n", []string{"# one"}},
		{"yaml crlf", YAML, "a: 1 # one\r\n", []string{"# one"}},
		{"toml", TOML, "a = \"#x\" # one\nb = '#y'\nc = \"\"\"\n# not \\\"\"\" \"\"\" # two\nd = '''\n# not'''\n#three", []string{"# one", "# two", "#three"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range Comments(tc.f, []byte(tc.src)) {
				got = append(got, tc.src[c.Start:c.End])
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("comments (-want +got):\n%s", d)
			}
		})
	}
}
