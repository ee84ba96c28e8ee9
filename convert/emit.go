package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"

	"github.com/xvmtools/xvm/schema/conf"
)

// Target is an output dialect for Emit.
type Target string

// Output dialects.
const (
	ToXrayJSON   Target = "xray"        // JSON array of OutboundObjects
	ToXrayConfig Target = "xray-config" // runnable client config with a socks inbound
	ToV2RayNLink Target = "v2rayn"      // vmess:// base64 JSON links, one per line
	ToURILink    Target = "uri"         // vmess://uuid@host:port?… links, one per line
	ToClashYAML  Target = "clash"       // mihomo proxies: list
	ToSingBox    Target = "sing-box"    // sing-box {"outbounds": […]}
	ToXrayYAML   Target = "yaml"        // Xray config {outbounds} in YAML
	ToXrayTOML   Target = "toml"        // Xray config {outbounds} in TOML
)

// Targets lists every output dialect, in a new slice on each call.
func Targets() []Target {
	return []Target{ToXrayJSON, ToXrayConfig, ToV2RayNLink, ToURILink, ToClashYAML, ToSingBox, ToXrayYAML, ToXrayTOML}
}

// EmitOptions tune Emit.
type EmitOptions struct {
	// NameTemplate renames nodes before writing: {name}, {server}, {port},
	// {network}, {security} and {index} (1-based) are replaced. Empty keeps
	// names.
	NameTemplate string
	// Listen and Port are the socks inbound of xray-config (default
	// 127.0.0.1:10808).
	Listen string
	Port   int
}

// Emit writes nodes in the target dialect. Names are made unique (and
// templated) first, on copies. Nodes the target cannot express are Error
// diagnostics and left out; everything else a target cannot carry is a
// Warning. The error is for an unknown target, a name template with an
// unknown placeholder, or an encoder failure.
func Emit(nodes []*Node, target Target, opts EmitOptions) ([]byte, []Diagnostic, error) {
	if err := CheckNameTemplate(opts.NameTemplate); err != nil {
		return nil, nil, err
	}
	nodes = prepareNames(nodes, opts.NameTemplate)
	var diags []Diagnostic
	switch target {
	case ToXrayJSON, ToXrayConfig, ToXrayYAML, ToXrayTOML:
		outs := emitEach(nodes, ToXray, &diags)
		var doc any = outs
		switch target {
		case ToXrayConfig:
			listen, port := opts.Listen, opts.Port
			if listen == "" {
				listen = "127.0.0.1"
			}
			if port == 0 {
				port = 10808
			}
			doc = XrayConfig(outs, listen, port)
		case ToXrayYAML, ToXrayTOML:
			doc = conf.Config{Outbounds: outs}
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, diags, err
		}
		switch target {
		case ToXrayYAML:
			b, err = jsonToYAML(b)
		case ToXrayTOML:
			b, err = jsonToTOML(b)
		default:
			b = append(b, '\n')
		}
		return b, diags, err
	case ToV2RayNLink, ToURILink:
		toLink := ToURI
		if target == ToV2RayNLink {
			toLink = ToV2RayN
		}
		var buf bytes.Buffer
		for _, s := range emitEach(nodes, toLink, &diags) {
			buf.WriteString(s)
			buf.WriteByte('\n')
		}
		return buf.Bytes(), diags, nil
	case ToClashYAML:
		proxies := emitEach(nodes, toClash, &diags)
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(struct {
			Proxies []*clashProxy `yaml:"proxies"`
		}{proxies}); err != nil {
			return nil, diags, err
		}
		return buf.Bytes(), diags, enc.Close()
	case ToSingBox:
		b, err := json.MarshalIndent(struct {
			Outbounds []*sbOutbound `json:"outbounds"`
		}{emitEach(nodes, toSingBox, &diags)}, "", "  ")
		return append(b, '\n'), diags, err
	}
	return nil, nil, fmt.Errorf("convert: unknown target %q; want one of %s", target, targetList())
}

// emitEach writes every node with one emitter, in order. Warnings go to
// *diags; a node the emitter refuses becomes an Error diagnostic there and
// is left out. The result is never nil, so that an empty list encodes as
// [] and not null.
func emitEach[T any](nodes []*Node, emit func(*Node) (T, []Diagnostic, error), diags *[]Diagnostic) []T {
	out := make([]T, 0, len(nodes))
	for _, n := range nodes {
		v, w, err := emit(n)
		*diags = append(*diags, w...)
		if err != nil {
			d := n.diag(Error, "", "%v", err)
			if nc, ok := err.(*NotConvertibleError); ok {
				d.Field, d.Message = nc.Field, fmt.Sprintf("cannot be written as %s: %s; node left out", nc.Target, nc.Reason)
			}
			*diags = append(*diags, d)
			continue
		}
		out = append(out, v)
	}
	return out
}

