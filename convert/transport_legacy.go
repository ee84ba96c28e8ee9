package convert

import (
	"encoding/json"
	"strings"

	"github.com/xvmtools/xvm/schema/conf"
)

// HTTP/2 and QUIC are transports Xray v1.260327.0 has removed (a load
// error). Links and configs still carry them: they are read in full, and
// written to Xray as XHTTP stream-one with a warning; mihomo and sing-box
// still have them.

// h2Part is HTTP/2: Host (a comma list) and Path.
var h2Part = &transportPart{
	readV2RayN:  pathLike,
	writeV2RayN: writeV2RayNPathLike,
	readURI:     readURIPathLike,
	writeURI:    writeURIPathLike,
	readXray: func(n *fullNode, ss *conf.StreamSettings, _ warnFunc) error {
		h := ss.HTTPSettings
		if h == nil {
			return nil
		}
		n.Host, n.Path, n.Method = strings.Join(h.Host, ","), h.Path, h.Method
		for k, vs := range h.Headers {
			if len(vs) > 0 {
				// Of several values the client sends the last.
				n.setHeader(k, vs[len(vs)-1])
			}
		}
		return nil
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		ss.Network = "xhttp"
		ss.XHTTPSettings = &conf.XHTTPSettings{Host: firstOf(n.Host), Path: n.Path, Mode: "stream-one"}
		warn("network", "HTTP/2 transport was removed from Xray; written as XHTTP stream-one (the server must have migrated too)")
		if n.Method != "" || len(n.Headers) > 0 {
			warn("method/headers", "XHTTP has no HTTP/2 method or headers of its own; not carried")
		}
		if len(splitList(n.Host)) > 1 {
			warn("host", "only the first of several HTTP/2 hosts is carried")
		}
		return nil
	},
	readClash: func(n *fullNode, _ string, m map[string]any, _ warnFunc) {
		ho := clashKeys(asMap(m["h2-opts"]))
		n.Host = strings.Join(strList(ho["host"]), ",")
		n.Path = str(ho["path"])
	},
	writeClash: func(n *fullNode, p *clashProxy, warn warnFunc) error {
		p.Network = "h2"
		p.H2Opts = &clashH2Opts{Host: splitList(n.Host), Path: n.Path}
		if n.Security != "tls" {
			warn("tls", "mihomo's h2 always uses TLS; the link has none")
		}
		return nil
	},
	readSingBox: func(n *fullNode, tr map[string]any, _ warnFunc) {
		n.Host = strings.Join(strList(tr["host"]), ",")
		n.Path = str(tr["path"])
		n.Method = str(tr["method"])
		for k, v := range asMap(tr["headers"]) {
			// sing-box takes a string or a list; the client sends the
			// last value.
			if vs := strList(v); len(vs) > 0 {
				n.setHeader(k, vs[len(vs)-1])
			}
		}
	},
	writeSingBox: func(n *fullNode, o *sbOutbound, _ warnFunc) error {
		if n.Security != "tls" {
			return refuse("network", "HTTP/2 needs TLS in sing-box")
		}
		t := &sbTransport{Type: "http", Path: n.Path, Method: n.Method, Headers: n.Headers}
		if hosts := splitList(n.Host); len(hosts) > 0 {
			t.Host = hosts
		}
		o.Transport = t
		return nil
	},
}

// quicPart is QUIC: HeaderType (a packet header), QUICSecurity and
// QUICKey; v2rayN packs them into type, host and path.
var quicPart = &transportPart{
	readV2RayN: func(n *fullNode, typ, host, path string, _ warnFunc) {
		n.HeaderType = typ
		n.QUICSecurity = host
		n.QUICKey = path
	},
	writeV2RayN: func(n *fullNode, l *v2raynLink, _ warnFunc) {
		l.Type = orNone(n.HeaderType)
		l.Host, l.Path = n.QUICSecurity, n.QUICKey
	},
	readURI: func(n *fullNode, q *query, _ warnFunc) error {
		n.HeaderType = q.get("headerType")
		n.QUICSecurity = q.get("quicSecurity")
		n.QUICKey = q.get("key")
		return nil
	},
	writeURI: func(n *fullNode, add func(k, v string), _ warnFunc) {
		add("headerType", n.HeaderType)
		add("quicSecurity", n.QUICSecurity)
		add("key", n.QUICKey)
	},
	readXray: func(n *fullNode, ss *conf.StreamSettings, _ warnFunc) error {
		q := ss.QUICSettings
		if q == nil {
			return nil
		}
		n.QUICSecurity, n.QUICKey = q.Security, q.Key
		var h struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(q.Header, &h)
		n.HeaderType = h.Type
		return nil
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		ss.Network = "xhttp"
		ss.XHTTPSettings = &conf.XHTTPSettings{Mode: "stream-one"}
		warn("network", "QUIC transport was removed from Xray; written as XHTTP stream-one (the server must have migrated to XHTTP over H3)")
		if n.quicExtras() {
			warn("quicSecurity/key/headerType", "QUIC encryption and header not carried")
		}
		return nil
	},
	readSingBox: func(*fullNode, map[string]any, warnFunc) {},
	writeSingBox: func(n *fullNode, o *sbOutbound, warn warnFunc) error {
		if n.Security != "tls" {
			return refuse("network", "QUIC needs TLS in sing-box")
		}
		o.Transport = &sbTransport{Type: "quic"}
		if n.quicExtras() {
			warn("quicSecurity/key/headerType", "sing-box's QUIC has no encryption or header; not carried")
		}
		return nil
	},
}

// quicExtras reports QUIC encryption or a packet header, which no current
// dialect carries.
func (n *fullNode) quicExtras() bool {
	return n.QUICSecurity != "" && n.QUICSecurity != "none" || n.QUICKey != "" || n.HeaderType != ""
}

func writeV2RayNPathLike(n *fullNode, l *v2raynLink, _ warnFunc) {
	l.Host, l.Path = n.Host, n.Path
}

func writeURIPathLike(n *fullNode, add func(k, v string), _ warnFunc) {
	add("host", n.Host)
	add("path", n.Path)
}
