package lint

import (
	"strings"
	"time"

	"github.com/xvmtools/xvm/schema"
	"github.com/xvmtools/xvm/vmess"
)

// Runtime is the Xray the configuration must run on, named by the
// "target" setting (it is not probe's Target, a server).
type Runtime string

// The runtimes.
const (
	// RuntimeXray is current Xray-core: v26.3.27 (module v1.260327.0) and
	// its dated removals, judged against the clock in Options.
	RuntimeXray Runtime = "xray"
	// RuntimeSeed is the seed manual's older semantics: several vnext
	// servers and users allowed, alterId meaningful, h2/quic transports.
	RuntimeSeed Runtime = "seed"
)

// ParseRuntime reads a runtime's name as the "target" setting gives it; an unknown one is an *UnknownError.
func ParseRuntime(s string) (Runtime, error) {
	switch strings.ToLower(s) {
	case "", "xray", "current", "xray-core", "v26.3.27":
		return RuntimeXray, nil
	case "seed", "legacy", "manual":
		return RuntimeSeed, nil
	}
	return "", &UnknownError{What: "target", Value: s, Want: "xray (current Xray-core) or seed (the seed manual)"}
}

// RuleMeta describes a rule: its stable id, default severity, what it
// checks, how to fix what it finds and the versions it applies to.
type RuleMeta struct {
	ID       string
	Severity Severity
	Summary  string
	Help     string
	Versions string
	// Supersedes lists rules whose findings on a value this rule's finding
	// on the same value replaces: a specific rule ("port is the string
	// \"443\"") explains better what the schema only calls a wrong type.
	Supersedes []string
	// Fixable says that some of the rule's findings carry a Fix.
	Fixable bool
}

// rule is one check. Rules never compute positions: they start a finding
// on the node or member they hold (see finding) and the position comes
// from there.
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
		ruleNullValue{},
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
		out[i] = metaOf(r)
	}
	return out
}

// metaOf is a rule's metadata with Fixable filled in from what the rule
// implements, so the two cannot disagree.
func metaOf(r rule) RuleMeta {
	m := r.meta()
	_, m.Fixable = r.(fixer)
	return m
}

// outboundView is one outbound found in the document.
type outboundView struct {
	place
	protocol string // lower-cased
	tag      string
	stream   place // streamSettings, when it is an object
}

// serverView is one VMess server: a vnext element, or the settings object
// itself in the flat form.
type serverView struct {
	place
	flat bool
	ob   *outboundView // nil for a bare settings document
}

// userView is one VMess user: a users element, or the flat settings.
type userView struct {
	place
	server *serverView
}

// settingsView is one VMess settings object. Its node is nil when the
// outbound has none.
type settingsView struct {
	place
	ob *outboundView
}

// checkContext is what a rule sees.
type checkContext struct {
	doc      *schema.Document
	kind     schema.DocKind
	target   Runtime
	now      time.Time
	findings []schema.Finding
	parseErr *schema.SyntaxError

	outbounds []*outboundView
	settings  []*settingsView
	servers   []*serverView
	users     []*userView

	mask func(string) string
	cur  RuleMeta // the running rule

	out []Diagnostic
	// superseded holds the rule and pointer of findings that a finding of
	// a superseding rule replaces.
	superseded map[ruleAt]bool
}

// ruleAt names one rule's findings on one value.
type ruleAt struct{ rule, ptr string }

// record keeps a finished finding and notes what it supersedes.
func (c *checkContext) record(f *finding) {
	f.d.seq = int32(len(c.out))
	c.out = append(c.out, f.d)
	if f.anchor != onValue {
		return
	}
	for _, r := range c.cur.Supersedes {
		if c.superseded == nil {
			c.superseded = make(map[ruleAt]bool)
		}
		c.superseded[ruleAt{r, f.d.Pointer}] = true
	}
}

func str(n *schema.Node) (string, bool) {
	if n == nil || n.Kind != schema.String {
		return "", false
	}
	return n.Text, true
}

// present returns n's member key as Xray reads it (matched
// case-insensitively, the last match wins, null as if absent: see
// schema.Node.Present), or nil when n is not an object or has no such key.
func present(n *schema.Node, key string) *schema.Member {
	return n.Present(key)
}

// get is present's value, or nil.
func get(n *schema.Node, key string) *schema.Node {
	if m := n.Present(key); m != nil {
		return m.Value
	}
	return nil
}

