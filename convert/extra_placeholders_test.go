package convert

import (
	"strings"
	"testing"
)

// TestExtraPlaceholders: a caller's own placeholders (probe's {latency}
// and {country}) are checked and filled per node, beside convert's.
func TestExtraPlaceholders(t *testing.T) {
	nodes := parseLinks(t,
		"vmess://"+corpusUUID+"@a.example:443#A",
		"vmess://"+corpusUUID+"@b.example:443#B",
	)
	extra := []string{"{latency}", "{country}"}
	values := map[string][]string{"{latency}": {"12ms", "340ms"}, "{country}": {"NL", ""}}
	opts := EmitOptions{NameTemplate: "{country} {name} {latency} #{index}", ExtraPlaceholders: extra,
		ExtraValue: func(i int, ph string) string { return values[ph][i] }}
	out, _, err := Emit(nodes, ToURILink, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.Contains(got, "#NL%20A%2012ms%20%231\n") || !strings.Contains(got, "#%20B%20340ms%20%232\n") {
		t.Fatalf("output:\n%s", got)
	}
	if err := CheckNameTemplate("{latency}"); err == nil {
		t.Error("{latency} accepted without being offered")
	}
	if err := CheckNameTemplate("{latency} {bogus}", extra...); err == nil || !strings.Contains(err.Error(), "{bogus}") || !strings.Contains(err.Error(), "{latency} {country}") {
		t.Errorf("unknown placeholder: %v", err)
	}
}
