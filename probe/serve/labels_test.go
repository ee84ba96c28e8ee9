package serve

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/vmess/transport"
)

func TestLabelValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hk-1", "hk-1"},
		{"香港 01 🇭🇰", "香港 01 🇭🇰"},
		{"bad\xffname", `bad\xffname`},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"\x1b[31mred", `\x1b[31mred`},
		{strings.Repeat("é", 100) + "\xff", strings.Repeat("é", 64)},
	}
	for _, tt := range tests {
		got := labelValue(tt.in)
		if got != tt.want {
			t.Errorf("labelValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !utf8.ValidString(got) || len(got) > MaxLabelValueLen {
			t.Errorf("labelValue(%q) = %q: not UTF-8 or too long", tt.in, got)
		}
	}
}

// stdLink is a vmess://uuid@host:port link whose name (the fragment) is
// written percent-encoded, so it can hold any byte.
func stdLink(id string, port int, escapedName string) string {
	return "vmess://" + id + "@127.0.0.1:" + strconv.Itoa(port) + "?type=tcp#" + escapedName
}

// TestHostileNamesExported: server names that are not UTF-8 or hold
// control characters (a provider's links say what they like) leave
// /metrics valid for Prometheus's own parser and promtool, and /probe of
// such a name answers with valid metrics, not a panic.
func TestHostileNamesExported(t *testing.T) {
	promtool := findTool(t, "promtool", "prometheus")
	dir := t.TempDir()
	path := filepath.Join(dir, "l.txt")
	links := []string{
		stdLink(fakeID(0), 20000, "bad%FFname"),
		stdLink(fakeID(1), 20001, "%1B%5B31mred%0Aline%22q%5C"),
		stdLink(fakeID(2), 20002, "nel%C2%85"+strings.Repeat("%FE", 200)),
	}
	os.WriteFile(path, []byte(strings.Join(links, "\n")+"\n"), 0o644)
	s, clock := newTestServer(t, Options{Sources: []string{path}, LinkTargets: true})
	s.dispatch(context.Background(), clock.add(time.Minute))
	s.cycles.Wait()
	h := s.Handler()

	body := get(t, h, "/metrics").Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("Prometheus's parser refuses /metrics: %v", err)
	}
	names := map[string]bool{}
	for _, m := range fams["xvm_probe_success"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "name" {
				names[l.GetValue()] = true
			}
		}
	}
	for _, want := range []string{`bad\xffname`, `\x1b[31mred\nline"q\`} {
		if !names[want] {
			t.Errorf("no series named %q; names %v", want, names)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	for _, target := range []string{"bad\xffname", `bad\xffname`, links[0]} {
		rec := get(t, h, "/probe?target="+url.QueryEscape(target))
		b := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(b, `name="bad\\xffname"`) {
			t.Errorf("/probe?target=%q: %d\n%s", target, rec.Code, b)
			continue
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := p.TextToMetricFamilies(strings.NewReader(b)); err != nil {
			t.Errorf("/probe?target=%q: the answer does not parse: %v", target, err)
		}
	}
}

func TestDedupeNames(t *testing.T) {
	long := strings.Repeat("n", MaxLabelValueLen)
	type entry struct{ name, server string }
	tests := []struct {
		name string
		in   []entry
		want []string
	}{
		{"distinct", []entry{{"A", "h:1"}, {"B", "h:1"}}, []string{"A", "B"}},
		{"same name, other servers", []entry{{"A", "h:1"}, {"A", "h:2"}}, []string{"A", "A"}},
		{"twice", []entry{{"A", "h:1"}, {"A", "h:1"}, {"A", "h:1"}}, []string{"A", "A #2", "A #3"}},
		{"a later name holds the suffix", []entry{{"A", "h:1"}, {"A", "h:1"}, {"A #2", "h:1"}}, []string{"A", "A #3", "A #2"}},
		{"an earlier name holds the suffix", []entry{{"A #2", "h:1"}, {"A", "h:1"}, {"A", "h:1"}}, []string{"A #2", "A", "A #3"}},
		{"at the length limit", []entry{{long, "h:1"}, {long, "h:1"}}, []string{long, long[:MaxLabelValueLen-3] + " #2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts []*target
			for _, e := range tt.in {
				ts = append(ts, &target{name: e.name, server: e.server, transport: "raw"})
			}
			dedupeNames(ts)
			seen := map[[2]string]bool{}
			for i, tg := range ts {
				if tg.name != tt.want[i] {
					t.Errorf("target %d: name %q, want %q", i, tg.name, tt.want[i])
				}
				if len(tg.name) > MaxLabelValueLen {
					t.Errorf("target %d: name of %d bytes", i, len(tg.name))
				}
				k := [2]string{tg.name, tg.server}
				if seen[k] {
					t.Errorf("two series named %q on %s", tg.name, tg.server)
				}
				seen[k] = true
			}
		})
	}
}

// TestDuplicateNamesExported: names A, A and "A #2" for three users of
// one server are three series in /metrics.
func TestDuplicateNamesExported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.txt")
	var links []string
	for i, name := range []string{"A", "A", "A #2"} {
		links = append(links, v2rayNLink(name, "127.0.0.1", 20000, fakeID(i), "tcp", nil))
	}
	os.WriteFile(path, []byte(strings.Join(links, "\n")+"\n"), 0o644)
	s, clock := newTestServer(t, Options{Sources: []string{path}})
	s.dispatch(context.Background(), clock.add(time.Minute))
	s.cycles.Wait()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(get(t, s.Handler(), "/metrics").Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, m := range fams["xvm_probe_success"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "name" {
				names[l.GetValue()]++
			}
		}
	}
	if want := map[string]int{"A": 1, "A #2": 1, "A #3": 1}; !reflect.DeepEqual(names, want) {
		t.Errorf("series by name %v, want %v", names, want)
	}
}

// TestTransportLabel: the transport label uses the project's network
// names (transport.NetworkName), whatever alias a link used.
func TestTransportLabel(t *testing.T) {
	tests := []struct{ network, security, want string }{
		{"", "", "raw"},
		{"tcp", "", "raw"},
		{"websocket", "tls", "ws+tls"},
		{"WS", "", "ws"},
		{"splithttp", "tls", "xhttp+tls"},
		{"grpc", "TLS", "grpc+tls"},
		{"mkcp", "", "kcp"},
	}
	for _, tt := range tests {
		tg := probe.Target{Stream: transport.Config{Network: tt.network, Security: tt.security}}
		if got := transportOf(&tg); got != tt.want {
			t.Errorf("network %q, security %q: %q, want %q", tt.network, tt.security, got, tt.want)
		}
	}
}

// TestProbeNamesAsWritten: /probe finds a name over the label length limit
// by its full name and by its exported (cut) label, and a name with
// surrounding spaces by itself, not by its trimmed twin.
func TestProbeNamesAsWritten(t *testing.T) {
	long := strings.Repeat("L", 200)
	path := filepath.Join(t.TempDir(), "l.txt")
	links := []string{
		stdLink(fakeID(0), 20000, "%20spaced%20"),
		stdLink(fakeID(1), 20001, "spaced"),
		stdLink(fakeID(2), 20002, long),
	}
	os.WriteFile(path, []byte(strings.Join(links, "\n")+"\n"), 0o644)
	s, _ := newTestServer(t, Options{Sources: []string{path}})
	h := s.Handler()
	for _, tt := range []struct{ target, server string }{
		{" spaced ", "127.0.0.1:20000"},
		{"spaced", "127.0.0.1:20001"},
		{long, "127.0.0.1:20002"},
		{long[:MaxLabelValueLen], "127.0.0.1:20002"},
	} {
		rec := get(t, h, "/probe?target="+url.QueryEscape(tt.target))
		if want := `server="` + tt.server + `"`; rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/probe?target=%q (%d bytes): %d, want the target on %s\n%s", tt.target, len(tt.target), rec.Code, tt.server, rec.Body)
		}
	}
}
