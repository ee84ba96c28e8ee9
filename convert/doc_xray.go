package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/schema/conf"
)

// xray reads an Xray config in JSON (with comments), YAML or TOML: a whole
// config with outbounds, a list of outbounds, one outbound, or a bare VMess
// settings object.
func (p *parser) xray(data []byte) error {
	v, format, err := xrayValue(data)
	if err != nil {
		return p.inputError(0, "%v", err)
	}
	if x, ok := v.(map[string]any); ok {
		// Xray decodes with encoding/json, which matches keys without
		// regard to case: "Outbounds" and "Vnext" load.
		x = canonKeys(x, "outbounds", "outbound", "outboundDetour", "vnext", "address", "id")
		v = x
	}
	if x, ok := v.(map[string]any); ok && x["outbounds"] == nil {
		switch {
		case x["vnext"] != nil || (x["address"] != nil && x["id"] != nil):
			v = []any{map[string]any{"protocol": "vmess", "settings": x}}
		case x["add"] != nil:
			// A plain v2rayN JSON object.
			n, warns, err := nodeFromV2RayNJSON(lowerKeys(x), "")
			p.entry("", 0, n, warns, err)
			return nil
		}
	}
	each := func(field string, line int, m map[string]any) {
		if proto := str(getFold(m, "protocol")); !strings.EqualFold(proto, "vmess") {
			p.report(Info, line, errField(field, "protocol %q is not vmess; skipped", clip(proto)))
			return
		}
		raw, err := json.Marshal(m)
		if err != nil {
			p.report(Error, line, errField(field, "cannot be re-encoded: %v", err))
			return
		}
		var o conf.Outbound
		if err := json.Unmarshal(raw, &o); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				p.report(Error, line, errField(field+"."+te.Field, "is a JSON %s; want %s", te.Value, jsonTypeName(te.Type.Kind())))
			} else {
				p.report(Error, line, errField(field, "does not have Xray's shape: %v", err))
			}
			return
		}
		p.outbound(field, line, &o)
	}
	if list, ok := v.([]any); ok && slices.ContainsFunc(list, isWholeConfig) {
		p.configList(data, format, list, each)
		return nil
	}
	if x, ok := v.(map[string]any); ok && x["outbounds"] == nil && (x["outbound"] != nil || x["outboundDetour"] != nil) {
		p.legacyOutbounds(data, format, x, each)
		return nil
	}
	items, prefix, ok := outboundItems(v)
	if !ok {
		return p.inputError(0, "want an Xray config, an outbound or a list of outbounds")
	}
	p.eachOutbound(data, format, items, prefix, each)
	return nil
}

// isWholeConfig reports a list element that is a whole Xray config (it
// has outbounds) rather than one outbound.
func isWholeConfig(v any) bool {
	m := asMap(v)
	return m != nil && getFold(m, "outbounds") != nil
}

// localProtocols are outbounds that route inside the client (out
// directly, drop, answer DNS, loop back): a config's plumbing, not a
// server.
var localProtocols = map[string]bool{"freedom": true, "blackhole": true, "dns": true, "loopback": true}

