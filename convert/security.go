package convert

import (
	"github.com/xvmtools/xvm/schema/conf"
)

// securityPart is one transport security (none, TLS or REALITY) in every
// dialect, as transportPart is one transport; a new TLS or REALITY field
// touches security_tls.go or security_reality.go only.
type securityPart struct {
	readXray     func(n *fullNode, ss *conf.StreamSettings)
	writeXray    func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error
	writeClash   func(n *fullNode, p *clashProxy, warn warnFunc) error
	writeSingBox func(n *fullNode, o *sbOutbound, warn warnFunc)
	writeV2RayN  func(n *fullNode, l *v2raynLink, warn warnFunc)
	writeURI     func(n *fullNode, add func(k, v string), warn warnFunc)
}

// securityParts holds the securities a node can have; "" is none.
var securityParts = map[string]*securityPart{
	"":        noSecurityPart,
	"tls":     tlsPart,
	"reality": realityPart,
}

// securityOf returns the node's security part, or nil for a security no
// reader produces.
func (n *fullNode) securityOf() *securityPart {
	s := n.Security
	if s == "none" {
		s = ""
	}
	return securityParts[s]
}

// noSecurityPart is plain TCP under the transport.
var noSecurityPart = &securityPart{
	readXray: func(*fullNode, *conf.StreamSettings) {},
	writeXray: func(n *fullNode, _ *conf.StreamSettings, warn warnFunc) error {
		if n.SNI != "" || len(n.ALPN) > 0 || n.Fingerprint != "" || n.PCS != "" || n.Insecure {
			warn("tls", "TLS options given without TLS; not carried")
		}
		return nil
	},
	writeClash:   func(*fullNode, *clashProxy, warnFunc) error { return nil },
	writeSingBox: func(*fullNode, *sbOutbound, warnFunc) {},
	writeV2RayN:  func(*fullNode, *v2raynLink, warnFunc) {},
	writeURI:     func(*fullNode, func(k, v string), warnFunc) {},
}
