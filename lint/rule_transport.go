package lint

import "strings"

// ruleTransportRemoved reports transports current Xray removed: h2/h3/http
// and quic (migrated to XHTTP) and domainsocket.
type ruleTransportRemoved struct{}

func (ruleTransportRemoved) meta() RuleMeta {
	return RuleMeta{
		ID:         "transport-removed",
		Severity:   Error,
		Summary:    "A transport current Xray removed (h2/http, quic, domainsocket).",
		Help:       "Use `xhttp` (stream-one mode covers what h2 and quic did), or `raw`/`ws`/`grpc`. Both ends must change.",
		Versions:   "xray v26.3.27 refuses h2/h3/http, quic and domainsocket; seed: they still existed (warning)",
		Supersedes: []string{"schema"},
	}
}

func (ruleTransportRemoved) check(c *checkContext) {
	for _, ob := range c.outbounds {
		m, n, ok := strMember(ob.stream.node, "network")
		if !ok {
			continue
		}
		var why string
		switch strings.ToLower(n) {
		case "h2", "h3", "http":
			why = "the HTTP/2 transport was removed and migrated to XHTTP (stream-one over H2/H3)"
		case "quic":
			why = "the QUIC transport was removed and migrated to XHTTP (stream-one over H3)"
		case "domainsocket", "ds":
			why = "the domainsocket transport was removed"
		default:
			continue
		}
		if c.target == RuntimeSeed {
			c.atValue(ob.stream.ptr, m).severity(Warning).hint("move to `xhttp` before upgrading Xray").
				reportf("network %q: %s in current Xray", n, why)
			continue
		}
		c.atValue(ob.stream.ptr, m).hint("use network `xhttp` (both ends)").reportf("network %q is refused by current Xray: %s", n, why)
	}
}

// rulePathSlash reports a WebSocket, HTTPUpgrade or XHTTP path without a
// leading slash.
type rulePathSlash struct{}

func (rulePathSlash) meta() RuleMeta {
	return RuleMeta{
		ID:       "path-slash",
		Severity: Warning,
		Summary:  "A WebSocket/HTTPUpgrade/XHTTP path that does not start with `/`.",
		Help:     "Start the path with `/` (e.g. `/ws`). Without it the request line is malformed and most servers and CDNs answer 400 or 404.",
		Versions: "all",
	}
}

func (rulePathSlash) check(c *checkContext) {
	c.eachHTTPTransport(func(key string, st place) {
		m, path, ok := strMember(st.node, "path")
		if !ok || path == "" || strings.HasPrefix(path, "/") {
			return
		}
		c.atValue(st.ptr, m).hint("write `/"+path+"`").reportf("%s path %q does not start with `/`", key, path)
	})
}

// ruleSendThrough reports a sendThrough Xray refuses: anything that is not
// an IP, a CIDR, `origin` or `srcip`.
type ruleSendThrough struct{}

func (ruleSendThrough) meta() RuleMeta {
	return RuleMeta{
		ID:       "send-through",
		Severity: Error,
		Summary:  "`sendThrough` is not an IP address, a CIDR, `origin` or `srcip`.",
		Help:     "Give a local IP address (or CIDR) to send from, `origin`, or `srcip`; host names are refused.",
		Versions: "xray v26.3.27",
	}
}

func (ruleSendThrough) check(c *checkContext) {
	for _, ob := range c.outbounds {
		m, s, ok := strMember(ob.node, "sendThrough")
		if !ok || strings.Contains(s, "/") {
			continue
		}
		if isIPLiteral(s) || s == "origin" || s == "srcip" {
			continue
		}
		c.atValue(ob.ptr, m).hint("use a local IP address, `origin` or `srcip`").reportf("sendThrough %q is not an IP address; Xray refuses it", s)
	}
}
