package convert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/xvmtools/xvm/schema/conf"
)

// OutputFormat is an output dialect for Emit.
type OutputFormat string

// Output dialects.
const (
	ToXrayJSON   OutputFormat = "xray"        // JSON array of OutboundObjects
	ToXrayConfig OutputFormat = "xray-config" // runnable client config with a socks inbound
	ToV2RayNLink OutputFormat = "v2rayn"      // vmess:// base64 JSON links, one per line
	ToURILink    OutputFormat = "uri"         // vmess://uuid@host:port?… links, one per line
	ToClashYAML  OutputFormat = "clash"       // mihomo proxies: list
	ToSingBox    OutputFormat = "sing-box"    // sing-box {"outbounds": […]}
	ToXrayYAML   OutputFormat = "yaml"        // Xray config {outbounds} in YAML
	ToXrayTOML   OutputFormat = "toml"        // Xray config {outbounds} in TOML
)

// OutputFormats lists every output dialect, in a new slice on each call.
func OutputFormats() []OutputFormat {
	return []OutputFormat{ToXrayJSON, ToXrayConfig, ToV2RayNLink, ToURILink, ToClashYAML, ToSingBox, ToXrayYAML, ToXrayTOML}
}

// EmitOptions tune Emit.
type EmitOptions struct {
	// NameTemplate renames nodes before writing: {name}, {server}, {port},
	// {network}, {security} and {index} (1-based) are replaced. Empty keeps
	// names.
	NameTemplate string
	// ExtraPlaceholders are placeholders of the caller's own (written with
	// braces, such as probe's "{latency}"), and ExtraValue gives node i's
	// (0-based, in the order given) value for one of them.
	ExtraPlaceholders []string
	ExtraValue        func(i int, placeholder string) string
	// Listen and Port are the socks inbound of xray-config (default
	// 127.0.0.1:10808).
	Listen string
	Port   int
	// AllOrNothing writes nothing unless every node can be written: each
	// node is converted (not encoded) once to find refusals before the
	// first byte goes out, then converted again and written.
	AllOrNothing bool
}

// Emit writes nodes in the target dialect and returns the output; it is
// EmitTo into a buffer.
func Emit(nodes []*Node, target OutputFormat, opts EmitOptions) ([]byte, []Diagnostic, error) {
	var buf bytes.Buffer
	diags, err := EmitTo(&buf, nodes, target, opts)
	if err != nil {
		return nil, diags, err
	}
	return buf.Bytes(), diags, nil
}

// EmitTo writes nodes in the target dialect to w. Names are made unique
// (and templated) first, on copies. Nodes the target cannot express are
// Error diagnostics and left out; everything else a target cannot carry
// is a Warning. When no node can be written, nothing is written to w (not
// even an empty list); with opts.AllOrNothing, nothing is written unless
// every node can be. Every target is written one node at a
// time, so memory stays proportional to one node, not to the output. The
// error is for an unknown target, a name template with an unknown
// placeholder, or a write or encoder failure.
func EmitTo(w io.Writer, nodes []*Node, target OutputFormat, opts EmitOptions) ([]Diagnostic, error) {
	if err := CheckNameTemplate(opts.NameTemplate, opts.ExtraPlaceholders...); err != nil {
		return nil, err
	}
	if !slices.Contains(OutputFormats(), target) {
		return nil, fmt.Errorf("convert: unknown target %q; want one of %s", target, targetList())
	}
	list := nodeList{nodes: nodes, names: uniqueNames(nodes, opts)}
	if opts.AllOrNothing {
		if diags := checkAll(list, target); hasErrors(diags) {
			return diags, nil
		}
	}
	// The head of a list (a "[", "proxies:") is held until a node has
	// been written, so that a run where none can be writes nothing.
	hw := &holdWriter{w: w}
	list.wrote = hw.release
	bw := bufio.NewWriter(hw)
	var diags []Diagnostic
	var err error
	switch target {
	case ToXrayJSON:
		err = writeJSONList(bw, "[", "]", 1, list, (*fullNode).toXray, &diags)
	case ToXrayConfig:
		err = writeXrayConfig(bw, list, opts, &diags)
	case ToXrayYAML:
		err = writeYAMLList(bw, "outbounds", list, (*fullNode).toXray, &diags)
	case ToClashYAML:
		err = writeYAMLList(bw, "proxies", list, toClash, &diags)
	case ToSingBox:
		err = writeJSONList(bw, "{\n  \"outbounds\": [", "]\n}", 2, list, toSingBox, &diags)
	case ToXrayTOML:
		err = writeTOMLList(bw, list, &diags)
	case ToV2RayNLink, ToURILink:
		toLink := (*fullNode).toURI
		if target == ToV2RayNLink {
			toLink = (*fullNode).toV2RayN
		}
		err = eachNode(list, toLink, &diags, func(s string) error {
			bw.WriteString(s)
			return bw.WriteByte('\n')
		})
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = hw.flush()
	}
	return diags, err
}

