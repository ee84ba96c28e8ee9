package lint

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Hostile-size inputs: each generator makes a document of n units whose
// cost would grow faster than n if any stage of lint were quadratic. The
// doubling benchmarks lint and render them at n, 2n, 4n, 8n; the time and
// allocations per op must roughly double with n (docs/lint.md has the
// numbers).

const scaleID = "27848739-7e62-4138-9fd3-098a63964b6b"

// scaleCase is one kind of hostile input.
type scaleCase struct {
	name string
	ext  string
	gen  func(n int) []byte
	// sizes are the doubling steps of the benchmark.
	sizes []int
	// hang is a size that a quadratic stage would take many minutes on
	// (TestHostileSizesFinish).
	hang int
	// rule is the finding each of the n elements makes ("" for none);
	// fixable says each of them comes with a fix (TestScaleInputsFind).
	rule    string
	fixable bool
}

func scaleCases() []scaleCase {
	big := []int{25_000, 50_000, 100_000, 200_000}
	return []scaleCase{
		// n unknown keys in one user object, one per line: n findings.
		{name: "unknown-keys", ext: ".json", gen: unknownKeys(false), sizes: big, hang: 100_000, rule: "unknown-key"},
		// the same on one minified line: every finding is on that line.
		{name: "unknown-keys-one-line", ext: ".json", gen: unknownKeys(true), sizes: big, hang: 50_000, rule: "unknown-key"},
		// n keys given twice in one object: n duplicate-key findings.
		{name: "duplicate-keys", ext: ".json", gen: duplicateKeys, sizes: big, hang: 100_000, rule: "duplicate-key"},
		// n WebSocket headers: one open object with n keys, no finding.
		{name: "ws-headers", ext: ".json", gen: wsHeaders, sizes: big, hang: 200_000},
		// n outbounds, each with its own id and one finding on the id's line.
		{name: "outbounds-with-a-finding", ext: ".json", gen: outboundsWithAFinding, sizes: []int{6_250, 12_500, 25_000, 50_000}, hang: 25_000, rule: "port-range"},
		// the same on one line: each finding has a fix, which must be
		// located in the line without walking it from its start.
		{name: "fixes-on-one-line", ext: ".json", gen: fixesOnOneLine, sizes: []int{6_250, 12_500, 25_000, 50_000}, hang: 50_000, rule: "port-range", fixable: true},
		// n outbounds and n routing rules to tags no outbound has, each
		// close to many tags of the same length.
		{name: "unknown-outbound-tags", ext: ".json", gen: unknownOutboundTags, sizes: []int{6_250, 12_500, 25_000, 50_000}, hang: 25_000, rule: "unknown-outbound-tag"},
		// n keys in one TOML table.
		{name: "toml-keys", ext: ".toml", gen: tomlKeys, sizes: big, hang: 200_000},
		// n misspelt keys in one object, each with a fix (a rename) that
		// must be located and checked without a scan of the object
		// (10,000 → 40,000 took 0.9 → 14 s when it was).
		{name: "misspelt-keys", ext: ".json", gen: misspeltKeys, sizes: big, hang: 200_000, rule: "unknown-key", fixable: true},
	}
}

