package convert

import (
	"encoding/json"
	"strings"

	"github.com/xvmtools/xvm/schema/conf"
)

// xhttpPart is XHTTP: Host, Path, XHTTPMode and the extra object. mihomo's
// and sing-box's vmess have no XHTTP.
var xhttpPart = &transportPart{
	readV2RayN: func(n *fullNode, typ, host, path string, warn warnFunc) {
		n.XHTTPMode = xhttpMode(noneAsDefault(typ), "type", warn) // v2rayN writes none for the default
		n.Host, n.Path = host, path
	},
	writeV2RayN: func(n *fullNode, l *v2raynLink, warn warnFunc) {
		l.Type = "auto"
		if n.XHTTPMode != "" {
			l.Type = n.XHTTPMode
		}
		l.Host, l.Path = n.Host, n.Path
		if len(n.XHTTPExtra) > 0 {
			warn("extra", "v2rayN's link cannot carry XHTTP extra; not carried")
		}
	},
	readURI: func(n *fullNode, q *query, warn warnFunc) error {
		n.Host, n.Path = q.get("host"), q.get("path")
		n.XHTTPMode = xhttpMode(q.get("mode"), "mode", warn)
		if x := q.get("extra"); x != "" {
			if !json.Valid([]byte(x)) || !strings.HasPrefix(strings.TrimSpace(x), "{") {
				warn("extra", "is not a JSON object; ignored")
			} else {
				n.XHTTPExtra = compactJSON(x)
			}
		}
		return nil
	},
	writeURI: func(n *fullNode, add func(k, v string), _ warnFunc) {
		add("host", n.Host)
		add("path", n.Path)
		add("mode", n.XHTTPMode)
		if len(n.XHTTPExtra) > 0 {
			add("extra", string(n.XHTTPExtra))
		}
	},
	readXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		x := ss.XHTTP()
		if x == nil {
			return nil
		}
		n.Host, n.Path, n.XHTTPMode = x.Host, x.Path, x.Mode
		n.XHTTPExtra = x.Extra
		if len(x.Extra) == 0 && len(x.Others) > 0 {
			// Without extra, Xray reads the other members as it would
			// inside extra (SplitHTTPConfig.Build); a node carries them
			// there, as links do.
			n.XHTTPExtra = xhttpExtraOf(x)
		}
		field := "streamSettings.xhttpSettings.headers"
		if ss.XHTTPSettings == nil {
			field = "streamSettings.splithttpSettings.headers"
		}
		return n.readXrayHeaders(x.Headers, field, false, warn)
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, _ warnFunc) error {
		ss.Network = "xhttp"
		ss.XHTTPSettings = &conf.XHTTPSettings{Host: n.Host, Path: n.Path, Mode: n.XHTTPMode, Headers: n.Headers, Extra: n.XHTTPExtra}
		switch n.XHTTPMode {
		case "", "auto", "packet-up", "stream-up", "stream-one":
			return nil
		}
		return refuse("mode", "XHTTP mode %q; want auto, packet-up, stream-up or stream-one", clip(n.XHTTPMode))
	},
}

// xhttpMode reads an XHTTP mode from field; auto (the default) is "".
func xhttpMode(m, field string, warn warnFunc) string {
	switch m {
	case "", "auto":
		return ""
	case "packet-up", "stream-up", "stream-one":
		return m
	}
	warn(field, "unknown XHTTP mode %q; want auto, packet-up, stream-up or stream-one; using auto", clip(m))
	return ""
}

// xhttpExtraOf is the extra object that stands for the members of x
// given beside host, path and mode: its others, and its headers (which
// extra, once present, must carry too).
func xhttpExtraOf(x *conf.XHTTPSettings) json.RawMessage {
	m := make(map[string]json.RawMessage, len(x.Others)+1)
	for k, v := range x.Others {
		m[k] = v
	}
	if len(x.Headers) > 0 {
		m["headers"], _ = json.Marshal(x.Headers)
	}
	b, _ := json.Marshal(m)
	return b
}
