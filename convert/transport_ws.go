package convert

import (
	"fmt"
	"strings"

	"github.com/xvmtools/xvm/schema/conf"
)

// wsPart is WebSocket: Host, Path (which may carry ?ed=N), Headers, and
// early data given outside the path (EarlyData, EarlyDataHeader).
var wsPart = &transportPart{
	readV2RayN:  pathLike,
	writeV2RayN: writeV2RayNUpgrade,
	readURI:     readURIPathLike,
	writeURI:    writeURIUpgrade,
	readXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		w := ss.WSSettings
		if w == nil {
			return nil
		}
		n.Host, n.Path = w.Host, w.Path
		return n.readXrayHeaders(w.Headers, "streamSettings.wsSettings.headers", true, warn)
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		ss.Network = "ws"
		ss.WSSettings = &conf.WSSettings{Path: n.wsPath(warn), Host: n.Host, Headers: n.Headers}
		return nil
	},
	readClash:  readClashWS,
	writeClash: writeClashWS,
	readSingBox: func(n *fullNode, tr map[string]any, _ warnFunc) {
		n.Path = str(tr["path"])
		for k, v := range asMap(tr["headers"]) {
			n.setHeader(k, strings.Join(strList(v), ","))
		}
		if ed, ok := intOf(tr["max_early_data"]); ok && ed > 0 {
			n.EarlyData = ed
			n.EarlyDataHeader = str(tr["early_data_header_name"])
		}
	},
	writeSingBox: func(n *fullNode, o *sbOutbound, _ warnFunc) error {
		path, ed := n.wsEarlyData()
		t := &sbTransport{Type: "ws", Path: path}
		if ed > 0 {
			t.MaxEarlyData = ed
			t.EarlyDataHeaderName = "Sec-WebSocket-Protocol"
		}
		t.Headers = n.headersWithHost()
		o.Transport = t
		return nil
	},
}

// httpUpgradePart is HTTPUpgrade: the fields of ws, read and written
// where each dialect keeps them for this transport.
var httpUpgradePart = &transportPart{
	readV2RayN:  pathLike,
	writeV2RayN: writeV2RayNUpgrade,
	readURI:     readURIPathLike,
	writeURI:    writeURIUpgrade,
	readXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		h := ss.HTTPUpgradeSettings
		if h == nil {
			return nil
		}
		n.Host, n.Path = h.Host, h.Path
		return n.readXrayHeaders(h.Headers, "streamSettings.httpupgradeSettings.headers", false, warn)
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		ss.Network = "httpupgrade"
		ss.HTTPUpgradeSettings = &conf.HTTPUpgradeSettings{Path: n.wsPath(warn), Host: n.Host, Headers: n.Headers}
		return nil
	},
	readClash:  readClashWS,
	writeClash: writeClashWS,
	readSingBox: func(n *fullNode, tr map[string]any, _ warnFunc) {
		n.Host, n.Path = str(tr["host"]), str(tr["path"])
		for k, v := range asMap(tr["headers"]) {
			n.setHeader(k, strings.Join(strList(v), ","))
		}
	},
	writeSingBox: func(n *fullNode, o *sbOutbound, warn warnFunc) error {
		path, ed := n.wsEarlyData()
		if ed > 0 {
			warn("ed", "sing-box has no early data for httpupgrade; not carried")
		}
		t := &sbTransport{Type: "httpupgrade", Path: path, Headers: n.Headers}
		if n.Host != "" {
			t.Host = n.Host
		}
		o.Transport = t
		return nil
	},
}

func writeV2RayNUpgrade(n *fullNode, l *v2raynLink, warn warnFunc) {
	l.Host = n.Host
	l.Path = n.wsPath(warn)
}

// readURIPathLike reads host and path from a #716 query.
func readURIPathLike(n *fullNode, q *query, _ warnFunc) error {
	n.Host, n.Path = q.get("host"), q.get("path")
	return nil
}

func writeURIUpgrade(n *fullNode, add func(k, v string), warn warnFunc) {
	add("host", n.Host)
	add("path", n.wsPath(warn))
}