// checkAll converts every node for target without encoding it: the
// diagnostics writing would give, with nothing written.
func checkAll(list nodeList, target OutputFormat) []Diagnostic {
	var diags []Diagnostic
	switch target {
	case ToClashYAML:
		emitEach(list, toClash, &diags)
	case ToSingBox:
		emitEach(list, toSingBox, &diags)
	case ToV2RayNLink:
		emitEach(list, (*fullNode).toV2RayN, &diags)
	case ToURILink:
		emitEach(list, (*fullNode).toURI, &diags)
	default: // the Xray targets
		emitEach(list, (*fullNode).toXray, &diags)
	}
	return diags
}

func hasErrors(diags []Diagnostic) bool {
	return slices.ContainsFunc(diags, func(d Diagnostic) bool { return d.Severity == Error })
}

// holdWriter passes writes to w once release has been called and holds
// them until then; what it holds when the writing ends is dropped. Only a
// list's head is written before the first node, so it holds a few bytes.
type holdWriter struct {
	w        io.Writer
	held     []byte
	released bool
}

func (h *holdWriter) release() { h.released = true }

func (h *holdWriter) Write(p []byte) (int, error) {
	if !h.released {
		h.held = append(h.held, p...)
		return len(p), nil
	}
	if err := h.flush(); err != nil {
		return 0, err
	}
	return h.w.Write(p)
}

// flush writes what is held, once released.
func (h *holdWriter) flush() error {
	if !h.released || len(h.held) == 0 {
		return nil
	}
	_, err := h.w.Write(h.held)
	h.held = nil
	return err
}

// writeJSONList writes the nodes as the elements of a JSON array, indented
// as json.MarshalIndent indents a whole document whose array elements sit
// depth levels in: open ends with the array's "[", close starts with its
// "]".
func writeJSONList[T any](w *bufio.Writer, open, close string, depth int, list nodeList, emit func(*fullNode) (T, []Diagnostic, error), diags *[]Diagnostic) error {
	prefix := strings.Repeat("  ", depth-1)
	w.WriteString(open)
	n := 0
	err := eachNode(list, emit, diags, func(v T) error {
		b, err := json.MarshalIndent(v, prefix+"  ", "  ")
		if err != nil {
			return err
		}
		if n > 0 {
			w.WriteByte(',')
		}
		n++
		w.WriteString("\n" + prefix + "  ")
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		w.WriteString("\n" + prefix)
	}
	w.WriteString(close)
	return w.WriteByte('\n')
}

// writeXrayConfig writes a runnable client config: the log and socks
// inbound of XrayConfig, then the outbounds one by one.
func writeXrayConfig(w *bufio.Writer, list nodeList, opts EmitOptions, diags *[]Diagnostic) error {
	listen, port := opts.Listen, opts.Port
	if listen == "" {
		listen = "127.0.0.1"
	}
	if port == 0 {
		port = 10808
	}
	head, err := json.MarshalIndent(XrayConfig([]conf.Outbound{}, listen, port), "", "  ")
	if err != nil {
		return err
	}
	// head ends with `"outbounds": []` and the closing brace: the list is
	// written in its place.
	open := bytes.LastIndex(head, []byte(`"outbounds": []`))
	if open < 0 {
		return errors.New("convert: internal error: no outbounds in the config head")
	}
	return writeJSONList(w, string(head[:open])+`"outbounds": [`, "]\n}", 2, list, (*fullNode).toXray, diags)
}

// writeYAMLList writes a YAML mapping with one key holding the nodes as a
// block sequence, one node at a time.
func writeYAMLList[T any](w *bufio.Writer, key string, list nodeList, emit func(*fullNode) (T, []Diagnostic, error), diags *[]Diagnostic) error {
	y := &yamlWriter{w: w}
	n := 0
	w.WriteString(key + ":")
	err := eachNode(list, emit, diags, func(v T) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if n == 0 {
			w.WriteByte('\n')
		}
		n++
		return y.seqItem(b, 2)
	})
	if err != nil {
		return err
	}
	if n == 0 {
		w.WriteString(" []\n")
	}
	return nil
}

