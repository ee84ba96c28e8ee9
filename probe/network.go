package probe

import (
	"strings"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/vmess/transport"
)

// network is everything probe knows about one transport, so that adding a
// transport to probe is one entry in networks: how a convert node
// describes it, which of its settings a front (a CDN, nginx) may route
// by, and where a plain HTTP request to it is answered with the server's
// Date header.
type network struct {
	// fromNode copies the transport's own settings onto the stream
	// config (address, port and TLS are copied for every network by
	// TargetFromNode); warn says what of them cannot be carried.
	fromNode func(n *convert.Node, c *transport.Config, warn func(string))
	// route is the part of c a front may route requests by; it goes into
	// the route key (see routeKey).
	route func(c *transport.Config) any
	// httpTarget, when set, says where a plain HTTP/1.1 GET reaches the
	// same web server as the transport's requests (path and Host header):
	// HTTP-based transports answer it with a Date header, which gives the
	// server's clock in one request. nil: the transport does not speak
	// HTTP (raw).
	httpTarget func(c *transport.Config) (path, host string)
	// dateFromFront says that Xray's own server for the transport answers
	// a plain request with nothing (HTTPUpgrade closes, gRPC wants
	// HTTP/2), so only a front (a CDN, nginx) would show a Date: the
	// request is made only over TLS, where a front is plausible.
	dateFromFront bool
}

// networks maps probe's name of a transport (see networkName) to what
// probe knows about it. A network that is not here is carried by name
// only, and transport.Dial refuses it by that name.
var networks = map[string]network{
	"raw": {
		fromNode: func(n *convert.Node, c *transport.Config, warn func(string)) {
			if !strings.EqualFold(n.HeaderType, "http") {
				return
			}
			c.Raw.HeaderType = "http"
			c.Raw.Request.Path = splitComma(n.Path)
			if hosts := splitComma(n.Host); len(hosts) > 0 || len(n.Extras().Headers) > 0 {
				c.Raw.Request.Headers = map[string][]string{}
				if len(hosts) > 0 {
					c.Raw.Request.Headers["Host"] = hosts
				}
				for k, v := range n.Extras().Headers {
					c.Raw.Request.Headers[k] = []string{v}
				}
			}
		},
		route: func(c *transport.Config) any { return &c.Raw },
	},
	"ws": {
		fromNode: func(n *convert.Node, c *transport.Config, warn func(string)) {
			c.WS = transport.WSConfig{Path: xrayPath(n, warn), Host: n.Host, Headers: n.Extras().Headers}
		},
		route: func(c *transport.Config) any { return &c.WS },
		httpTarget: func(c *transport.Config) (string, string) {
			return httpPath(c.WS.Path), httpHost(c.WS.Host, c)
		},
	},
	"httpupgrade": {
		fromNode: func(n *convert.Node, c *transport.Config, warn func(string)) {
			c.HTTPUpgrade = transport.HTTPUpgradeConfig{Path: xrayPath(n, warn), Host: n.Host, Headers: n.Extras().Headers}
		},
		route: func(c *transport.Config) any { return &c.HTTPUpgrade },
		httpTarget: func(c *transport.Config) (string, string) {
			return httpPath(c.HTTPUpgrade.Path), httpHost(c.HTTPUpgrade.Host, c)
		},
		dateFromFront: true,
	},
	"grpc": {
		fromNode: func(n *convert.Node, c *transport.Config, warn func(string)) {
			c.GRPC = transport.GRPCConfig{ServiceName: n.ServiceName, Authority: n.Extras().Authority, MultiMode: strings.EqualFold(n.Extras().GRPCMode, "multi")}
		},
		route: func(c *transport.Config) any { return &c.GRPC },
		httpTarget: func(c *transport.Config) (string, string) {
			path := "/" + strings.TrimPrefix(c.GRPC.ServiceName, "/") + "/Tun"
			return path, httpHost(c.GRPC.Authority, c)
		},
		dateFromFront: true,
	},
	"xhttp": {
		fromNode: func(n *convert.Node, c *transport.Config, warn func(string)) {
			c.XHTTP = transport.XHTTPConfig{Host: n.Host, Path: n.Path, Mode: n.Extras().XHTTPMode, Headers: n.Extras().Headers, Extra: n.Extras().XHTTPExtra}
		},
		route: func(c *transport.Config) any { return &c.XHTTP },
		// A plain GET to the path is refused for its missing padding,
		// with a Date header and no session opened.
		httpTarget: func(c *transport.Config) (string, string) {
			return httpPath(c.XHTTP.Path), httpHost(c.XHTTP.Host, c)
		},
	},
	"kcp": {
		fromNode: func(n *convert.Node, c *transport.Config, warn func(string)) {
			// A link's mKCP is the legacy form: without a header or
			// seed it still means mkcp-original, as convert writes it.
			header := n.HeaderType
			if header == "" && len(n.Extras().FinalMask) == 0 {
				header = "none"
			}
			c.KCP = transport.KCPConfig{MTU: uint32(max(n.Extras().MTU, 0)), TTI: uint32(max(n.Extras().TTI, 0)), HeaderType: header, HeaderDomain: n.Host, Seed: n.Extras().Seed,
				UplinkCapacity: kcpSize(n.Extras().UplinkCapacity), DownlinkCapacity: kcpSize(n.Extras().DownlinkCapacity), WriteBufferSize: kcpSize(n.Extras().WriteBufferSize),
				Congestion: n.Extras().Congestion}
		},
		route: func(c *transport.Config) any { return &c.KCP },
	},
	"h2": {
		fromNode: func(n *convert.Node, c *transport.Config, warn func(string)) {
			c.HTTP = transport.HTTPConfig{Host: splitComma(n.Host), Path: n.Path, Method: n.Extras().Method}
			if len(n.Extras().Headers) > 0 {
				c.HTTP.Headers = make(map[string][]string, len(n.Extras().Headers))
				for k, v := range n.Extras().Headers {
					c.HTTP.Headers[k] = []string{v}
				}
			}
		},
		route: func(c *transport.Config) any { return &c.HTTP },
	},
}

// kcpSize is an mKCP capacity or buffer size as transport.KCPConfig
// holds it: nil stays nil (Xray's default), a negative one is 0 (Xray's
// loader reads these as unsigned and refuses a negative number; 0 is
// its smallest).
func kcpSize(v *int) *uint32 {
	if v == nil {
		return nil
	}
	u := uint32(max(*v, 0))
	return &u
}

// networkName is probe's name for a streamSettings network or a node's
// transport: the dialer's own reading (transport.NetworkName), so that
// probe names what transport.Dial will dial — an h3 entry keeps its name
// and is refused by it, never probed as HTTP/2.
func networkName(n string) string { return transport.NetworkName(n) }

// xrayPath is a node's ws or httpupgrade path as Xray reads it (early data
// moved into it as "?ed=N"), warning about what it cannot carry.
func xrayPath(n *convert.Node, warn func(string)) string {
	p, w := n.XrayPath()
	if w != "" {
		warn(w)
	}
	return p
}

// httpPath is a transport path as a request path: early data ("?ed=N")
// removed, a leading slash ensured.
func httpPath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// httpHost is the Host header of a transport's requests: its own host
// setting, else the TLS server name, else the address (Xray's rule).
func httpHost(own string, c *transport.Config) string {
	switch {
	case own != "":
		return own
	case strings.EqualFold(c.Security, "tls") && c.TLS.ServerName != "":
		return c.TLS.ServerName
	}
	return hostPort(c.Address, int(c.Port))
}
