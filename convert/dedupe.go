package convert

import (
	"fmt"
	"strings"

	"github.com/xvmtools/xvm/vmess"
)

// serverKey is what makes two nodes the same server: where they connect
// (address, port), who they are (the user id, compared as the 16 bytes
// Xray derives from it) and the route to it (transport, path, host, TLS
// server name, transport security). Names, ciphers and client-side details
// (fingerprint, ALPN, mux) are not part of it: they change how a client
// talks to the server, not which server it is.
type serverKey struct {
	server   string
	port     int
	id       vmess.ID
	rawID    string // when the id does not parse (never after Parse's checks)
	network  string
	path     string
	host     string
	sni      string
	security string
}

func (n *Node) serverKey() serverKey {
	k := serverKey{
		server:   strings.ToLower(strings.TrimSuffix(n.Server, ".")),
		port:     n.Port,
		network:  strings.ToLower(n.network()),
		path:     n.Path,
		host:     strings.ToLower(n.Host),
		security: strings.ToLower(n.Security),
	}
	if k.network == "raw" {
		k.network = "tcp"
	}
	if k.network == "grpc" {
		k.path = n.ServiceName // gRPC's path is its service name
	}
	if id, err := vmess.ParseID(n.UUID); err == nil {
		k.id = id
	} else {
		k.rawID = strings.ToLower(n.UUID)
	}
	if k.security != "" {
		// An empty server name means the address, as in Xray's TLS
		// client; "sni=address" and no sni are the same server.
		k.sni = strings.ToLower(n.SNI)
		if k.sni == "" {
			k.sni = k.server
		}
	}
	return k
}

// SameServer reports whether a and b reach the same server (the fields
// Dedupe compares).
func SameServer(a, b *Node) bool { return a.serverKey() == b.serverKey() }

// Dedupe returns nodes without repeats of a server already listed, in
// input order: the first of each server stays. Each node left out gets a
// Info naming it and the node it repeats. Two nodes are the same server
// when their address and port, user id, transport, path (gRPC service
// name), host, TLS server name (the address when unset) and transport
// security are equal; letters in host names compare without case.
func Dedupe(nodes []*Node) ([]*Node, []Diagnostic) {
	first := make(map[serverKey]*Node, len(nodes))
	kept := make([]*Node, 0, len(nodes))
	var notes []Diagnostic
	for _, n := range nodes {
		k := n.serverKey()
		if f, ok := first[k]; ok {
			notes = append(notes, n.diag(Info, "", "same server as %q (%s%s); left out", f.label(), joinHostPort(f.Server, f.Port), f.where()))
			continue
		}
		first[k] = n
		kept = append(kept, n)
	}
	return kept, notes
}

// where is ", INPUT:LINE" for a node from another input or line, for
// messages that point at it.
func (n *Node) where() string {
	if n.Origin.Input == "" {
		return ""
	}
	if n.Origin.Line > 0 {
		return fmt.Sprintf(", %s:%d", n.Origin.Input, n.Origin.Line)
	}
	return ", " + n.Origin.Input
}