// writeTOMLList writes an Xray config {outbounds} in TOML one node at a
// time. A TOML array of tables is its elements' [[outbounds]] tables one
// after another, and the document of one outbound is the text the whole
// document holds for it; go-toml puts a blank line before a table header
// unless the line before is itself a header (an empty table), so one goes
// between two outbounds unless the first ends with a header.
func writeTOMLList(w *bufio.Writer, list nodeList, diags *[]Diagnostic) error {
	first, afterHeader := true, false
	return eachNode(list, (*fullNode).toXray, diags, func(o conf.Outbound) error {
		b, err := json.Marshal(conf.Config{Outbounds: []conf.Outbound{o}})
		if err == nil {
			b, err = jsonToTOML(b)
		}
		if err != nil {
			return err
		}
		if !first && !afterHeader {
			w.WriteByte('\n')
		}
		first = false
		last := bytes.TrimSuffix(b, []byte("\n"))
		last = last[bytes.LastIndexByte(last, '\n')+1:]
		afterHeader = bytes.HasPrefix(last, []byte("[")) // a key never starts with "["
		_, err = w.Write(b)
		return err
	})
}

// nodeList is the nodes to write and the names to write them under;
// wrote, when set, is called after each node handed on.
type nodeList struct {
	nodes []*Node
	names []string
	wrote func()
}

// eachNode writes every node with one emitter, in order, handing each
// result to put. Each node is written from a copy carrying its unique
// name. Warnings go to *diags; a node the emitter refuses becomes an Error
// diagnostic there and is left out.
func eachNode[T any](list nodeList, emit func(*fullNode) (T, []Diagnostic, error), diags *[]Diagnostic, put func(T) error) error {
	for i, n := range list.nodes {
		c := n.full()
		c.Name = list.names[i]
		v, w, err := emit(c)
		*diags = append(*diags, w...)
		if err != nil {
			*diags = append(*diags, refused(c, err))
			continue
		}
		if err := put(v); err != nil {
			return err
		}
		if list.wrote != nil {
			list.wrote()
		}
	}
	return nil
}

// refused is the Error diagnostic for a node an emitter cannot write.
func refused(n *fullNode, err error) Diagnostic {
	d := n.diag(Error, "", "%v", err)
	var nc *NotConvertibleError
	if errors.As(err, &nc) {
		d.Field, d.Message = nc.Field, fmt.Sprintf("cannot be written as %s: %s; node left out", nc.Target, nc.Reason)
	}
	return d
}

// emitEach writes every node with one emitter, in order. Warnings go to
// *diags; a node the emitter refuses becomes an Error diagnostic there and
// is left out. The result is never nil, so that an empty list encodes as
// [] and not null.
func emitEach[T any](list nodeList, emit func(*fullNode) (T, []Diagnostic, error), diags *[]Diagnostic) []T {
	out := make([]T, 0, len(list.nodes))
	_ = eachNode(list, emit, diags, func(v T) error {
		out = append(out, v)
		return nil
	})
	return out
}

func targetList() string {
	ts := OutputFormats()
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
func (n *fullNode) foreignClient(target, muxName string, fingerprints map[string]bool, tls bool, warn func(field, format string, args ...any)) string {
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

// PlaceholderError is a name template's placeholder that is not one of
// NamePlaceholders (or the caller's extra ones).
type PlaceholderError struct {
	Placeholder string // as written, such as "{foo}" (cut at 40 bytes)
	// Known are the placeholders the template may use.
	Known []string
}

func (e *PlaceholderError) Error() string {
	return fmt.Sprintf("convert: name template: unknown placeholder %s; want %s", e.Placeholder, strings.Join(e.Known, " "))
}

// CheckNameTemplate reports, as a *PlaceholderError, a placeholder in tmpl
// that is not one of NamePlaceholders or extra (a "{word}" that would
// otherwise be written literally).
func CheckNameTemplate(tmpl string, extra ...string) error {
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
		if known := append(NamePlaceholders(), extra...); !slices.Contains(known, ph) {
			return &PlaceholderError{Placeholder: clip(ph), Known: known}
		}
		rest = rest[j+1:]
	}
}

// uniqueNames returns the names the nodes are written under: the template
// applied, and duplicates made unique ("name", "name-2", …). The nodes are
// not changed; each is copied with its new name only while it is written,
// so that the whole list is never held twice.
func uniqueNames(nodes []*Node, opts EmitOptions) []string {
	tmpl := opts.NameTemplate
	out := make([]string, len(nodes))
	used := make(map[string]bool, len(nodes))
	next := make(map[string]int)
	for i, n := range nodes {
		c := Node{Name: n.Name, Server: n.Server, Port: n.Port}
		if tmpl != "" {
			pairs := []string{
				"{name}", n.Name, "{server}", n.Server, "{port}", strconv.Itoa(n.Port),
				"{network}", n.network(), "{security}", orNone(n.Security), "{index}", strconv.Itoa(i + 1),
			}
			if opts.ExtraValue != nil {
				for _, ph := range opts.ExtraPlaceholders {
					pairs = append(pairs, ph, opts.ExtraValue(i, ph))
				}
			}
			c.Name = strings.NewReplacer(pairs...).Replace(tmpl)
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
		out[i] = c.Name
	}
	return out
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
