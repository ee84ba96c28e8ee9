package probe

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// routeKey names the route a target's requests take to a VMess server: its
// host:port and every transport setting a front (a CDN, nginx, a
// load balancer) may route by — network, TLS and SNI, the WebSocket or
// HTTPUpgrade path, Host and headers, the gRPC service name and authority,
// the RAW HTTP disguise. Two targets with the same key reach the same
// server, so a verdict about its clock or an id carries over; two that
// differ may reach different servers on one host:port. The key errs on
// the side of difference: a setting that only looks different costs a
// search, never a wrong verdict.
func routeKey(t *Target) string {
	c := &t.Stream
	r := struct {
		Server    string
		Network   string
		Security  string
		SNI       string `json:",omitempty"`
		Transport any    `json:",omitempty"`
	}{
		Server:   serverKey(c.Address, int(c.Port)),
		Network:  t.network(),
		Security: strings.ToLower(c.Security),
	}
	if r.Security == "" {
		r.Security = "none"
	}
	if r.Security != "none" {
		r.SNI = c.TLS.ServerName
	}
	if nw, ok := networks[r.Network]; ok {
		r.Transport = nw.route(c)
	}
	b, err := json.Marshal(r) // maps come out sorted: the key is canonical
	if err != nil {
		// Unreachable (only strings, bools, slices and maps of them); a
		// key of its own shares nothing, which is always sound.
		return fmt.Sprintf("\x00%p", t)
	}
	return string(b)
}

// routeVerdicts is what the entries of one run learn about the VMess server
// behind one route (see routeKey): whether a handshake at our own clock
// was accepted, which proves that server's clock agrees with ours; the
// offset a diagnosis found; and the ids no offset was accepted for. A
// front that routes by path, Host or SNI sends two routes on one host:port
// to different servers, with different clocks and users, so these are
// never shared between routes.
type routeVerdicts struct {
	mu      sync.Mutex
	clockOK bool
	// skew is the offset a diagnosis found for this route (a window that
	// excludes our clock), for other rejected entries to verify.
	skew *skewEstimate
	// rejected maps parsed user ids that a diagnosis found accepted at no
	// offset to that verdict, so an entry with the same id and route
	// needs no diagnosis of its own.
	rejected map[string]*rejection
}

// rejection is a diagnosis's verdict that an id is wrong, as another entry
// with the same id reuses it: the message (without what only the first
// entry's settings add), the diagnosis behind it and its advice.
type rejection struct {
	message string
	diag    Diagnosis
	advice  []Advice
}

// confirmClock records that the route's server accepted a handshake at our
// clock.
func (rv *routeVerdicts) confirmClock() {
	rv.mu.Lock()
	rv.clockOK = true
	rv.mu.Unlock()
}

// clockConfirmed reports whether any entry of the route was accepted at
// our clock.
func (rv *routeVerdicts) clockConfirmed() bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.clockOK
}

// recordSkew keeps the first offset found for this route.
func (rv *routeVerdicts) recordSkew(est skewEstimate) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.skew == nil {
		rv.skew = &est
	}
}

// knownSkew is the offset another entry's diagnosis found, if any.
func (rv *routeVerdicts) knownSkew() (skewEstimate, bool) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.skew == nil {
		return skewEstimate{}, false
	}
	return *rv.skew, true
}

// recordRejected keeps the verdict that no offset was accepted for id.
func (rv *routeVerdicts) recordRejected(id string, r *rejection) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.rejected == nil {
		rv.rejected = map[string]*rejection{}
	}
	rv.rejected[id] = r
}

// wasRejected is the verdict that found no offset for id, if any.
func (rv *routeVerdicts) wasRejected(id string) (*rejection, bool) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	r, ok := rv.rejected[id]
	return r, ok
}
