package lint

import (
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// ruleTransportRemoved reports transports current Xray removed: h2/h3/http
// and quic (migrated to XHTTP) and domainsocket.
type ruleTransportRemoved struct{}

func (ruleTransportRemoved) meta() RuleMeta {
	return RuleMeta{
		ID:       "transport-removed",
		Severity: Error,
		Summary:  "A transport current Xray removed (h2/http, quic, domainsocket).",
		Help:     "Use `xhttp` (stream-one mode covers what h2 and quic did), or `raw`/`ws`/`grpc`. Both ends must change.",
		Versions: "xray v26.3.27 refuses h2/h3/http, quic and domainsocket; seed: they still existed (warning)",
	}
}

func (ruleTransportRemoved) check(c *checkContext) {
	for _, ob := range c.outbounds {
		if ob.stream == nil {
			continue
		}
		m, n, ok := strMember(ob.stream, "network")
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
		ptr := ob.streamP + "/" + m.Key
		if c.target == TargetSeed {
			c.reportSev(Warning, ptr, false, "move to `xhttp` before upgrading Xray", "network %q: %s in current Xray", n, why)
			continue
		}
		c.reportf(ptr, false, "use network `xhttp` (both ends)", "network %q is refused by current Xray: %s", n, why)
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
	c.eachHTTPTransport(func(key, p string, st *schema.Node) {
		m, path, ok := strMember(st, "path")
		if !ok || path == "" || strings.HasPrefix(path, "/") {
			return
		}
		c.reportf(p+"/"+m.Key, false, "write `/"+path+"`", "%s path %q does not start with `/`", key, path)
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
		c.reportf(ob.ptr+"/"+m.Key, false, "use a local IP address, `origin` or `srcip`", "sendThrough %q is not an IP address; Xray refuses it", s)
	}
}
