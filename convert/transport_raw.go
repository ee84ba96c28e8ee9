package convert

import (
	"strings"

	"github.com/xvmtools/xvm/schema/conf"
)

// rawPart is raw TCP (tcp in most dialects), optionally with the HTTP
// header disguise: HeaderType "http", Host a comma list of Host headers,
// Path a comma list of paths, Headers the other request headers.
var rawPart = &transportPart{
	readV2RayN: func(n *fullNode, typ, host, path string, warn warnFunc) {
		n.HeaderType = rawHeader(typ, "type", warn)
		n.Host, n.Path = host, path
	},
	writeV2RayN: func(n *fullNode, l *v2raynLink, _ warnFunc) {
		if n.HeaderType == "http" {
			l.Type = "http"
		}
		l.Host, l.Path = n.Host, n.Path
	},
	readURI: func(n *fullNode, q *query, warn warnFunc) error {
		n.HeaderType = rawHeader(q.get("headerType"), "headerType", warn)
		n.Host, n.Path = q.get("host"), q.get("path")
		return nil
	},
	writeURI: func(n *fullNode, add func(k, v string), _ warnFunc) {
		add("headerType", n.HeaderType)
		add("host", n.Host)
		add("path", n.Path)
	},
	readXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		r := ss.Raw()
		if r == nil || r.Header == nil || r.Header.Type != "http" {
			return nil
		}
		n.HeaderType = "http"
		if rq := r.Header.Request; rq != nil {
			n.Path = strings.Join(rq.Path, ",")
			for k, v := range rq.Headers {
				if strings.EqualFold(k, "host") {
					n.Host = strings.Join(v, ",")
				} else if len(v) > 0 {
					n.setHeader(k, v[0])
				}
			}
			if rq.Method != "" && rq.Method != "GET" || rq.Version != "" && rq.Version != "1.1" {
				warn("rawSettings.header.request", "method/version not carried")
			}
		}
		if len(r.Header.Response) > 0 {
			warn("rawSettings.header.response", "not carried; the core default is used")
		}
		return nil
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, _ warnFunc) error {
		ss.Network = "raw"
		if n.HeaderType == "http" {
			rq := &conf.HTTPRequest{Path: conf.StringList(splitList(n.Path))}
			if hosts, hs := n.httpHeaderLists(); len(hs) > 0 || len(hosts) > 0 {
				rq.Headers = map[string]conf.StringList{}
				for k, v := range hs {
					rq.Headers[k] = v
				}
			}
			ss.RawSettings = &conf.RawSettings{Header: &conf.TCPHeader{Type: "http", Request: rq}}
		}
		return nil
	},
	readClash: func(n *fullNode, clashNet string, m map[string]any, warn warnFunc) {
		if clashNet != "http" {
			return
		}
		n.HeaderType = "http"
		ho := clashKeys(asMap(m["http-opts"]))
		n.Path = strings.Join(strList(ho["path"]), ",")
		for k, v := range asMap(ho["headers"]) {
			vals := strList(v)
			if strings.EqualFold(k, "host") {
				n.Host = strings.Join(vals, ",")
			} else if len(vals) > 0 {
				n.setHeader(k, vals[0])
			}
		}
		if meth := str(ho["method"]); meth != "" && !strings.EqualFold(meth, "GET") {
			warn("http-opts.method", "%q not carried (Xray's default is GET)", clip(meth))
		}
	},
	writeClash: func(n *fullNode, p *clashProxy, _ warnFunc) error {
		if n.HeaderType == "http" {
			p.Network = "http"
			o := &clashHTTPOpts{Method: "GET", Path: splitList(n.Path)}
			if _, hs := n.httpHeaderLists(); len(hs) > 0 {
				o.Headers = map[string][]string{}
				for k, v := range hs {
					o.Headers[k] = v
				}
			}
			p.HTTPOpts = o
		}
		return nil
	},
	readSingBox: func(n *fullNode, tr map[string]any, warn warnFunc) {
		n.HeaderType = "http"
		n.Host = strings.Join(strList(tr["host"]), ",")
		n.Path = str(tr["path"])
		if meth := str(tr["method"]); meth != "" && !strings.EqualFold(meth, "GET") {
			warn("transport.method", "%q not carried", clip(meth))
		}
	},
	writeSingBox: func(n *fullNode, o *sbOutbound, warn warnFunc) error {
		if n.HeaderType != "http" {
			return nil
		}
		if n.Security != "" {
			return refuse("headerType", "sing-box's http transport with TLS is HTTP/2, not TCP HTTP obfuscation")
		}
		paths := splitList(n.Path)
		t := &sbTransport{Type: "http", Method: "GET", Headers: n.Headers}
		if hosts := splitList(n.Host); len(hosts) > 0 {
			t.Host = hosts
		}
		if len(paths) > 0 {
			t.Path = paths[0]
			if len(paths) > 1 {
				warn("path", "sing-box takes one path; only the first is carried")
			}
		}
		o.Transport = t
		return nil
	},
}

// rawHeader checks a raw header type read from field: none or http;
// anything else is read as none, with a warning.
func rawHeader(typ, field string, warn warnFunc) string {
	if typ != "" && typ != "none" && typ != "http" {
		warn(field, "unknown tcp header %q; want none or http; using none", clip(typ))
		return ""
	}
	return typ
}

// httpHeaderLists returns the HTTP disguise's Host list and all its
// request headers as lists (Host first, when there are hosts), the shape
// Xray and mihomo take.
func (n *fullNode) httpHeaderLists() ([]string, map[string][]string) {
	hosts := splitList(n.Host)
	if len(hosts) == 0 && len(n.Headers) == 0 {
		return hosts, nil
	}
	h := map[string][]string{}
	if len(hosts) > 0 {
		h["Host"] = hosts
	}
	for k, v := range n.Headers {
		h[k] = []string{v}
	}
	return hosts, h
}