func targetList() string {
	ts := Targets()
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// foreignClient handles, for the mihomo and sing-box emitters, what only
// Xray's client has: it returns the node's uTLS fingerprint when the target
// knows it (and tls is set), and warns about a fingerprint it does not
// know, about Xray mux (the target's own muxName is a different protocol)
// and about finalmask, none of which are carried.
func (n *Node) foreignClient(target, muxName string, fingerprints map[string]bool, tls bool, warn func(field, format string, args ...any)) string {
	fp := ""
	if n.Fingerprint != "" && tls {
		if l := strings.ToLower(n.Fingerprint); fingerprints[l] {
			fp = l
		} else {
			warn("fp", "%s has no uTLS fingerprint %q; not carried", target, clip(n.Fingerprint))
		}
	}
	if n.Mux {
		warn("mux", "%s's %s is not Xray mux; not carried", target, muxName)
	}
	if len(n.FinalMask) > 0 {
		warn("fm", "%s has no finalmask; not carried", target)
	}
	return fp
}

// NamePlaceholders are the placeholders a name template may use.
func NamePlaceholders() []string {
	return []string{"{name}", "{server}", "{port}", "{network}", "{security}", "{index}"}
}

// CheckNameTemplate reports a placeholder in tmpl that is not one of
// NamePlaceholders (a "{word}" that would otherwise be written literally).
func CheckNameTemplate(tmpl string) error {
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return nil
		}
		rest = rest[i:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return nil
		}
		ph := rest[:j+1]
		if strings.ContainsAny(ph[1:], "{ ") {
			rest = rest[1:]
			continue
		}
		if !slices.Contains(NamePlaceholders(), ph) {
			return fmt.Errorf("convert: name template: unknown placeholder %s; want %s", clip(ph), strings.Join(NamePlaceholders(), " "))
		}
		rest = rest[j+1:]
	}
}

// prepareNames returns copies of nodes with the template applied and
// duplicate names made unique ("name", "name-2", …).
func prepareNames(nodes []*Node, tmpl string) []*Node {
	out := make([]*Node, len(nodes))
	used := make(map[string]bool, len(nodes))
	next := make(map[string]int)
	for i, n := range nodes {
		c := *n
		if tmpl != "" {
			c.Name = strings.NewReplacer(
				"{name}", n.Name, "{server}", n.Server, "{port}", strconv.Itoa(n.Port),
				"{network}", n.network(), "{security}", orNone(n.Security), "{index}", strconv.Itoa(i+1),
			).Replace(tmpl)
		}
		if c.Name == "" {
			c.Name = joinHostPort(c.Server, c.Port)
		}
		if used[c.Name] {
			base := c.Name
			k := max(next[base], 2)
			for used[fmt.Sprintf("%s-%d", base, k)] {
				k++
			}
			next[base] = k + 1
			c.Name = fmt.Sprintf("%s-%d", base, k)
		}
		used[c.Name] = true
		out[i] = &c
	}
	return out
}

// jsonToYAML re-encodes JSON as block-style YAML, keeping key order.
func jsonToYAML(b []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, err
	}
	clearStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func clearStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
		n.Style = 0
		if n.Tag == "!!str" {
			// Keep strings that would read as another type quoted.
			var v any
			if err := yaml.Unmarshal([]byte(n.Value), &v); err != nil || fmt.Sprint(v) != n.Value || strings.ContainsAny(n.Value, ":#{}[],&*!|>'\"%@`") || n.Value == "" {
				n.Style = yaml.DoubleQuotedStyle
			} else if _, ok := v.(string); !ok {
				n.Style = yaml.DoubleQuotedStyle
			}
		}
	}
	for _, c := range n.Content {
		clearStyle(c)
	}
}

// jsonToTOML re-encodes JSON as TOML with integers kept integers.
func jsonToTOML(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return toml.Marshal(fixNumbers(v))
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			x[k] = fixNumbers(c)
		}
	case []any:
		for i, c := range x {
			x[i] = fixNumbers(c)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
