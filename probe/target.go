package probe

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
)

// Target is one server to probe: a VMess user on a server reached through
// one transport. It is probe's own model; TargetFromNode builds it from a
// convert node.
type Target struct {
	// Name labels the server in results (a share link's remark, an
	// outbound tag, …). It never holds the user id.
	Name string

	// ID is the user id as configured (a UUID, or a 1–30 byte name).
	ID string
	// AlterID > 0 makes the client use the legacy (MD5) header.
	AlterID int
	// Security is the VMess body security: auto (or empty), aes-128-gcm,
	// chacha20-poly1305, none, zero.
	Security string
	// Experiments is Xray's user experiments string, e.g.
	// "AuthenticatedLength|NoTerminationSignal".
	Experiments string
	// ForceLegacy uses the legacy header even with AlterID 0: the seed
	// manual's Xray_VMESS_AEAD_DISABLED=true, which only the command layer
	// reads. Current Xray accepts only AEAD; a rejected target then says
	// so.
	ForceLegacy bool

	// Stream is the server address, port and transport.
	Stream transport.Config

	// warnings are what TargetFromNode could not carry (see Warnings).
	warnings []string
}

// Warnings lists what probing this target will not do as its source
// says: what the mapping from a node could not carry, then the stream's
// own warnings (transport.Config.Warnings).
func (t *Target) Warnings() []string {
	return append(slices.Clone(t.warnings), t.Stream.Warnings()...)
}

// account builds the vmess account, or says what is wrong with the target.
func (t *Target) account() (vmess.Account, error) {
	if strings.TrimSpace(t.ID) == "" {
		return vmess.Account{}, fmt.Errorf("probe: %s has no user id; add the id the server's admin gave you", t.Label())
	}
	id, err := vmess.ParseID(t.ID)
	if err != nil {
		return vmess.Account{}, fmt.Errorf("probe: %s: %w", t.Label(), err)
	}
	sec := vmess.SecurityAuto
	if t.Security != "" {
		if sec, err = vmess.ParseSecurity(t.Security); err != nil {
			return vmess.Account{}, fmt.Errorf("probe: %s: %w", t.Label(), err)
		}
	}
	if t.AlterID < 0 || t.AlterID > 65535 {
		return vmess.Account{}, fmt.Errorf("probe: %s: alterId %d is out of range 0–65535", t.Label(), t.AlterID)
	}
	a := vmess.Account{ID: id, AlterID: uint16(t.AlterID), Security: sec}
	for _, e := range strings.Split(t.Experiments, "|") {
		switch strings.TrimSpace(e) {
		case "AuthenticatedLength":
			a.AuthenticatedLength = true
		case "NoTerminationSignal":
			a.NoTerminationSignal = true
		}
	}
	return a, nil
}

// Validate reports a target that cannot be probed at all (no address, no
// port, a malformed id or security). The error never contains the id.
func (t *Target) Validate() error {
	if err := t.checkServer(); err != nil {
		return err
	}
	_, err := t.account()
	return err
}

// checkServer reports a target without a server address or port.
func (t *Target) checkServer() error {
	if t.Stream.Address == "" {
		return fmt.Errorf("probe: %s has no server address", t.Label())
	}
	if t.Stream.Port == 0 {
		return fmt.Errorf("probe: %s has no server port", t.Label())
	}
	return nil
}

// Label names the target in messages, never by its id: its name quoted,
// else host:port.
func (t *Target) Label() string {
	if t.Name != "" {
		return fmt.Sprintf("%q", t.Name)
	}
	return t.server()
}

// server is the target's host:port as messages show it.
func (t *Target) server() string {
	return hostPort(t.Stream.Address, int(t.Stream.Port))
}

// network is the transport's name as results show it.
func (t *Target) network() string { return networkName(t.Stream.Network) }

// tls reports whether the transport is wrapped in TLS.
func (t *Target) tls() bool { return strings.EqualFold(t.Stream.Security, "tls") }

// drains reports whether a rejected request to this target is answered only
// after the server has read D ∈ [54, 3382] bytes (Xray on RAW TCP without
// TLS or the HTTP header disguise; docs/protocol.md#which-transports-drain).
// Everywhere else a
// rejection is an immediate close.
func (t *Target) drains() bool {
	return t.network() == "raw" && !t.tls() && (t.Stream.Raw.HeaderType == "" || strings.EqualFold(t.Stream.Raw.HeaderType, "none"))
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// serverKey names a server (host:port) for its budget, its reach and its
// routes, with the host as a resolver sees it: case and a trailing dot do
// not matter, and an IP address is written one way ("[::1]",
// "0:0:0:0:0:0:0:1" and "::1" are one server). Names are not resolved up
// front, so a name and an address it resolves to are two servers, each
// with a budget of its own.
func serverKey(host string, port int) string {
	return hostPort(normHost(host), port)
}

// normHost is host in the form serverKey uses.
func normHost(host string) string {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if a, err := netip.ParseAddr(h); err == nil {
		h = a.Unmap().String()
	}
	return h
}
