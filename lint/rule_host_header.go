package lint

import "strings"

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
	c.eachHTTPTransport(func(key string, st place) {
		h := st.member("headers")
		if !h.object() {
			return
		}
		for i := range h.node.Members {
			m := &h.node.Members[i]
			if !strings.EqualFold(m.Key, "host") {
				continue
			}
			if key == "wsSettings" {
				c.atKey(h.ptr, m).severity(Warning).hint("move it to wsSettings.host").
					report("a Host header in wsSettings.headers is deprecated; Xray moves it to `host`")
				continue
			}
			c.atKey(h.ptr, m).hint("move it to "+key+".host").reportf("%s.headers must not contain Host; Xray refuses it", key)
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
		tag, _ := str(get(ob.member("proxySettings").node, "tag"))
		if tag == "" || ob.stream.node == nil {
			continue
		}
		so := ob.stream.member("sockopt")
		if m, d, _ := strMember(so.node, "dialerProxy"); d != "" {
			c.atKey(so.ptr, m).hint("remove dialerProxy or proxySettings").
				reportf("sockopt.dialerProxy conflicts with proxySettings.tag %q; Xray refuses both together", tag)
		}
	}
}
