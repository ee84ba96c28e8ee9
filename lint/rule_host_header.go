package lint

import (
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// ruleHostHeader reports a Host inside transport `headers`. Xray refuses it
// for HTTPUpgrade and XHTTP and, for WebSocket, moves it into `host` with a
// deprecation warning.
type ruleHostHeader struct{}

func (ruleHostHeader) meta() RuleMeta {
	return RuleMeta{
		ID:       "host-header",
		Severity: Error,
		Summary:  "`Host` given inside transport `headers` instead of `host`.",
		Help:     "Move the value to the transport's `host` key. Xray refuses a Host header for httpupgrade and xhttp, and moves it (with a warning) for ws.",
		Versions: "xray v26.3.27 (httpupgrade, xhttp: error; ws: warning)",
	}
}

func (ruleHostHeader) check(c *checkContext) {
	c.eachHTTPTransport(func(key, p string, st *schema.Node) {
		hp, h := childPtr(st, p, "headers")
		if h == nil || h.Kind != schema.Object {
			return
		}
		for _, m := range h.Members {
			if !strings.EqualFold(m.Key, "host") {
				continue
			}
			ptr := schema.Child(hp, m.Key)
			if key == "wsSettings" {
				c.reportSev(Warning, ptr, true, "move it to wsSettings.host", "a Host header in wsSettings.headers is deprecated; Xray moves it to `host`")
				continue
			}
			c.reportf(ptr, true, "move it to "+key+".host", "%s.headers must not contain Host; Xray refuses it", key)
		}
	})
}

// ruleProxyConflict reports proxySettings.tag together with
// sockopt.dialerProxy: Xray refuses the combination.
type ruleProxyConflict struct{}

func (ruleProxyConflict) meta() RuleMeta {
	return RuleMeta{
		ID:       "proxy-conflict",
		Severity: Error,
		Summary:  "`proxySettings.tag` and `sockopt.dialerProxy` both set.",
		Help:     "Keep one of them: proxySettings (optionally with transportLayer: true) or streamSettings.sockopt.dialerProxy.",
		Versions: "xray v1.8.0 and later",
	}
}

func (ruleProxyConflict) check(c *checkContext) {
	for _, ob := range c.outbounds {
		_, ps := childPtr(ob.node, ob.ptr, "proxySettings")
		tag, _ := str(ps.Get("tag"))
		if tag == "" || ob.stream == nil {
			continue
		}
		sp, so := childPtr(ob.stream, ob.streamP, "sockopt")
		if m, d, _ := strMember(so, "dialerProxy"); d != "" {
			c.reportf(sp+"/"+m.Key, true, "remove dialerProxy or proxySettings", "sockopt.dialerProxy conflicts with proxySettings.tag %q; Xray refuses both together", tag)
		}
	}
}
