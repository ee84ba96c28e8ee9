package lint

import (
	"fmt"
	"strings"
	"time"

	"github.com/xvmtools/xvm/schema"
)

// Target is the Xray the configuration must run on.
type Target string

// The targets.
const (
	// TargetXray is current Xray-core: v26.3.27 (module v1.260327.0) and
	// its dated removals, judged against the clock in Options.
	TargetXray Target = "xray"
	// TargetSeed is the seed manual's older semantics: several vnext
	// servers and users allowed, alterId meaningful, h2/quic transports.
	TargetSeed Target = "seed"
)

// ParseTarget reads a --target value.
func ParseTarget(s string) (Target, error) {
	switch strings.ToLower(s) {
	case "", "xray", "current", "xray-core", "v26.3.27":
		return TargetXray, nil
	case "seed", "legacy", "manual":
		return TargetSeed, nil
	}
	return "", fmt.Errorf("lint: unknown target %q: want xray (current Xray-core) or seed (the seed manual)", s)
}

// RuleMeta describes a rule: its stable id, default severity, what it
// checks, how to fix what it finds and the versions it applies to.
type RuleMeta struct {
	ID       string
	Severity Severity
	Summary  string
	Help     string
	Versions string
}

// rule is one check. Rules never compute positions: they name a pointer
// and the engine finds it in the document.
type rule interface {
	meta() RuleMeta
	check(c *checkContext)
}

// allRules builds the rule list in one place.
func allRules() []rule {
	return []rule{
		ruleSyntax{},
		ruleSchema{},
		ruleUnknownKey{},
		ruleKeyCase{},
		ruleDuplicateKey{},
		ruleRemovedKey{},
		ruleIDInvalid{},
		ruleIDNotUUID{},
		ruleDuplicateID{},
		ruleAlterID{},
		ruleSecurityUnknown{},
		ruleSecurityPlaintext{},
		rulePortRange{},
		ruleAddressFormat{},
		ruleVnextCount{},
		ruleAllowInsecure{},
		ruleTLSIPWithoutSNI{},
		ruleTransportRemoved{},
		rulePathSlash{},
		ruleDuplicateTag{},
		ruleUnknownOutboundTag{},
		ruleSendThrough{},
		ruleReality{},
		ruleHostHeader{},
		ruleProxyConflict{},
		rulePinnedPeerCert{},
		ruleALPNFromMitm{},
		ruleTrailingContent{},
		ruleDocumentKind{},
	}
}

// Rules returns the metadata of every rule, in a stable order.
func Rules() []RuleMeta {
	rs := allRules()
	out := make([]RuleMeta, len(rs))
	for i, r := range rs {
		out[i] = r.meta()
	}
	return out
}

// outboundView is one outbound found in the document.
type outboundView struct {
	ptr      string
	node     *schema.Node
	protocol string // lower-cased
	tag      string
	stream   *schema.Node
	streamP  string
}

// serverView is one VMess server: a vnext element, or the settings object
// itself in the flat form.
type serverView struct {
	ptr  string
	node *schema.Node
	flat bool
	ob   *outboundView // nil for a bare settings document
}

// userView is one VMess user: a users element, or the flat settings.
type userView struct {
	ptr    string
	node   *schema.Node
	server *serverView
}

// settingsView is one VMess settings object.
type settingsView struct {
	ptr  string
	node *schema.Node // nil when the outbound has no settings
	ob   *outboundView
}

// checkContext is what a rule sees.
type checkContext struct {
	doc      *schema.Document
	kind     schema.DocKind
	target   Target
	now      time.Time
	findings []schema.Finding
	parseErr *schema.SyntaxError

	outbounds []*outboundView
	settings  []*settingsView
	servers   []*serverView
	users     []*userView

	mask func(string) string
	// report records a finding; at, when set, is the node to point at
	// (for a value the pointer cannot tell apart, e.g. an earlier
	// duplicate key).
	report func(rule string, ptr string, atKey bool, at *schema.Node, sev Severity, msg, hint string)
	cur    RuleMeta
}

// reportf records a finding of the running rule at ptr. atKey puts it on
// the key rather than the value.
func (c *checkContext) reportf(ptr string, atKey bool, hint string, format string, args ...any) {
	c.report(c.cur.ID, ptr, atKey, nil, c.cur.Severity, fmt.Sprintf(format, args...), hint)
}

// reportSev is reportf with an explicit severity (for rules whose weight
// depends on the target or the date).
func (c *checkContext) reportSev(sev Severity, ptr string, atKey bool, hint string, format string, args ...any) {
	c.report(c.cur.ID, ptr, atKey, nil, sev, fmt.Sprintf(format, args...), hint)
}

func str(n *schema.Node) (string, bool) {
	if n == nil || n.Kind != schema.String {
		return "", false
	}
	return n.Text, true
}

