package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// InputFormat is an input dialect family for Parse.
type InputFormat string

// Input formats. FormatAuto detects the format from the content.
const (
	FormatAuto    InputFormat = ""
	FormatLinks   InputFormat = "links"    // share links, client lines, subscriptions (base64 or plain)
	FormatClash   InputFormat = "clash"    // Clash / mihomo YAML
	FormatSingBox InputFormat = "sing-box" // sing-box JSON
	FormatXray    InputFormat = "xray"     // Xray JSON, YAML or TOML
)

// DefaultMaxInputBytes is the input size cap when Options.MaxInputBytes is 0.
const DefaultMaxInputBytes = 64 << 20

// Options tune Parse.
type Options struct {
	// From forces an input format; FormatAuto detects it.
	From InputFormat
	// MaxInputBytes caps the input size; 0 means DefaultMaxInputBytes.
	MaxInputBytes int64
}

// Result is what Parse read: the nodes in input order and the diagnostics
// about entries that failed (Error), were changed (Warning) or skipped
// (Info).
type Result struct {
	Nodes       []*Node
	Diagnostics []Diagnostic
	// Suppressed counts diagnostics left out after MaxDiagnostics, and
	// SuppressedErrors how many of those were errors.
	Suppressed, SuppressedErrors int
}

// MaxDiagnostics bounds the diagnostics one Parse keeps, so that a hostile
// input of millions of bad lines cannot exhaust memory; the rest are
// counted in Result.Suppressed.
const MaxDiagnostics = 1000

// Errors reports how many entries failed, including suppressed ones.
func (r *Result) Errors() int {
	c := r.SuppressedErrors
	for _, d := range r.Diagnostics {
		if d.Severity == Error {
			c++
		}
	}
	return c
}

// Parse reads any supported input — one link, a list of links or client
// lines, a base64 subscription, Clash YAML, sing-box JSON, or an Xray
// config (JSON with comments, YAML, TOML; a whole config, one outbound or a
// list) — into nodes. name labels the input in diagnostics. A bad entry in
// a list is an Error diagnostic and the rest are still read; Parse returns
// an error only when the input as a whole cannot be read (too large, not
// any known format, a document that does not parse).
func Parse(ctx context.Context, name string, data []byte, opts Options) (Result, error) {
	max := opts.MaxInputBytes
	if max <= 0 {
		max = DefaultMaxInputBytes
	}
	if int64(len(data)) > max {
		return Result{}, &InputError{Input: name, Reason: fmt.Sprintf("input is %d bytes, over the %d-byte limit; split it or raise the limit", len(data), max)}
	}
	p := &parser{ctx: ctx, name: name}
	data = bytes.TrimPrefix(data, utf8BOM)
	from := opts.From
	if from == FormatAuto {
		from = detect(data)
	}
	var err error
	switch from {
	case FormatLinks:
		err = p.links(string(data), 0, true)
	case FormatClash:
		err = p.clash(data)
	case FormatSingBox:
		err = p.singBox(data)
	case FormatXray:
		err = p.xray(data)
	default:
		return Result{}, &InputError{Input: name, Reason: fmt.Sprintf("unknown input format %q; want links, clash, sing-box or xray", from)}
	}
	if err != nil {
		return Result{}, err
	}
	if p.res.Suppressed > 0 {
		p.res.Diagnostics = append(p.res.Diagnostics, Diagnostic{Severity: Info, Input: name,
			Message: fmt.Sprintf("%d more diagnostics (%d errors) not shown", p.res.Suppressed, p.res.SuppressedErrors)})
	}
	return p.res, nil
}

// InputError is an input Parse cannot read as a whole: too large, of no
// known format, a document that does not parse. Its message names the
// input (and the line, when one decides) after "convert: "; a caller that
// words it as its own takes the fields.
type InputError struct {
	// Input is the name Parse was given; Line is 1-based, 0 when no one
	// line decides.
	Input  string
	Line   int
	Reason string
}

// Error is "convert: NAME: reason", or "convert: NAME:LINE: reason".
func (e *InputError) Error() string {
	return "convert: " + e.Where() + ": " + e.Reason
}

// Where is the input's name, with the line when one decides.
func (e *InputError) Where() string {
	if e.Line > 0 {
		return e.Input + ":" + strconv.Itoa(e.Line)
	}
	return e.Input
}

// inputError is an *InputError about p's input.
func (p *parser) inputError(line int, format string, args ...any) error {
	return &InputError{Input: p.name, Line: line, Reason: fmt.Sprintf(format, args...)}
}

type parser struct {
	ctx  context.Context
	name string
	res  Result
	det  detacher
}

func (p *parser) add(n *fullNode, line int, warns []Diagnostic) {
	n.Origin.Input, n.Origin.Line = p.name, line
	n.fixDefaults()
	for _, w := range warns {
		w.Input, w.Line, w.Server = p.name, line, n.label()
		p.keep(w)
	}
	kept := n.compact()
	p.det.node(kept)
	p.res.Nodes = append(p.res.Nodes, kept)
}