// configList reads a list of whole Xray configs, one per server: the JSON
// subscription Marzban and Remnawave serve to v2rayN 6.40 and later
// (Marzban's V2rayJsonConfig: the template's inbounds, dns and routing
// around a "proxy" outbound, with a "remarks" name). v2rayN imports each
// element as a config named by its remarks (ServiceLib/Handler/Fmt/
// V2rayFmt.cs, ResolveFull); here each element's vmess outbounds become
// nodes named by its remarks — the remarks alone for the one vmess
// outbound an element holds, "remarks (tag)" when it holds several — or
// by their tags when it has none. Other proxies are skipped with a line
// each, as in one config; the local outbounds (freedom, blackhole, dns,
// loopback), which every element repeats, with one line for all. An
// element that is an outbound rather than a config is read as one.
func (p *parser) configList(data []byte, f schema.Format, list []any, each func(field string, line int, m map[string]any)) {
	var root *schema.Node
	if doc, err := schema.LoadFormat(p.name, f, data); err == nil && doc.Root != nil && doc.Root.Kind == schema.Array {
		root = doc.Root
	}
	// lineOf is the line of list[i], or of list[i].outbounds[j] when j >= 0.
	lineOf := func(i, j int) int {
		if root == nil || i >= len(root.Items) {
			return 0
		}
		n := root.Items[i]
		if j >= 0 {
			n = n.Get("outbounds")
			if n == nil || n.Kind != schema.Array || j >= len(n.Items) {
				return 0
			}
			n = n.Items[j]
		}
		return int(n.Pos.Line)
	}
	configs, local := 0, map[string]int{}
	for i, it := range list {
		field := fmt.Sprintf("[%d]", i)
		m := asMap(it)
		if m == nil {
			p.report(Error, lineOf(i, -1), errField(field, "is not an object; want an Xray config"))
			continue
		}
		if !isWholeConfig(m) {
			each(field, lineOf(i, -1), m)
			continue
		}
		configs++
		remarks := strings.TrimSpace(str(getFold(m, "remarks")))
		outs := asList(getFold(m, "outbounds"))
		vmess := 0
		for _, o := range outs {
			if om := asMap(o); om != nil && strings.EqualFold(str(getFold(om, "protocol")), "vmess") {
				vmess++
			}
		}
		for j, o := range outs {
			of := fmt.Sprintf("%s.outbounds[%d]", field, j)
			om := asMap(o)
			if om == nil {
				p.report(Error, lineOf(i, j), errField(of, "is not an object; want an outbound"))
				continue
			}
			proto := strings.ToLower(str(getFold(om, "protocol")))
			if localProtocols[proto] {
				local[proto]++
				continue
			}
			if proto == "vmess" && remarks != "" {
				om = canonKeys(om, "tag")
				name := remarks
				if tag := str(om["tag"]); vmess > 1 && tag != "" {
					name = fmt.Sprintf("%s (%s)", remarks, tag)
				}
				named := make(map[string]any, len(om))
				for k, v := range om {
					named[k] = v
				}
				named["tag"] = name
				om = named
			}
			each(of, lineOf(i, j), om)
		}
	}
	if len(local) > 0 {
		kinds := make([]string, 0, len(local))
		total := 0
		for _, proto := range []string{"freedom", "blackhole", "dns", "loopback"} {
			if local[proto] > 0 {
				kinds = append(kinds, proto)
				total += local[proto]
			}
		}
		p.report(Info, 0, fmt.Errorf("a list of %d whole Xray configs (v2rayN's JSON subscription): %d %s outbounds, their local routing, skipped", configs, total, joinAnd(kinds)))
	}
}

// legacyOutbounds reads a config from before V2Ray v4, which holds its
// main outbound under "outbound" and the others under "outboundDetour".
// Xray reads only "outbounds", so Xray itself would see no outbound here;
// the outbounds are read all the same, with a warning that says so.
func (p *parser) legacyOutbounds(data []byte, f schema.Format, x map[string]any, fn func(field string, line int, m map[string]any)) {
	var main, detours *schema.Node
	if doc, err := schema.LoadFormat(p.name, f, data); err == nil && doc.Root != nil && doc.Root.Kind == schema.Object {
		main, detours = doc.Root.Get("outbound"), doc.Root.Get("outboundDetour")
	}
	lineOf := func(n *schema.Node) int {
		if n == nil {
			return 0
		}
		return int(n.Pos.Line)
	}
	field := "outbound"
	if x["outbound"] == nil {
		field = "outboundDetour"
	}
	p.report(Warning, lineOf(main), errField(field,
		`"outbound" and "outboundDetour" are V2Ray's keys from before v4; Xray reads only "outbounds" and would see no outbound in this config; read here as its outbounds (write them under "outbounds" for Xray)`))
	if o := x["outbound"]; o != nil {
		if m := asMap(o); m != nil {
			fn("outbound", lineOf(main), m)
		} else {
			p.report(Error, lineOf(main), errField("outbound", "is not an object; want an outbound"))
		}
	}
	for i, it := range asList(x["outboundDetour"]) {
		f := fmt.Sprintf("outboundDetour[%d]", i)
		line := 0
		if detours != nil && detours.Kind == schema.Array && i < len(detours.Items) {
			line = int(detours.Items[i].Pos.Line)
		}
		if m := asMap(it); m != nil {
			fn(f, line, m)
		} else {
			p.report(Error, line, errField(f, "is not an object; want an outbound"))
		}
	}
}

// outbound reads one Xray outbound. A vnext with several servers or users
// (the seed manual's shape) gives one node per server × user, with a
// warning that current Xray needs one outbound for each.
func (p *parser) outbound(field string, line int, o *conf.Outbound) {
	parts := o.Settings.Split()
	if len(parts) <= 1 {
		n, warns, err := fromXray(o)
		p.entry(field, line, n, warns, err)
		return
	}
	servers := "1 server"
	if n := len(o.Settings.Vnext); n != 1 {
		servers = fmt.Sprintf("%d servers", n)
	}
	p.report(Warning, line, errField(joinField(field, "settings.vnext"),
		"%s with %d users in all: written as %d nodes, one per server and user, because current Xray takes exactly one server with one user per outbound",
		servers, len(parts), len(parts)))
	k := 0
	for i, srv := range o.Settings.Vnext {
		for j := range srv.Users {
			one := *o
			one.Settings = &parts[k]
			k++
			n, warns, err := fromXray(&one)
			p.entry(joinField(field, fmt.Sprintf("settings.vnext[%d].users[%d]", i, j)), line, n, warns, err)
		}
	}
}

