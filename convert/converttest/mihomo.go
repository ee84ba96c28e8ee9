// Package converttest holds checks on convert's output that the tests of
// more than one package run (convert's own, and xvm probe --keep's), in the
// spirit of net/http/httptest. Nothing outside tests should import it.
package converttest

import (
	"fmt"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"
)

// The keys of mihomo's vmess proxy (adapter/outbound/vmess.go, its option
// struct): the fields without omitempty are required; any other key is one
// mihomo ignores, which means convert wrote something no mihomo reads.
var (
	mihomoRequired  = []string{"name", "type", "server", "port", "uuid", "alterId", "cipher"}
	mihomoVMessKeys = []string{"name", "type", "server", "port", "uuid", "alterId", "cipher", "udp", "network",
		"tls", "alpn", "skip-cert-verify", "fingerprint", "client-fingerprint", "servername", "reality-opts",
		"http-opts", "h2-opts", "grpc-opts", "ws-opts", "packet-addr", "xudp", "packet-encoding",
		"global-padding", "authenticated-length", "tfo", "mptcp", "interface-name", "routing-mark",
		"ip-version", "dialer-proxy", "smux"}
	mihomoOpts = map[string][]string{
		"ws-opts":      {"path", "headers", "max-early-data", "early-data-header-name", "v2ray-http-upgrade", "v2ray-http-upgrade-fast-open"},
		"h2-opts":      {"host", "path"},
		"http-opts":    {"method", "path", "headers"},
		"grpc-opts":    {"grpc-service-name"},
		"reality-opts": {"public-key", "short-id"},
	}
)

// MihomoVMessProblems reads a Clash YAML document and lists what mihomo
// would refuse or ignore in its proxies: a required key missing, a key
// mihomo's vmess does not have (at the top or inside an *-opts map), a
// port that is not an integer, a network mihomo's vmess does not know, a
// name used twice. It returns the proxies in order (for callers that check
// more) and fails only when the document is not YAML with a proxies list.
func MihomoVMessProblems(doc []byte) ([]map[string]any, []string, error) {
	var d struct {
		Proxies []map[string]any `yaml:"proxies"`
	}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		return nil, nil, fmt.Errorf("converttest: not YAML: %w", err)
	}
	if d.Proxies == nil {
		return nil, nil, fmt.Errorf("converttest: no proxies list")
	}
	var problems []string
	names := map[string]bool{}
	for i, p := range d.Proxies {
		where := fmt.Sprintf("proxies[%d] %v", i, p["name"])
		for _, k := range mihomoRequired {
			if _, ok := p[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s: required key %q missing", where, k))
			}
		}
		problems = append(problems, unknownKeys(where, p, mihomoVMessKeys)...)
		for k, allowed := range mihomoOpts {
			if m, ok := p[k].(map[string]any); ok {
				problems = append(problems, unknownKeys(where+"."+k, m, allowed)...)
			}
		}
		if _, ok := p["port"].(int); !ok {
			problems = append(problems, fmt.Sprintf("%s: port %v is not an integer", where, p["port"]))
		}
		switch nw, _ := p["network"].(string); nw {
		case "", "tcp", "ws", "http", "h2", "grpc":
		default:
			problems = append(problems, fmt.Sprintf("%s: network %q is not one mihomo's vmess knows", where, nw))
		}
		name, _ := p["name"].(string)
		if names[name] {
			problems = append(problems, fmt.Sprintf("%s: duplicate name", where))
		}
		names[name] = true
	}
	return d.Proxies, problems, nil
}

func unknownKeys(where string, m map[string]any, allowed []string) []string {
	var out []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			out = append(out, fmt.Sprintf("%s: key %q is not a documented field (allowed: %v)", where, k, allowed))
		}
	}
	return out
}