// entry records the outcome of reading one entry of a document or one
// line of a link list: the node (validated), or the error; path (such as
// "outbounds[2]"; empty for none) prefixes the fields of its diagnostics.
func (p *parser) entry(path string, line int, n *fullNode, warns []Diagnostic, err error) {
	if err == nil {
		err = n.validate()
	}
	if err != nil {
		var fe *fieldError
		if path != "" && errors.As(err, &fe) {
			fe.Field = path + "." + fe.Field
		}
		p.report(Error, line, err)
		return
	}
	if path != "" {
		for i := range warns {
			warns[i].Field = path + "." + warns[i].Field
		}
	}
	p.add(n, line, warns)
}

func (p *parser) keep(d Diagnostic) {
	if len(p.res.Diagnostics) >= MaxDiagnostics {
		p.res.Suppressed++
		if d.Severity == Error {
			p.res.SuppressedErrors++
		}
		return
	}
	p.det.diagnostic(&d)
	p.res.Diagnostics = append(p.res.Diagnostics, d)
}

func (p *parser) report(sev Severity, line int, err error) {
	d := Diagnostic{Severity: sev, Input: p.name, Line: line, Message: err.Error()}
	var fe *fieldError
	if errors.As(err, &fe) {
		d.Field, d.Message = fe.Field, fe.Message
	}
	p.keep(d)
}

// detect guesses the input format from its first significant bytes.
func detect(data []byte) InputFormat {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return FormatLinks
	}
	if bytes.HasPrefix(t, []byte("//")) || bytes.HasPrefix(t, []byte("/*")) {
		t = bytes.TrimSpace(stripJSONComments(t))
		if len(t) == 0 {
			return FormatLinks
		}
	}
	if isTOMLHeader(t) {
		if isProfile(t) {
			return FormatLinks // a Surge / Loon / Quantumult X profile
		}
		return FormatXray
	}
	if t[0] == '{' || t[0] == '[' {
		if looksSingBox(t) {
			return FormatSingBox
		}
		return FormatXray
	}
	for _, line := range bytes.Split(t[:min(len(t), 1<<16)], []byte("\n")) {
		l := strings.TrimSpace(string(line))
		switch {
		case strings.HasPrefix(l, "proxies:"):
			return FormatClash
		case strings.HasPrefix(l, "outbounds:") || strings.HasPrefix(l, "- protocol:") || strings.HasPrefix(l, "protocol:"):
			return FormatXray
		case strings.HasPrefix(l, "[[outbounds"), strings.HasPrefix(l, "[outbounds"), strings.HasPrefix(l, "protocol ="):
			return FormatXray
		}
	}
	return FormatLinks
}

// isProfile tells a sectioned client profile (Surge, Loon, Quantumult X:
// "[Proxy]" sections holding "Name = vmess, …" lines) from TOML.
func isProfile(t []byte) bool {
	for _, line := range bytes.Split(t[:min(len(t), 1<<20)], []byte("\n")) {
		if isClientLine(strings.TrimSpace(string(line))) {
			return true
		}
	}
	return false
}

// proxyLine matches a client-profile proxy line "Name = type, …".
var proxyLine = regexp.MustCompile(`^[^=,]+=\s*([A-Za-z0-9-]+)\s*,`)

// schemeLine matches a line that starts with a URL scheme.
var schemeLine = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// tomlHeader matches a TOML table header such as [[outbounds]] at the
// start of a document.
var tomlHeader = regexp.MustCompile(`^\[\[?\s*[A-Za-z0-9_"'.-]+\s*\]\]?\s*(\n|\r|$)`)

func isTOMLHeader(t []byte) bool {
	return tomlHeader.Match(t[:min(len(t), 256)])
}

// looksSingBox tells sing-box JSON ("type":"vmess", "server") from Xray
// JSON ("protocol", "vnext").
func looksSingBox(t []byte) bool {
	// Both sing-box and Xray match JSON keys to fields without regard to
	// case (encoding/json), so the keys are looked for the same way.
	t = bytes.ToLower(t)
	if bytes.Contains(t, []byte(`"server_port"`)) {
		return true
	}
	for _, xray := range []string{`"protocol"`, `"vnext"`, `"add"`, `"streamsettings"`} {
		if bytes.Contains(t, []byte(xray)) {
			return false
		}
	}
	return bytes.Contains(t, []byte(`"type"`))
}

