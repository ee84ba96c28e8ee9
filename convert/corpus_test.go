package convert

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpusCase is one entry of ../testdata/convert/corpus.json. The expected
// values were written by hand from docs/formats.md (see gen_corpus.py),
// not copied from xvm's output.
type corpusCase struct {
	Name  string                     `json:"name"`
	Link  string                     `json:"link"`
	Want  map[string]json.RawMessage `json:"want"`
	Error string                     `json:"error"`
	Warn  []string                   `json:"warn"`
	Xray  string                     `json:"xray"` // ok, fail (not convertible)
}

const corpusUUID = "b831bfb3-e84c-4647-a953-bbdd6e6d6390"

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	b, err := os.ReadFile("../testdata/convert/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var cs []corpusCase
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

// noSecret fails when a message shows the corpus user id.
func noSecret(t *testing.T, what, msg string) {
	t.Helper()
	l := strings.ToLower(msg)
	if strings.Contains(l, corpusUUID) || strings.Contains(l, strings.ReplaceAll(corpusUUID, "-", "")) {
		t.Errorf("%s shows the user id: %s", what, msg)
	}
}

func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 60 {
		t.Fatalf("corpus has %d links, want at least 60", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			n, warns, err := ParseLink(c.Link)
			for _, w := range warns {
				noSecret(t, "warning", w.String())
			}
			if c.Error != "" {
				if err == nil {
					t.Fatalf("ParseLink succeeded, want an error about %q", c.Error)
				}
				noSecret(t, "error", err.Error())
				var fe *fieldError
				if !errors.As(err, &fe) || fe.Field != c.Error {
					t.Fatalf("error %v, want one about field %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLink: %v", err)
			}
			got := nodeFields(t, n)
			for k, want := range c.Want {
				var w any
				if err := json.Unmarshal(want, &w); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(w, got[k]); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", k, diff)
				}
			}
			for _, f := range c.Warn {
				found := false
				for _, w := range warns {
					found = found || strings.EqualFold(w.Field, f)
				}
				if !found {
					t.Errorf("no warning about %q; got %v", f, warns)
				}
			}
			o, xw, err := ToXray(n)
			for _, w := range xw {
				noSecret(t, "warning", w.String())
			}
			switch c.Xray {
			case "fail":
				var nc *NotConvertibleError
				if !errors.As(err, &nc) {
					t.Fatalf("ToXray error = %v, want NotConvertibleError", err)
				}
				noSecret(t, "error", err.Error())
			default:
				if err != nil {
					t.Fatalf("ToXray: %v", err)
				}
				if err := buildWithXray(t, o); err != nil {
					t.Fatalf("Xray-core refused the outbound: %v", err)
				}
			}
		})
	}
}

// nodeFields returns the node as the generic JSON the corpus compares.
func nodeFields(t *testing.T, n *Node) map[string]any {
	t.Helper()
	b, err := json.Marshal(n.full()) // every field at the top level, as the corpus names them
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// xrayJSON is the canonical JSON of an outbound, for comparisons.
func xrayJSON(t *testing.T, n *Node) string {
	t.Helper()
	o, _, err := ToXray(n)
	if err != nil {
		t.Fatalf("ToXray: %v", err)
	}
	b, _ := json.Marshal(o)
	return string(b)
}

func parseOne(t *testing.T, name string, data []byte) *Node {
	t.Helper()
	res, err := Parse(context.Background(), name, data, Options{})
	if err != nil {
		t.Fatalf("Parse %s: %v\n%s", name, err, data)
	}
	if len(res.Nodes) != 1 {
		t.Fatalf("Parse %s: %d nodes, diagnostics %v\n%s", name, len(res.Nodes), res.Diagnostics, data)
	}
	return res.Nodes[0]
}

// TestRoundTrips checks, for every corpus link and every target, that
// whenever the emitter reports no loss, reading its output back gives the
// same Xray outbound; and link -> xray -> link -> xray through Xray JSON.
func TestRoundTrips(t *testing.T) {
	for _, c := range loadCorpus(t) {
		if c.Error != "" || c.Xray == "fail" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			n, _, err := ParseLink(c.Link)
			if err != nil {
				t.Fatal(err)
			}
			x1 := xrayJSON(t, n)
			for _, target := range OutputFormats() {
				out, diags, err := Emit([]*Node{n}, target, EmitOptions{})
				if err != nil {
					t.Fatalf("Emit %s: %v", target, err)
				}
				if hasLoss(diags) {
					continue // reported loss; TestNothingDroppedSilently covers it
				}
				back := parseOne(t, string(target), out)
				if x2 := xrayJSON(t, back); x2 != x1 {
					t.Errorf("%s round trip changed the outbound:\n was %s\n now %s\n via %s", target, x1, x2, out)
				}
			}
			// link -> xray -> link -> xray
			xb, _, err := Emit([]*Node{n}, ToXrayJSON, EmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			viaXray := parseOne(t, "xray", xb)
			for _, target := range []OutputFormat{ToV2RayNLink, ToURILink} {
				link, diags, err := Emit([]*Node{viaXray}, target, EmitOptions{})
				if err != nil || hasLoss(diags) {
					continue // lossy pair: reported by the table test
				}
				if x3 := xrayJSON(t, parseOne(t, "link", link)); x3 != x1 {
					t.Errorf("link -> xray -> %s -> xray changed the outbound:\n was %s\n now %s", target, x1, x3)
				}
			}
		})
	}
}

// hasLoss tells whether diagnostics report anything beyond notes.
func hasLoss(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity != Info {
			return true
		}
	}
	return false
}