// strMember returns n's member key and its string value; ok is false when
// the key is missing or its value is not a string.
func strMember(n *schema.Node, key string) (m *schema.Member, s string, ok bool) {
	if m = present(n, key); m == nil {
		return nil, "", false
	}
	s, ok = str(m.Value)
	return m, s, ok
}

// buildViews finds outbounds, VMess settings, servers and users.
func (c *checkContext) buildViews() {
	root := place{node: c.doc.Root}
	switch c.kind {
	case schema.ConfigKind, schema.UnknownKind:
		obs := root.member("outbounds")
		if obs.node == nil || obs.node.Kind != schema.Array {
			return
		}
		for i, it := range obs.node.Items {
			c.addOutbound(place{ptr: schema.Index(obs.ptr, i), node: it})
		}
	case schema.OutboundListKind:
		for i, it := range root.node.Items {
			c.addOutbound(place{ptr: schema.Index("", i), node: it})
		}
	case schema.OutboundKind:
		c.addOutbound(root)
	case schema.SettingsKind:
		c.addSettings(&settingsView{place: root})
	}
}

// httpTransportKeys are the settings of the HTTP-based transports
// (WebSocket, HTTPUpgrade, XHTTP and its old name SplitHTTP), which share
// path, host and headers.
var httpTransportKeys = [...]string{"wsSettings", "httpupgradeSettings", "xhttpSettings", "splithttpSettings"}

// eachHTTPTransport calls fn with the key and place of every settings
// object of an HTTP-based transport in every outbound's streamSettings.
func (c *checkContext) eachHTTPTransport(fn func(key string, st place)) {
	for _, ob := range c.outbounds {
		if !ob.stream.object() {
			continue
		}
		for _, key := range httpTransportKeys {
			if st := ob.stream.member(key); st.object() {
				fn(key, st)
			}
		}
	}
}

func (c *checkContext) addOutbound(p place) {
	if !p.object() {
		return
	}
	ob := &outboundView{place: p}
	if s, ok := str(get(p.node, "protocol")); ok {
		ob.protocol = strings.ToLower(s)
	}
	ob.tag, _ = str(get(p.node, "tag"))
	if st := p.member("streamSettings"); st.object() {
		ob.stream = st
	}
	c.outbounds = append(c.outbounds, ob)
	if ob.protocol == "vmess" {
		c.addSettings(&settingsView{place: p.member("settings"), ob: ob})
	}
}

func (c *checkContext) addSettings(sv *settingsView) {
	c.settings = append(c.settings, sv)
	if !sv.object() {
		return
	}
	if get(sv.node, "address") != nil {
		// Flat form: Xray ignores vnext when address is present.
		srv := &serverView{place: sv.place, flat: true, ob: sv.ob}
		c.servers = append(c.servers, srv)
		c.users = append(c.users, &userView{place: sv.place, server: srv})
		return
	}
	vnext := sv.member("vnext")
	if vnext.node == nil || vnext.node.Kind != schema.Array {
		return
	}
	for i, it := range vnext.node.Items {
		if it.Kind != schema.Object {
			continue
		}
		srv := &serverView{place: place{ptr: schema.Index(vnext.ptr, i), node: it}, ob: sv.ob}
		c.servers = append(c.servers, srv)
		users := srv.member("users")
		if users.node == nil || users.node.Kind != schema.Array {
			continue
		}
		for j, u := range users.node.Items {
			if u.Kind != schema.Object {
				continue
			}
			c.users = append(c.users, &userView{place: place{ptr: schema.Index(users.ptr, j), node: u}, server: srv})
		}
	}
}

// streamSecurity returns the lower-cased stream security of an outbound
// ("" when none).
func (ob *outboundView) streamSecurity() string {
	if ob == nil || ob.stream.node == nil {
		return ""
	}
	s, _ := str(get(ob.stream.node, "security"))
	s = strings.ToLower(s)
	if s == "none" {
		return ""
	}
	return s
}

// network returns the network of an outbound in Xray's current names
// (vmess.StreamNetwork: "raw" by default, websocket is ws, splithttp is xhttp).
func (ob *outboundView) network() string {
	if ob == nil || ob.stream.node == nil {
		return "raw"
	}
	s, _ := str(get(ob.stream.node, "network"))
	n, _ := vmess.StreamNetwork(s)
	return n
}