// strMember returns n's member key and its string value; ok is false when
// the key is missing or its value is not a string.
func strMember(n *schema.Node, key string) (m *schema.Member, s string, ok bool) {
	if m = n.Member(key); m == nil {
		return nil, "", false
	}
	s, ok = str(m.Value)
	return m, s, ok
}

// buildViews finds outbounds, VMess settings, servers and users.
func (c *checkContext) buildViews() {
	root := c.doc.Root
	switch c.kind {
	case schema.ConfigKind, schema.UnknownKind:
		obs := root.Get("outbounds")
		if obs == nil || obs.Kind != schema.Array {
			return
		}
		m := root.Member("outbounds")
		for i, it := range obs.Items {
			c.addOutbound(schema.Index("/"+schema.EscapePointer(m.Key), i), it)
		}
	case schema.OutboundListKind:
		for i, it := range root.Items {
			c.addOutbound(schema.Index("", i), it)
		}
	case schema.OutboundKind:
		c.addOutbound("", root)
	case schema.SettingsKind:
		c.addSettings(&settingsView{ptr: "", node: root})
	}
}

// eachHTTPTransport calls fn with the key, pointer and object of every
// settings object of an HTTP-based transport (WebSocket, HTTPUpgrade, XHTTP
// and its old name SplitHTTP, which share path, host and headers) in every
// outbound's streamSettings.
func (c *checkContext) eachHTTPTransport(fn func(key, ptr string, st *schema.Node)) {
	for _, ob := range c.outbounds {
		if ob.stream == nil {
			continue
		}
		for _, key := range []string{"wsSettings", "httpupgradeSettings", "xhttpSettings", "splithttpSettings"} {
			// Member first: most outbounds have none of these, and an
			// absent key needs no pointer.
			if m := ob.stream.Member(key); m != nil && m.Value.Kind == schema.Object {
				fn(key, schema.Child(ob.streamP, m.Key), m.Value)
			}
		}
	}
}

func childPtr(n *schema.Node, ptr, key string) (string, *schema.Node) {
	m := n.Member(key)
	if m == nil {
		return schema.Child(ptr, key), nil
	}
	return schema.Child(ptr, m.Key), m.Value
}

func (c *checkContext) addOutbound(ptr string, n *schema.Node) {
	if n == nil || n.Kind != schema.Object {
		return
	}
	ob := &outboundView{ptr: ptr, node: n}
	if p, ok := str(n.Get("protocol")); ok {
		ob.protocol = strings.ToLower(p)
	}
	ob.tag, _ = str(n.Get("tag"))
	ob.streamP, ob.stream = childPtr(n, ptr, "streamSettings")
	if ob.stream != nil && ob.stream.Kind != schema.Object {
		ob.stream = nil
	}
	c.outbounds = append(c.outbounds, ob)
	if ob.protocol == "vmess" {
		sp, s := childPtr(n, ptr, "settings")
		c.addSettings(&settingsView{ptr: sp, node: s, ob: ob})
	}
}

func (c *checkContext) addSettings(sv *settingsView) {
	c.settings = append(c.settings, sv)
	s := sv.node
	if s == nil || s.Kind != schema.Object {
		return
	}
	if s.Get("address") != nil {
		// Flat form: Xray ignores vnext when address is present.
		srv := &serverView{ptr: sv.ptr, node: s, flat: true, ob: sv.ob}
		c.servers = append(c.servers, srv)
		c.users = append(c.users, &userView{ptr: sv.ptr, node: s, server: srv})
		return
	}
	vp, vnext := childPtr(s, sv.ptr, "vnext")
	if vnext == nil || vnext.Kind != schema.Array {
		return
	}
	for i, it := range vnext.Items {
		if it.Kind != schema.Object {
			continue
		}
		srv := &serverView{ptr: schema.Index(vp, i), node: it, ob: sv.ob}
		c.servers = append(c.servers, srv)
		up, users := childPtr(it, srv.ptr, "users")
		if users == nil || users.Kind != schema.Array {
			continue
		}
		for j, u := range users.Items {
			if u.Kind != schema.Object {
				continue
			}
			c.users = append(c.users, &userView{ptr: schema.Index(up, j), node: u, server: srv})
		}
	}
}

// streamSecurity returns the lower-cased stream security of an outbound
// ("" when none).
func (ob *outboundView) streamSecurity() string {
	if ob == nil || ob.stream == nil {
		return ""
	}
	s, _ := str(ob.stream.Get("security"))
	s = strings.ToLower(s)
	if s == "none" {
		return ""
	}
	return s
}

// network returns the lower-cased network of an outbound ("raw" default).
func (ob *outboundView) network() string {
	if ob == nil || ob.stream == nil {
		return "raw"
	}
	s, _ := str(ob.stream.Get("network"))
	s = strings.ToLower(s)
	switch s {
	case "", "tcp":
		return "raw"
	}
	return s
}
