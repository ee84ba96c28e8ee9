package probe

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under ../testdata/probe")

func mp(v float64) *Millis { m := Millis(v); return &m }

// SampleResults are fixed results covering every field, for renderer
// goldens here and in cmd/xvm.
func sampleResults() []Result {
	return []Result{
		{Index: 0, Name: "tokyo-ws", Address: "jp.example.net", Port: 443, Network: "ws", Security: "auto", TransportSecurity: "tls", OK: true,
			Timings: &Timings{DNS: mp(3.2), Connect: mp(41.07), TLS: mp(86.5), Upgrade: mp(44.1), Handshake: mp(120.4), FirstByte: mp(120.9), Total: mp(296.3)},
			Latency: &Latency{Min: 288.1, Median: 296.3, Max: 310.75}, Samples: 3,
			Skew:     &Skew{OffsetS: 1.5, UncertaintyS: 1.04, Handshakes: 17},
			Download: &Download{Bytes: 10000000, Seconds: 1.25, BytesPerS: 8000000}},
		{Index: 1, Name: "", Address: "203.0.113.9", Port: 10086, Network: "raw", Security: "aes-128-gcm", OK: false,
			Error:   &Failure{Kind: KindClockSkew, Message: "server clock is 3m12s ahead of yours (±1.0s); VMess allows only ±120s: fix the clock (NTP) on the server or on this machine"},
			Samples: 1, Lost: 1, Skew: &Skew{OffsetS: 192, UncertaintyS: 1, Handshakes: 19}},
		{Index: 2, Name: "frankfurt", Address: "2001:db8::7", Port: 8443, Network: "grpc", Security: "chacha20-poly1305", TransportSecurity: "tls", OK: true,
			Timings: &Timings{Connect: mp(12.5), TLS: mp(25), Upgrade: mp(12.9), Handshake: mp(30.1), FirstByte: mp(30.2), Total: mp(81.3)},
			Latency: &Latency{Min: 80, Median: 81.3, Max: 95.5}, Samples: 3, Lost: 1},
		{Index: 3, Name: "wrong id", Address: "vm.example.org", Port: 80, Network: "httpupgrade", Security: "none", OK: false,
			Error:   &Failure{Kind: KindAuthRejected, Message: "vm.example.org:80 rejected the user id b831…0811: no clock offset within ±24h was accepted (769 handshakes); the id is wrong, or the server is not VMess"},
			Samples: 1, Lost: 1},
		{Index: 4, Name: "dead", Address: "192.0.2.1", Port: 443, Network: "raw", Security: "auto", OK: false,
			Error:   &Failure{Kind: KindTimeout, Message: "192.0.2.1:443 did not finish within 5s (connect phase); the server is down, blackholed or too slow; check the address, or raise --timeout"},
			Samples: 1, Lost: 1},
	}
}

// golden compares got with testdata/probe/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "probe", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if strings.HasSuffix(name, ".json") {
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("output is not JSON: %v", err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(w, g); d != "" {
			t.Fatalf("%s mismatch (-want +got):\n%s", name, d)
		}
		return
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", name, d)
	}
}

func TestWriteJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	golden(t, "results.json", b.Bytes())
}

func TestWriteNDJSON(t *testing.T) {
	var b bytes.Buffer
	for _, r := range sampleResults() {
		if err := WriteNDJSON(&b, r); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "results.ndjson", b.Bytes())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(sampleResults()) {
		t.Fatalf("%d lines, want one per result", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
}

func TestWriteJSONEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Fatalf("got %q, %v; want []", b.String(), err)
	}
}

// TestJSONShape pins the contract's field names: every documented key is
// present in a full result, and absent measurements are omitted.
func TestJSONShape(t *testing.T) {
	b, _ := json.Marshal(sampleResults()[0])
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"name", "address", "port", "network", "security", "ok", "timings_ms", "latency_ms", "samples", "lost", "skew", "download"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing from %s", k, b)
		}
	}
	for _, k := range []string{"dns", "connect", "tls", "handshake", "first_byte", "total"} {
		if _, ok := m["timings_ms"].(map[string]any)[k]; !ok {
			t.Errorf("timings_ms.%s missing", k)
		}
	}
	b, _ = json.Marshal(sampleResults()[4])
	m = map[string]any{}
	json.Unmarshal(b, &m)
	for _, k := range []string{"timings_ms", "latency_ms", "skew", "download"} {
		if _, ok := m[k]; ok {
			t.Errorf("absent measurement %q present in %s", k, b)
		}
	}
	if e := m["error"].(map[string]any); e["kind"] != "timeout" || e["message"] == "" {
		t.Errorf("error = %v", e)
	}
}

func TestTableOrder(t *testing.T) {
	rows := Table(sampleResults())
	var names []string
	for _, r := range rows {
		names = append(names, r.Cells[0])
	}
	// ok first by median latency (frankfurt 81 ms, tokyo 296 ms), then the
	// failures in input order.
	want := []string{"frankfurt", "tokyo-ws", "-", "wrong id", "dead"}
	if d := cmp.Diff(want, names); d != "" {
		t.Fatalf("order (-want +got):\n%s", d)
	}
	if rows[0].Cells[1] != "[2001:db8::7]:8443" || rows[1].Cells[2] != "ws+tls" || rows[2].Kind != KindClockSkew {
		t.Fatalf("cells: %q %q %v", rows[0].Cells[1], rows[1].Cells[2], rows[2].Kind)
	}
}

func TestFmtDuration(t *testing.T) {
	for in, want := range map[float64]string{192: "3m12s", 86400: "24h", 200: "3m20s", 3600: "1h", 3605: "1h0m5s", 2.54: "2.5s", 180: "3m"} {
		if got := fmtDuration(in); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestTableSkewNearLimit(t *testing.T) {
	r := Result{Name: "n", OK: true, Latency: &Latency{Median: 1}, Samples: 1, Skew: &Skew{OffsetS: -100, UncertaintyS: 1}}
	if d := Table([]Result{r})[0].Cells[7]; !strings.Contains(d, "clock 1m40s off") {
		t.Fatalf("detail %q does not warn about a clock near the limit", d)
	}
	r.Skew.OffsetS = 60
	if d := Table([]Result{r})[0].Cells[7]; strings.Contains(d, "clock") {
		t.Fatalf("detail %q warns about a clock well inside the window", d)
	}
}

// TestTableDownloadDetail: a finished download shows its rate; one that
// failed part way shows what arrived instead, beside the failure.
func TestTableDownloadDetail(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want string
	}{
		{"finished", Result{Name: "a", OK: true, Download: &Download{Bytes: 1 << 20, Seconds: 0.5, BytesPerS: 2 << 20}}, "download 2 MiB/s"},
		{"stalled", Result{Name: "b", Error: &Failure{Kind: KindTimeout, Message: "download: stalled"}, Download: &Download{Bytes: 5000, Seconds: 1.2, BytesPerS: 4167}}, "download: stalled; 4.8 KiB arrived in 1.2s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := Table([]Result{tt.r})
			if got := rows[0].Cells[len(rows[0].Cells)-1]; got != tt.want {
				t.Fatalf("detail %q, want %q", got, tt.want)
			}
		})
	}
}