// readClashWS reads mihomo's ws-opts (and the older ws-path and
// ws-headers); v2ray-http-upgrade makes the node HTTPUpgrade.
func readClashWS(n *fullNode, _ string, m map[string]any, warn warnFunc) {
	n.Network = "ws"
	wo := clashKeys(asMap(m["ws-opts"]))
	n.Path = str(wo["path"])
	if n.Path == "" {
		n.Path = str(m["ws-path"])
	}
	for k, v := range asMap(wo["headers"]) {
		n.setHeader(k, str(v))
	}
	for k, v := range asMap(m["ws-headers"]) {
		n.setHeader(k, str(v))
	}
	if ed, ok := intOf(wo["max-early-data"]); ok && ed > 0 {
		n.EarlyData = ed
		n.EarlyDataHeader = str(wo["early-data-header-name"])
	}
	if truthy(wo["v2ray-http-upgrade"]) {
		n.Network = "httpupgrade"
		if truthy(wo["v2ray-http-upgrade-fast-open"]) {
			warn("ws-opts.v2ray-http-upgrade-fast-open", "not carried")
		}
	}
}

// writeClashWS writes ws and HTTPUpgrade as mihomo's ws-opts.
func writeClashWS(n *fullNode, p *clashProxy, warn warnFunc) error {
	p.Network = "ws"
	path, ed := n.wsEarlyData()
	upgrade := n.network() == "httpupgrade"
	o := &clashWSOpts{Path: path, V2rayHTTPUpgrade: upgrade}
	if ed > 0 {
		if upgrade {
			warn("ed", "mihomo has no early data for httpupgrade; not carried")
		} else {
			o.MaxEarlyData = ed
			o.EarlyDataHeaderName = "Sec-WebSocket-Protocol"
		}
	}
	o.Headers = n.headersWithHost()
	p.WSOpts = o
	return nil
}

// wsPath returns the ws/httpupgrade path with early data expressed the
// way Xray reads it (?ed=N inside the path), warning about what Xray
// cannot carry.
func (n *fullNode) wsPath(warn warnFunc) string {
	p, w := n.xrayPath()
	if w != "" {
		warn("early-data-header-name", "%s", w)
	}
	return p
}

// XrayPath is a ws or httpupgrade node's path as Xray reads it: early data
// given outside the path (EarlyData: Clash's max-early-data, sing-box's
// max_early_data) moved into it as "?ed=N", the one way Xray reads it.
// warning, when not empty, says what of it Xray cannot carry: an early
// data header other than Sec-WebSocket-Protocol.
func (n *Node) XrayPath() (path, warning string) {
	return n.full().xrayPath()
}

func (n *fullNode) xrayPath() (path, warning string) {
	p := n.Path
	if n.EarlyData <= 0 {
		return p, ""
	}
	if n.EarlyDataHeader != "" && !strings.EqualFold(n.EarlyDataHeader, "Sec-WebSocket-Protocol") {
		warning = fmt.Sprintf("Xray sends early data only in Sec-WebSocket-Protocol; %q not carried", clip(n.EarlyDataHeader))
	}
	if strings.Contains(p, "ed=") {
		return p, warning
	}
	if p == "" {
		p = "/"
	}
	sep := "?"
	if strings.Contains(p, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%sed=%d", p, sep, n.EarlyData), warning
}

// headersWithHost is the transport headers with Host among them, for
// dialects (mihomo ws-opts, sing-box ws) that have no separate host field.
func (n *fullNode) headersWithHost() map[string]string {
	if n.Host == "" && len(n.Headers) == 0 {
		return nil
	}
	h := make(map[string]string, len(n.Headers)+1)
	for k, v := range n.Headers {
		h[k] = v
	}
	if n.Host != "" {
		h["Host"] = n.Host
	}
	return h
}

// splitEarlyData takes "?ed=N" out of a ws path, as Clash and sing-box
// carry early data in separate fields.
func splitEarlyData(path string) (string, int) {
	base, q, ok := strings.Cut(path, "?")
	if !ok {
		return path, 0
	}
	var keep []string
	ed := 0
	for _, kv := range strings.Split(q, "&") {
		if v, ok := strings.CutPrefix(kv, "ed="); ok {
			if n, ok := intOf(v); ok && n > 0 {
				ed = n
				continue
			}
		}
		keep = append(keep, kv)
	}
	if len(keep) > 0 {
		base += "?" + strings.Join(keep, "&")
	}
	return base, ed
}

// wsEarlyData is the ws path without "?ed=N" and the early data length:
// the one in the path, else the node's EarlyData.
func (n *fullNode) wsEarlyData() (string, int) {
	path, ed := splitEarlyData(n.Path)
	if ed == 0 {
		ed = n.EarlyData
	}
	return path, ed
}
