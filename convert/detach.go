package convert

import (
	"bytes"
	"strings"
)

// detacher copies the strings of what Parse keeps (nodes, diagnostics)
// out of the input text. The readers slice their fields out of the text
// (a share link's host, id, query values), so without it one kept field
// keeps the whole input alive, as large as the nodes themselves on a list
// of links. Values nodes share (an id, a CDN host, a path, "tls") are
// copied once and shared; names and addresses, one per node, are copied
// each.
type detacher struct {
	seen map[string]string
}

// maxShared bounds the table of shared values: past it, values are
// copied each, as names are, so that a list of all-different values costs
// no more than copying them.
const maxShared = 1 << 14

// copy returns s in memory of its own.
func (d *detacher) copy(s string) string {
	if s == "" {
		return ""
	}
	return strings.Clone(s)
}

// share returns s in memory of its own, shared with equal values seen
// before.
func (d *detacher) share(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := d.seen[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(d.seen) < maxShared {
		if d.seen == nil {
			d.seen = make(map[string]string)
		}
		d.seen[v] = v
	}
	return v
}

// node makes every string of n its own.
func (d *detacher) node(n *Node) {
	n.Name, n.Server = d.copy(n.Name), d.copy(n.Server)
	for _, p := range []*string{&n.UUID, &n.Cipher, &n.Network, &n.HeaderType, &n.Host, &n.Path,
		&n.ServiceName, &n.Security, &n.SNI, &n.Fingerprint, &n.Origin.Input, &n.Origin.Dialect} {
		*p = d.share(*p)
	}
	if n.ALPN != nil {
		alpn := make([]string, len(n.ALPN))
		for i, s := range n.ALPN {
			alpn[i] = d.share(s)
		}
		n.ALPN = alpn
	}
	if e := n.Extra; e != nil {
		for _, p := range []*string{&e.Experiments, &e.Seed, &e.Method, &e.QUICSecurity, &e.QUICKey,
			&e.GRPCMode, &e.Authority, &e.XHTTPMode, &e.EarlyDataHeader, &e.PCS, &e.VCN, &e.ECH,
			&e.PublicKey, &e.ShortID, &e.SpiderX, &e.PQV} {
			*p = d.share(*p)
		}
		if e.Headers != nil {
			h := make(map[string]string, len(e.Headers))
			for k, v := range e.Headers {
				h[d.share(k)] = d.share(v)
			}
			e.Headers = h
		}
		e.XHTTPExtra, e.FinalMask = bytes.Clone(e.XHTTPExtra), bytes.Clone(e.FinalMask)
	}
}

// diagnostic makes the strings of a diagnostic its own.
func (d *detacher) diagnostic(g *Diagnostic) {
	g.Server, g.Field, g.Message = d.copy(g.Server), d.share(g.Field), d.copy(g.Message)
}
