package convert

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds the nesting of any document convert reads.
const maxDepth = 64

// yamlDoc parses YAML into a node tree, refusing documents that nest too
// deeply or expand aliases too much (yaml.v3 also limits alias expansion).
func yamlDoc(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if err := checkYAML(&doc, 0, new(int)); err != nil {
		return nil, err
	}
	return &doc, nil
}

func checkYAML(n *yaml.Node, depth int, aliases *int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	if n.Kind == yaml.AliasNode {
		*aliases++
		if *aliases > 10000 {
			return fmt.Errorf("uses more than 10000 aliases")
		}
		// Aliases point to already checked nodes; do not descend (no
		// exponential walk on billion-laughs documents).
		return nil
	}
	for _, c := range n.Content {
		if err := checkYAML(c, depth+1, aliases); err != nil {
			return err
		}
	}
	return nil
}

// yamlToAny turns a checked YAML node into plain Go values with string
// keys, expanding aliases with a budget so that billion-laughs documents
// fail instead of eating memory.
func yamlToAny(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, fmt.Errorf("expands to too many values (alias bomb?)")
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlToAny(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return yamlToAny(n.Alias, budget, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				mv, err := yamlToAny(v, budget, depth+1)
				if err != nil {
					return nil, err
				}
				if mm, ok := mv.(map[string]any); ok {
					for kk, vv := range mm {
						if _, set := m[kk]; !set {
							m[kk] = vv
						}
					}
				}
				continue
			}
			val, err := yamlToAny(v, budget, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlToAny(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value, nil
		}
		return v, nil
	}
	return nil, nil
}

// clashKeys normalises mihomo's loose key matching: case-insensitive and
// '_' equal to '-'.
func clashKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(strings.ToLower(k), "_", "-")] = v
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	default:
		return []any{x}
	}
}

// clash reads Clash / mihomo YAML: the vmess entries under proxies:.
func (p *parser) clash(data []byte) error {
	doc, err := yamlDoc(data)
	if err != nil {
		return p.inputError(0, "not valid YAML: %v", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return p.inputError(0, "want a Clash config with a proxies: list")
	}
	root := doc.Content[0]
	var proxies *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "proxies" {
			proxies = root.Content[i+1]
		}
	}
	if proxies == nil || proxies.Kind != yaml.SequenceNode {
		return p.inputError(0, "no proxies: list; want a Clash config with a proxies: list")
	}
	budget := 1 << 20
	for i, item := range proxies.Content {
		line := item.Line
		v, err := yamlToAny(item, &budget, 0)
		if err != nil {
			return p.inputError(line, "%v", err)
		}
		m := asMap(v)
		if m == nil {
			p.report(Error, line, errField(fmt.Sprintf("proxies[%d]", i), "is not a mapping; want name:, type:, server:, …"))
			continue
		}
		m = clashKeys(m)
		if t := str(m["type"]); !strings.EqualFold(t, "vmess") {
			p.report(Info, line, errField(fmt.Sprintf("proxies[%d]", i), "type %q is not vmess; skipped", clip(t)))
			continue
		}
		n, warns, err := nodeFromClash(m)
		p.entry("", line, n, warns, err)
	}
	return nil
}

// clashNetworks maps mihomo's network names onto transports: http is
// raw TCP with the HTTP header, and ws may turn out HTTPUpgrade.
var clashNetworks = map[string]string{"": "raw", "tcp": "raw", "http": "raw", "ws": "ws", "h2": "h2", "grpc": "grpc"}

var clashKnown = map[string]bool{
	"name": true, "type": true, "server": true, "port": true, "uuid": true, "alterid": true,
	"cipher": true, "udp": true, "tls": true, "servername": true, "alpn": true,
	"skip-cert-verify": true, "fingerprint": true, "client-fingerprint": true, "reality-opts": true,
	"network": true, "ws-opts": true, "h2-opts": true, "http-opts": true, "grpc-opts": true,
	"tfo": true, "ws-path": true, "ws-headers": true, "xudp": true, "packet-encoding": true,
	"packet-addr": true, "global-padding": true, "authenticated-length": true, "smux": true,
}

func nodeFromClash(m map[string]any) (*fullNode, []Diagnostic, error) {
	var warns []Diagnostic
	warn := warnTo(&warns)
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectClash}, Name: str(m["name"])}}
	if err := n.readServer(m, "server", "port", "uuid"); err != nil {
		return nil, nil, err
	}
	aid, ok := intOf(m["alterid"])
	if !ok || aid < 0 || aid > 65535 {
		return nil, nil, errField("alterId", "%q is not a number; want 0", clip(str(m["alterid"])))
	}
	n.AlterID = aid
	if _, ok := m["cipher"]; !ok {
		warn("cipher", "missing (mihomo requires it); using auto")
	}
	c, ok := normaliseCipher(str(m["cipher"]))
	if !ok {
		warn("cipher", "unknown cipher %q; using auto", clip(str(m["cipher"])))
	}
	n.Cipher = c
	n.UDP = udpRelay(m["udp"])
	n.TFO = truthy(m["tfo"])
	if truthy(m["authenticated-length"]) {
		n.Experiments = "AuthenticatedLength"
	}
	if truthy(m["tls"]) {
		n.Security = "tls"
	}
	n.SNI = str(m["servername"])
	for _, a := range asList(m["alpn"]) {
		n.ALPN = append(n.ALPN, splitList(str(a))...)
	}
	n.Insecure = truthy(m["skip-cert-verify"])
	if fp := str(m["fingerprint"]); fp != "" {
		n.PCS = fp
		warn("fingerprint", "mihomo's certificate pin; read as pinnedPeerCertSha256 (Xray also checks the name on a CA match)")
	}
	n.Fingerprint = str(m["client-fingerprint"])
	if ro := asMap(m["reality-opts"]); ro != nil {
		ro = clashKeys(ro)
		n.Security = "reality"
		n.PublicKey = str(ro["public-key"])
		n.ShortID = str(ro["short-id"])
	}
	netw := strings.ToLower(str(m["network"]))
	nw, ok := clashNetworks[netw]
	if !ok {
		warn("network", "unknown network %q; read as tcp", clip(netw))
		nw = "raw"
	}
	n.Network = nw
	transportParts[nw].readClash(n, netw, m, warn)
	for k := range m {
		if !clashKnown[k] {
			warn(k, "unknown key ignored")
		}
	}
	if m["smux"] != nil {
		warn("smux", "sing-mux is not Xray mux; not carried")
	}
	sortDiags(warns)
	return n, warns, nil
}
