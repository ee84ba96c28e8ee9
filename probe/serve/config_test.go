package serve

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	defaults := DefaultSettings()
	tests := []struct {
		name string
		yaml string
		want []Group // Sources relative to /etc/xvm
		err  string  // substring of the error, "" for none
	}{
		{
			name: "defaults and overrides",
			yaml: `
interval: 1m
labels: {env: prod}
groups:
  - name: a
    targets: [a.txt, "vmess://x", "https://sub.example/s?token=1"]
  - name: b
    interval: 10s
    timeout: 2s
    url: https://cp.example/generate_204
    count: 1
    concurrency: 4
    skew_every: 0s
    labels: {env: test, provider: b}
    targets: [/abs/b.txt]
`,
			want: []Group{
				{Name: "a", Settings: func() Settings {
					s := defaults
					s.Interval, s.Labels = time.Minute, map[string]string{"env": "prod"}
					return s
				}(), Sources: []string{"/etc/xvm/a.txt", "vmess://x", "https://sub.example/s?token=1"}},
				{Name: "b", Settings: Settings{Interval: 10 * time.Second, Timeout: 2 * time.Second, URL: "https://cp.example/generate_204",
					Count: 1, Concurrency: 4, SkewEvery: 0, Labels: map[string]string{"env": "test", "provider": "b"}}, Sources: []string{"/abs/b.txt"}},
			},
		},
		{name: "empty file", yaml: "", want: nil},
		{name: "unknown top key", yaml: "intervl: 1m\n", err: `serve.yaml:1: unknown key "intervl"`},
		{name: "unknown group key", yaml: "groups:\n  - name: a\n    target: [x]\n", err: `serve.yaml:3: unknown key "target"`},
		{name: "bad duration", yaml: "groups:\n  - name: a\n    interval: soon\n    targets: [x]\n", err: `serve.yaml:2: interval "soon" is not a duration`},
		{name: "interval too short", yaml: "groups:\n  - name: a\n    interval: 100ms\n    targets: [x]\n", err: `serve.yaml:2: group "a": interval 100ms: want 1s to 24h`},
		{name: "top-level interval", yaml: "interval: 48h\n", err: `serve.yaml: interval 48h0m0s: want 1s to 24h`},
		{name: "no name", yaml: "groups:\n  - targets: [x]\n", err: "serve.yaml:2: a group needs a name"},
		{name: "twice", yaml: "groups:\n  - name: a\n    targets: [x]\n  - name: a\n    targets: [y]\n", err: `serve.yaml:4: group "a" is defined twice (first on line 2)`},
		{name: "no targets", yaml: "groups:\n  - name: a\n", err: `group "a" has no targets`},
		{name: "empty target", yaml: "groups:\n  - name: a\n    targets: [\"  \"]\n", err: "target 1 is empty"},
		{name: "bad url", yaml: "url: ftp://x\n", err: "url \"ftp://x\": only http and https"},
		{name: "count", yaml: "count: 0\n", err: "count 0: want 1 to 100"},
		{name: "reserved label", yaml: "labels: {server: x}\n", err: `"server" is a label serve sets itself`},
		{name: "bad label", yaml: "labels: {9x: x}\n", err: `"9x" is not a Prometheus label name`},
		{name: "dunder label", yaml: "labels: {__x: x}\n", err: `"__x" is not a Prometheus label name`},
		{name: "too many labels", yaml: "groups:\n" + manyLabelGroups(MaxLabelKeys+1), err: "9 distinct label names; at most 8"},
		{name: "not a mapping", yaml: "- a\n- b\n", err: "serve.yaml:1: cannot unmarshal !!seq"},
		{name: "wrong type", yaml: "count: many\n", err: "serve.yaml:1: cannot unmarshal !!str `many` into int"},
		{name: "huge", yaml: strings.Repeat("#", MaxConfigBytes+1), err: "over the 1048576-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig("serve.yaml", []byte(tt.yaml))
			var groups []Group
			if err == nil {
				groups, err = cfg.Resolve("/etc/xvm/serve.yaml", defaults)
			}
			if tt.err != "" {
				var ce *ConfigError
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, &ce) {
					t.Fatalf("error %v, want a *ConfigError containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				for j, s := range tt.want[i].Sources {
					tt.want[i].Sources[j] = filepath.FromSlash(s)
				}
			}
			if diff := cmp.Diff(tt.want, groups); diff != "" {
				t.Fatalf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

func manyLabelGroups(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - name: g%d\n    labels: {l%d: x}\n    targets: [x]\n", i, i)
	}
	return b.String()
}

func TestSourceKind(t *testing.T) {
	tests := []struct {
		in   string
		want sourceKindT
	}{
		{"vmess://abc", sourceLink},
		{"  VMESS://abc", sourceLink},
		{"hk = vmess, 1.2.3.4, 443, username=x", sourceLink},
		{"https://sub.example/x", sourceURL},
		{"http://sub.example/x", sourceURL},
		{"servers.txt", sourceFile},
		{"dir/a=b.txt", sourceFile},
	}
	for _, tt := range tests {
		if got := sourceKind(tt.in); got != tt.want {
			t.Errorf("sourceKind(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestSourceNameMasksTokens: a subscription URL is named in messages with
// its tokens masked, those in the path included (Marzban's /sub/TOKEN).
func TestSourceNameMasksTokens(t *testing.T) {
	l := &loader{maxBytes: 1 << 20}
	for _, u := range []string{
		"https://sub.example/s?token=secret0123456789abcd",
		"https://user:pw0123456789abcdef@sub.example/s#x",
		"https://sub.example/sub/secret0123456789abcd/clash-meta",
	} {
		_, _, err := l.read(context.Background(), u)
		var se *SourceError
		if !errors.As(err, &se) || strings.Contains(se.Error(), "secret0123456789abcd") || strings.Contains(se.Error(), "pw0123456789abcdef") || !strings.Contains(se.Source, "sub.example/s") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// FuzzParseConfig: any bytes give a config or a *ConfigError, never a
// panic; an accepted config resolves or fails with a typed error.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("interval: 30s\ngroups:\n  - name: a\n    labels: {x: y}\n    targets: [a.txt]\n"))
	f.Add([]byte("groups: [{name: a, targets: [\"vmess://x\"], interval: 1m, count: 2}]"))
	f.Add([]byte("groups:\n  - name: a\n    targets: [x]\n  - name: a\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Add([]byte("labels: {__x: 1, le: 2}\nskew_every: -1s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("f.yaml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		groups, err := cfg.Resolve("/f.yaml", DefaultSettings())
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, g := range groups {
			if g.Settings.Check() != nil || len(g.Sources) == 0 || len(g.Sources) > MaxSourcesPerGroup {
				t.Fatalf("an invalid group was resolved: %+v", g)
			}
		}
	})
}

// BenchmarkParseConfig doubles the number of groups: time and memory per
// op should double too (no quadratic path, e.g. in duplicate detection).
func BenchmarkParseConfig(b *testing.B) {
	for _, n := range []int{32, 64, 128, 256} {
		var sb strings.Builder
		sb.WriteString("interval: 30s\ngroups:\n")
		for i := range n {
			fmt.Fprintf(&sb, "  - name: group-%d\n    interval: 1m\n    labels: {provider: p%d}\n    targets: [a%d.txt, b%d.txt, \"vmess://x%d\"]\n", i, i%4, i, i, i)
		}
		data := []byte(sb.String())
		b.Run(fmt.Sprintf("groups=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				cfg, err := ParseConfig("b.yaml", data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := cfg.Resolve("/b.yaml", DefaultSettings()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSourceErrors: sources that cannot be read are typed errors that name
// the source, never a subscription's token or a link's id.
func TestSourceErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	junk := filepath.Join(dir, "junk.txt")
	os.WriteFile(junk, []byte("hello\n"), 0o644)
	tests := []struct {
		src, want, secret string
	}{
		{"https://sub.example/s?token=hunter2", "https://sub.example/s?token=…: subscription URLs are not supported by this build", "hunter2"},
		{filepath.Join(dir, "missing.txt"), "missing.txt", ""},
		{empty, "empty; give a file of links", ""},
		{junk, "junk.txt", ""},
	}
	for _, tt := range tests {
		_, err := New(context.Background(), Options{Defaults: DefaultSettings(), Sources: []string{tt.src}, Run: instantRun(1), WatchEvery: -1})
		var se *SourceError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) || (tt.secret != "" && strings.Contains(err.Error(), tt.secret)) {
			t.Errorf("%s: %v, want a *SourceError with %q", tt.src, err, tt.want)
		}
	}
}

// TestFetchErrorsMasked: a fetcher's error that repeats the subscription
// URL (net/http's *url.Error does) shows neither its path token, its
// query nor its user info, in the message or in the *url.Error it wraps.
func TestFetchErrorsMasked(t *testing.T) {
	const raw = "https://alice:pw-0123456789@sub.example/link/Tok3nTok3nTok3n99?sub=2&key=k3yk3yk3y"
	secrets := []string{"Tok3nTok3nTok3n99", "k3yk3yk3y", "pw-0123456789", "alice"}
	for name, fetchErr := range map[string]error{
		"url.Error":   &url.Error{Op: "Get", URL: raw, Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
		"wrapped":     fmt.Errorf("subscription: %w", &url.Error{Op: "Get", URL: raw, Err: context.DeadlineExceeded}),
		"quoted":      fmt.Errorf("fetching %s: 403 Forbidden", raw),
		"query alone": fmt.Errorf("bad answer for ?%s", strings.SplitN(raw, "?", 2)[1]),
	} {
		t.Run(name, func(t *testing.T) {
			l := &loader{maxBytes: 1 << 20, fetch: func(context.Context, string, int64) ([]byte, error) { return nil, fetchErr }}
			_, _, err := l.read(context.Background(), raw)
			var se *SourceError
			if !errors.As(err, &se) {
				t.Fatalf("%v: not a SourceError", err)
			}
			msg := err.Error()
			var ue *url.Error
			if errors.As(err, &ue) {
				msg += " | " + ue.Error()
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("%q shows %q", msg, s)
				}
			}
			if !strings.Contains(msg, "sub.example/link/") {
				t.Errorf("%q does not name the subscription", msg)
			}
		})
	}
}