// joinField joins a field path prefix (which may be empty) and a field.
func joinField(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// xrayValue decodes JSON, TOML or YAML into plain values and says which
// of the three it read.
func xrayValue(data []byte) (any, schema.Format, error) {
	t := bytes.TrimSpace(data)
	if bytes.HasPrefix(t, []byte("//")) || bytes.HasPrefix(t, []byte("/*")) {
		t = bytes.TrimSpace(stripJSONComments(t))
	}
	if len(t) > 0 && (t[0] == '{' || (t[0] == '[' && !isTOMLHeader(t))) {
		v, err := jsonValue(t)
		if err == nil {
			return v, schema.JSON, nil
		}
		return nil, "", fmt.Errorf("not valid JSON: %v", err)
	}
	if looksTOML(t) {
		var m map[string]any
		if err := toml.Unmarshal(t, &m); err != nil {
			return nil, "", fmt.Errorf("not valid TOML: %v", err)
		}
		if err := checkDepth(m, 0); err != nil {
			return nil, "", err
		}
		return m, schema.TOML, nil
	}
	doc, err := yamlDoc(t)
	if err != nil {
		return nil, "", fmt.Errorf("not valid JSON, YAML or TOML: %v", err)
	}
	budget := 1 << 20
	v, err := yamlToAny(doc, &budget, 0)
	return v, schema.YAML, err
}

func looksTOML(t []byte) bool {
	for _, line := range bytes.Split(t[:min(len(t), 1<<16)], []byte("\n")) {
		l := bytes.TrimSpace(line)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if l[0] == '[' {
			return true
		}
		k, _, ok := bytes.Cut(l, []byte("="))
		return ok && !bytes.Contains(k, []byte(":"))
	}
	return false
}

func checkDepth(v any, d int) error {
	if d > maxDepth {
		return fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			if err := checkDepth(c, d+1); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range x {
			if err := checkDepth(c, d+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// FromXray reads a VMess outbound in Xray's shape into a Node. It accepts
// the vnext and flat settings forms and the legacy fields Xray has removed.
func FromXray(o *conf.Outbound) (*Node, []Diagnostic, error) {
	n, warns, err := fromXray(o)
	if err != nil {
		return nil, warns, err
	}
	return n.compact(), warns, nil
}

func fromXray(o *conf.Outbound) (*fullNode, []Diagnostic, error) {
	var warns []Diagnostic
	warn := warnTo(&warns)
	srv, user, ok := o.Settings.Target()
	if !ok {
		return nil, nil, settingsShapeError(o.Settings)
	}
	field := "settings.vnext[0]."
	if o.Settings.Address != "" {
		field = "settings."
	}
	n := &fullNode{Node: Node{Origin: Origin{Dialect: DialectXray}, Name: o.Tag, Server: normaliseServer(srv.Address), Port: srv.Port}}
	if err := checkAddress(field+"address", n.Server, user.ID); err != nil {
		return nil, nil, err
	}
	if n.Port < 1 || n.Port > 65535 {
		return nil, nil, errField(field+"port", "%d is out of range; want 1-65535", n.Port)
	}
	n.UUID = user.ID
	if field == "settings.vnext[0]." {
		field += "users[0]."
	}
	if err := checkID(field+"id", n.UUID); err != nil {
		return nil, nil, err
	}
	if user.AlterID != 0 {
		// Xray's VMess account has no alterId (infra/conf/vmess.go,
		// VMessAccount): the client this config describes speaks AEAD
		// whatever the number says. Carried on, it would make mihomo and
		// sing-box send the legacy header, which an Xray server refuses.
		warns = append(warns, Diagnostic{Severity: Info, Field: field + "alterId", Message: fmt.Sprintf(
			"%d is ignored by Xray, whose VMess client speaks only AEAD; read as 0", user.AlterID)})
	}
	c, ok := normaliseCipher(user.Security)
	if !ok {
		warn("settings.security", "unknown cipher %q; Xray reads it as auto", clip(user.Security))
	}
	n.Cipher = c
	n.Experiments = user.Experiments
	if user.Level != 0 || user.Email != "" {
		warn("settings.level/email", "policy level and email are local settings; not carried")
	}
	if o.Mux != nil && o.Mux.Enabled {
		n.Mux = true
	}
	if o.ProxySettings != nil || o.SendThrough != "" || o.TargetStrategy != "" {
		warn("proxySettings/sendThrough/targetStrategy", "local routing settings; not carried")
	}
	ss := o.StreamSettings
	if ss == nil {
		n.Network = "raw"
		return n, warns, nil
	}
	nw, ok := normaliseNetwork(ss.Network)
	if !ok {
		return nil, nil, errField("streamSettings.network", "%q is not a transport; want raw, ws, grpc, httpupgrade, xhttp or kcp", clip(ss.Network))
	}
	n.Network = nw
	if err := transportParts[nw].readXray(n, ss, warn); err != nil {
		return nil, nil, err
	}
	if len(ss.FinalMask) > 0 && string(ss.FinalMask) != "null" {
		if !n.kcpFromMask(ss.FinalMask) {
			n.FinalMask = ss.FinalMask
		}
	}
	sec, ok := securityParts[strings.ToLower(ss.Security)]
	if strings.EqualFold(ss.Security, "none") {
		sec, ok = noSecurityPart, true
	}
	if !ok {
		return nil, nil, errField("streamSettings.security", "%q; want none, tls or reality", clip(ss.Security))
	}
	sec.readXray(n, ss)
	if so := ss.Sockopt; so != nil {
		n.TFO = so.TCPFastOpen
		if so.DialerProxy != "" || so.Mark != 0 || so.Interface != "" || so.DomainStrategy != "" {
			warn("streamSettings.sockopt", "local socket options not carried")
		}
	}
	sortDiags(warns)
	return n, warns, nil
}

// settingsShapeError explains VMess settings that do not name exactly one
// server with one user, in the terms of the config itself.
func settingsShapeError(s *conf.VMessSettings) error {
	switch {
	case s == nil:
		return errField("settings", "missing; want the server's address, port and id (or a vnext list)")
	case len(s.Vnext) == 0:
		return errField("settings.address", "missing or empty; want the server's host name or IP address (or a vnext list)")
	case len(s.Vnext) > 1:
		return errField("settings.vnext", "holds %d servers; Xray takes exactly one server with one user per outbound", len(s.Vnext))
	}
	return errField("settings.vnext[0].users", "holds %d users; Xray takes exactly one server with one user per outbound", len(s.Vnext[0].Users))
}

type maskJSON struct {
	Type     string          `json:"type"`
	Settings json.RawMessage `json:"settings,omitempty"`
}

type finalMaskJSON struct {
	TCP        []maskJSON      `json:"tcp,omitempty"`
	UDP        []maskJSON      `json:"udp,omitempty"`
	QuicParams json.RawMessage `json:"quicParams,omitempty"`
}

// kcpFromMask recognises the masks ToXray writes for a legacy mKCP
// header/seed and turns them back into HeaderType/Seed, so that links
// survive a trip through Xray JSON.
func (n *fullNode) kcpFromMask(raw json.RawMessage) bool {
	if n.Network != "kcp" || n.HeaderType != "" || n.Seed != "" {
		return false
	}
	var fm finalMaskJSON
	if err := json.Unmarshal(raw, &fm); err != nil || len(fm.TCP) > 0 || len(fm.QuicParams) > 0 {
		return false
	}
	u := fm.UDP
	var header, domain, seed string
	if len(u) == 2 {
		for name, typ := range kcpHeaderMasks {
			if u[0].Type == typ {
				header = name
			}
		}
		if header == "" {
			return false
		}
		if header == "dns" {
			var s struct {
				Domain string `json:"domain"`
			}
			_ = json.Unmarshal(u[0].Settings, &s)
			domain = s.Domain
		} else if len(u[0].Settings) > 0 && string(u[0].Settings) != "{}" {
			return false
		}
		u = u[1:]
	}
	if len(u) != 1 {
		return false
	}
	switch u[0].Type {
	case "mkcp-original":
		if len(u[0].Settings) > 0 && string(u[0].Settings) != "{}" {
			return false
		}
	case "mkcp-aes128gcm":
		var s struct {
			Password string `json:"password"`
		}
		if err := json.Unmarshal(u[0].Settings, &s); err != nil || s.Password == "" {
			return false
		}
		seed = s.Password
	default:
		return false
	}
	if header == "" && seed == "" {
		// Only mkcp-original: that is plain mKCP, nothing to record.
		return true
	}
	n.HeaderType, n.Seed = header, seed
	if header == "dns" {
		n.Host = domain
	}
	return true
}

// jsonTypeName says in JSON terms what a Go field of this kind holds.
func jsonTypeName(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer (no quotes)"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// getFold returns m[key], or failing that the value of a key that equals
// key without regard to case, as encoding/json matches an object key to a
// struct field (exact name first).
func getFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// canonKeys returns m with each of names present under its own spelling
// when m holds it in another case only (see getFold); m is not changed.
func canonKeys(m map[string]any, names ...string) map[string]any {
	out, copied := m, false
	for _, name := range names {
		if _, ok := m[name]; ok {
			continue
		}
		for k, v := range m {
			if !strings.EqualFold(k, name) {
				continue
			}
			if !copied {
				out, copied = make(map[string]any, len(m)), true
				for k2, v2 := range m {
					out[k2] = v2
				}
			}
			delete(out, k)
			out[name] = v
			break
		}
	}
	return out
}