func misspeltKeys(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443, "users": [{"id": "` + scaleID + `"`)
	for i := 0; i < n; i++ {
		b.WriteString(",\n      \"secuirty\": \"auto\"")
	}
	b.WriteString("}]}]}}\n")
	return b.Bytes()
}

// scaleLinters are the linters `xvm lint --format F` runs: text counts the
// findings --fix could fix, json works no fix out.
func scaleLinters(tb testing.TB) map[string]*Linter {
	return map[string]*Linter{
		"text": newTestLinter(tb, Options{Fixes: CountFixes}),
		"json": newTestLinter(tb, Options{}),
	}
}

func unknownKeys(oneLine bool) func(n int) []byte {
	return func(n int) []byte {
		sep := "\n      "
		if oneLine {
			sep = ""
		}
		var b bytes.Buffer
		b.WriteString(`{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443, "users": [{"id": "` + scaleID + `"`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, ",%s\"k%d\": %d", sep, i, i)
		}
		b.WriteString("}]}]}}\n")
		return b.Bytes()
	}
}

// wsHeadersDoc is an outbound whose WebSocket headers hold n entries,
// each written by entry.
func wsHeadersDoc(n int, entry string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"protocol": "vmess", "settings": {"address": "a.example.com", "port": 443, "id": "` + scaleID + `"}, "streamSettings": {"network": "ws", "wsSettings": {"headers": {`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, entry, i, i)
	}
	b.WriteString("}}}}\n")
	return b.Bytes()
}

func duplicateKeys(n int) []byte { return wsHeadersDoc(n, "\n  \"h%d\": \"a\", \"h%d\": \"b\"") }

func wsHeaders(n int) []byte { return wsHeadersDoc(n, "\n  \"X-Header-%d\": \"v%d\"") }

func outboundsWithAFinding(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\"outbounds\": [\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		// One line per outbound: the finding's source line holds the id.
		fmt.Fprintf(&b, `{"tag": "o%d", "protocol": "vmess", "settings": {"address": "s%d.example.com", "port": "443", "id": "%08x-7e62-4138-9fd3-098a63964b6b"}}`, i, i, i)
	}
	b.WriteString("\n]}\n")
	return b.Bytes()
}

func fixesOnOneLine(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"outbounds": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		// é: the line is not ASCII, so columns are not bytes.
		fmt.Fprintf(&b, `{"tag": "é%d", "protocol": "vmess", "settings": {"address": "s%d.example.com", "port": "443", "id": "%08x-7e62-4138-9fd3-098a63964b6b"}}`, i, i, i)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

func unknownOutboundTags(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\"outbounds\": [\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"tag": "t%07d", "protocol": "freedom"}`, i)
	}
	b.WriteString("\n], \"routing\": {\"rules\": [\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		// One edit away from several tags: did-you-mean has candidates.
		fmt.Fprintf(&b, `{"type": "field", "network": "tcp", "outboundTag": "u%07d"}`, i)
	}
	b.WriteString("\n]}}\n")
	return b.Bytes()
}

func tomlKeys(n int) []byte {
	var b bytes.Buffer
	b.WriteString("[[outbounds]]\nprotocol = \"vmess\"\n[outbounds.settings]\naddress = \"a.example.com\"\nport = 443\nid = \"" + scaleID + "\"\n[outbounds.streamSettings.wsSettings.headers]\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "X-Header-%d = \"v%d\"\n", i, i)
	}
	return b.Bytes()
}

// lintAndRender is what `xvm lint --format F` does with one file.
func lintAndRender(tb testing.TB, l *Linter, name string, data []byte, format string, w io.Writer) []Diagnostic {
	ds, err := l.LintBytes(context.Background(), name, data)
	if err != nil {
		tb.Fatal(err)
	}
	rep := Report{Diagnostics: ds, Files: 1}
	switch format {
	case "json":
		err = RenderJSON(w, rep)
	default:
		err = RenderText(w, rep, nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// BenchmarkScale lints and renders each hostile input at doubling sizes:
//
//	go test ./lint -run XXX -bench Scale -benchtime 1x -benchmem
func BenchmarkScale(b *testing.B) {
	ls := scaleLinters(b)
	for _, c := range scaleCases() {
		for _, format := range []string{"text", "json"} {
			l := ls[format]
			for _, n := range c.sizes {
				b.Run(fmt.Sprintf("%s/%s/n=%d", c.name, format, n), func(b *testing.B) {
					data := c.gen(n)
					b.SetBytes(int64(len(data)))
					b.ResetTimer()
					b.ReportAllocs()
					var out countingWriter
					for i := 0; i < b.N; i++ {
						out = 0
						lintAndRender(b, l, "gen"+c.ext, data, format, &out)
					}
					b.ReportMetric(float64(out)/float64(len(data)), "out/in")
				})
			}
		}
	}
}

// TestHostileSizesFinish lints and renders each hostile input at a size
// where the quadratic stages this file's benchmarks were written against
// took 5 to 50 minutes (extrapolated from doubling runs: 100,000 unknown
// keys about 6 minutes, 50,000 on one line about 50, 25,000 outbounds
// with a finding each over 20) and lint now takes well under a second. The
// bound only catches such a hang; the doubling benchmarks measure.
func TestHostileSizesFinish(t *testing.T) {
	ls := scaleLinters(t)
	for _, c := range scaleCases() {
		t.Run(c.name, func(t *testing.T) {
			n := c.hang
			if testing.Short() {
				n /= 16 // smaller, so that -short stays quick; full size without it
			}
			data := c.gen(n)
			for _, format := range []string{"text", "json"} {
				done := make(chan struct{})
				go func() {
					defer close(done)
					lintAndRender(t, ls[format], "gen"+c.ext, data, format, io.Discard)
				}()
				select {
				case <-done:
				case <-time.After(90 * time.Second):
					t.Fatalf("%s, %d bytes, %s: not done after 90 s (a stage grows faster than its input)", c.name, len(data), format)
				}
			}
		})
	}
}

// TestScaleAllocationsDouble lints and renders each hostile input at two
// sizes, n and 2n, and checks that the bytes allocated double with it:
// a stage that copies a long line, or scans a whole object, per finding
// allocates four times as much instead. Allocation counts do not depend
// on the machine's load, so the test is exact where a timing would not be.
func TestScaleAllocationsDouble(t *testing.T) {
	ls := scaleLinters(t)
	for _, c := range scaleCases() {
		n := c.sizes[0] / 2
		if testing.Short() {
			n /= 4 // smaller, so that -short stays quick; full size without it
		}
		small, large := c.gen(n), c.gen(2*n)
		for _, format := range []string{"text", "json"} {
			allocated := func(data []byte) uint64 {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				lintAndRender(t, ls[format], "gen"+c.ext, data, format, io.Discard)
				runtime.ReadMemStats(&after)
				return after.TotalAlloc - before.TotalAlloc
			}
			a, b := allocated(small), allocated(large)
			if ratio := float64(b) / float64(a); ratio > 2.6 {
				t.Errorf("%s, %s: %d → %d units allocated %d → %d bytes (×%.1f); want about ×2", c.name, format, n, 2*n, a, b, ratio)
			}
		}
	}
}

// countingWriter counts what a renderer writes.
type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// TestScaleInputsFind checks each generator makes the findings its name
// promises, so that the benchmarks measure what they say.
func TestScaleInputsFind(t *testing.T) {
	l := newTestLinter(t, Options{Fixes: CountFixes})
	const n = 200
	for _, c := range scaleCases() {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			ds := lintAndRender(t, l, "gen"+c.ext, c.gen(n), "text", &out)
			got, want := 0, n
			if c.rule == "" {
				want = 0
			}
			for _, d := range ds {
				if d.Rule == c.rule {
					got++
				} else if d.Rule != "key-case" {
					t.Errorf("unexpected finding %s", d)
				}
			}
			if got != want {
				t.Errorf("%d %s findings, want %d", got, c.rule, want)
			}
			if c.fixable {
				for _, d := range ds {
					if !d.Fixable {
						t.Fatalf("not fixable: %s", d)
					}
				}
			}
			if strings.Contains(out.String(), scaleID[8:]) {
				t.Errorf("output shows an id in full")
			}
		})
	}
}