// links reads a list of links and client lines; when it holds none and
// mayDecode is set, the whole text is tried as a base64 subscription.
func (p *parser) links(text string, lineBase int, mayDecode bool) error {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return p.inputError(0, "empty input; want share links, a subscription or a config")
	}
	if mayDecode && !strings.Contains(trimmed, "://") && !hasClientLine(trimmed) {
		if dec, err := decodeBase64Lenient(trimmed); err == nil {
			dec = bytes.TrimPrefix(dec, utf8BOM)
			inner := string(dec)
			if strings.Contains(inner, "://") || hasClientLine(inner) {
				return p.links(inner, 0, false)
			}
		}
		if strings.HasPrefix(trimmed, "{") {
			return p.xray([]byte(trimmed))
		}
		return p.inputError(0, "not share links, a base64 subscription or a config; want vmess:// links, one per line")
	}
	line := lineBase
	profile, section := false, ""
	for n := 0; len(text) > 0; n++ {
		var l string
		l, text = cutLine(text)
		line++
		if n%256 == 255 {
			if err := p.ctx.Err(); err != nil {
				return err
			}
		}
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "//") || strings.HasPrefix(l, ";") {
			continue
		}
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") && !strings.Contains(l, "://") {
			profile, section = true, strings.ToLower(l) // a section header of a client profile
			continue
		}
		if profile && !isClientLine(l) && !schemeLine.MatchString(l) {
			// Other settings and other proxies of a Surge/Loon/QX profile.
			if m := proxyLine.FindStringSubmatch(l); m != nil && (section == "[proxy]" || section == "[server_local]") {
				p.report(Info, line, fmt.Errorf("%s proxy is not VMess; skipped", clip(m[1])))
			} else if quantumultXOther(l) {
				k, _, _ := strings.Cut(l, "=")
				p.report(Info, line, fmt.Errorf("%s proxy is not VMess; skipped", clip(k)))
			}
			continue
		}
		if hasPrefixFold(l, "STATUS=") || hasPrefixFold(l, "REMARKS=") {
			p.report(Info, line, errors.New("informational line skipped"))
			continue
		}
		if isSeparatorLine(l) {
			p.report(Info, line, errors.New("separator line skipped"))
			continue
		}
		first := line
		if wrappedV2RayN(l, text) {
			var more int
			l, text, more = joinWrapped(l, text)
			line += more
		}
		parts := splitGlued(l)
		if len(parts) > 1 {
			p.report(Warning, first, errField("link", "%d links run together on one line; each is read on its own", len(parts)))
		}
		for _, part := range parts {
			p.link(part, first)
		}
	}
	return nil
}

// isSeparatorLine reports a line drawn between groups of links ("---",
// "=====", "* * *"): three or more rule characters and nothing else but
// spaces. It holds no entry, so it is skipped rather than refused.
func isSeparatorLine(l string) bool {
	rules := 0
	for _, c := range l {
		switch c {
		case '-', '=', '*', '_', '~':
			rules++
		case ' ', '\t':
		default:
			return false
		}
	}
	return rules >= 3
}

// quantumultXOther reports a Quantumult X server line of a protocol other
// than VMess (its [server_local] types).
func quantumultXOther(l string) bool {
	for _, p := range []string{"shadowsocks=", "trojan=", "vless=", "http=", "socks5="} {
		if hasPrefixFold(l, p) {
			return true
		}
	}
	return false
}

// link reads one link or client line of a list: a node, an error, or a
// note for another protocol's link.
func (p *parser) link(l string, line int) {
	n, warns, err := parseLink(l)
	var fe *fieldError
	if errors.As(err, &fe) && fe.Field == "scheme" {
		scheme, _, _ := strings.Cut(l, "://")
		p.report(Info, line, fmt.Errorf("%s:// is not VMess; skipped", clip(scheme)))
		return
	}
	p.entry("", line, n, warns, err)
}

// cutLine returns the first line of text (without its newline) and the
// rest.
func cutLine(text string) (string, string) {
	l, rest, _ := strings.Cut(text, "\n")
	return l, rest
}

// hasClientLine reports whether any line of s is a Quantumult X, Surge or
// Loon vmess line. Such files hold no "://" at all and may open with
// comments or a [Proxy] section header, so every line is looked at.
func hasClientLine(s string) bool {
	for len(s) > 0 {
		var l string
		l, s, _ = strings.Cut(s, "\n")
		if isClientLine(strings.TrimSpace(l)) {
			return true
		}
	}
	return false
}

// jsonValue decodes JSON (with Xray-style comments removed) keeping
// numbers as json.Number.
func jsonValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(stripJSONComments(data)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// stripJSONComments removes //, # and /* */ comments outside strings,
// keeping newlines, the way Xray's loader does.
func stripJSONComments(b []byte) []byte {
	if !bytes.ContainsAny(b, "/#") {
		return b
	}
	out := make([]byte, 0, len(b))
	var quote byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		if quote != 0 {
			out = append(out, c)
			if c == '\\' && i+1 < len(b) {
				i++
				out = append(out, b[i])
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch {
		case c == '"' || c == '\'':
			quote = c
			out = append(out, c)
		case c == '#' || (c == '/' && i+1 < len(b) && b[i+1] == '/'):
			for i < len(b) && b[i] != '\n' {
				i++
			}
			if i < len(b) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			i += 2
			for i < len(b) && !(b[i] == '*' && i+1 < len(b) && b[i+1] == '/') {
				if b[i] == '\n' {
					out = append(out, '\n')
				}
				i++
			}
			i++
		default:
			out = append(out, c)
		}
	}
	return out
}
