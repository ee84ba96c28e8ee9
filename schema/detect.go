package schema

// DocKind is what a document holds.
type DocKind uint8

// The kinds of document lint understands.
const (
	// UnknownKind is anything else (judged as a whole config).
	UnknownKind DocKind = iota
	// ConfigKind is a whole Xray config (it has outbounds or other sections).
	ConfigKind
	// OutboundKind is one OutboundObject (it has protocol).
	OutboundKind
	// OutboundListKind is a JSON array of OutboundObjects.
	OutboundListKind
	// SettingsKind is a bare VMess settings object (vnext or flat form).
	SettingsKind
)

// String names the kind for messages.
func (k DocKind) String() string {
	switch k {
	case ConfigKind:
		return "config"
	case OutboundKind:
		return "outbound"
	case OutboundListKind:
		return "outbound list"
	case SettingsKind:
		return "VMess settings"
	}
	return "unknown"
}

// Detect tells what the root of a document is.
func Detect(root *Node) DocKind {
	if root == nil {
		return UnknownKind
	}
	switch root.Kind {
	case Array:
		return OutboundListKind
	case Object:
	default:
		return UnknownKind
	}
	for _, k := range []string{"outbounds", "inbounds", "routing", "log", "dns", "policy", "api", "stats", "reverse"} {
		if root.Get(k) != nil {
			return ConfigKind
		}
	}
	if root.Get("protocol") != nil || root.Get("streamSettings") != nil || (root.Get("settings") != nil && root.Get("vnext") == nil) {
		return OutboundKind
	}
	if root.Get("vnext") != nil || root.Get("users") != nil || (root.Get("address") != nil && (root.Get("id") != nil || root.Get("port") != nil)) {
		return SettingsKind
	}
	return UnknownKind
}

// RootFor is the schema root that judges a document of kind k (an outbound
// list is judged item by item against ForOutbound).
func RootFor(k DocKind) Root {
	switch k {
	case OutboundKind, OutboundListKind:
		return ForOutbound
	case SettingsKind:
		return ForSettings
	}
	return ForConfig
}
