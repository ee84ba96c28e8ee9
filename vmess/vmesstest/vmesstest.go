// Package vmesstest starts real Xray-core v1.260327.0 instances in-process on
// loopback, in the spirit of net/http/httptest: a VMess server with any
// inbound stream settings and policy, an Xray VMess client to compare
// against, and small loopback destinations (TCP and UDP echo) to route to.
//
// It also runs sing-vmess (the VMess engine of sing-box) in-process with
// StartSingServer: a second server, independent of Xray and of xvm, and the
// only maintained one that still accepts legacy (alterId > 0) auth; with
// SingServerOptions.HTTP, behind sing-box's V2Ray HTTP/2 transport, which
// Xray no longer has. StartLossyUDPRelay puts a path that drops and
// reorders datagrams between a UDP client (mKCP) and its server.
//
// It exists so that every interoperability test of xvm talks to the
// reference implementation, never to xvm's own code.
package vmesstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clog "github.com/xtls/xray-core/common/log"
	xnet "github.com/xtls/xray-core/common/net"
	"github.com/xtls/xray-core/core"
	"github.com/xtls/xray-core/infra/conf/serial"

	// Register every Xray feature, proxy and transport the configs use.
	_ "github.com/xtls/xray-core/main/distro/all"
)

// ServerOptions describe the Xray VMess server to start. Every field is
// optional.
type ServerOptions struct {
	// IDs are the VMess user ids the inbound accepts. Default: one random
	// UUID.
	IDs []string

	// StreamSettings is the inbound's streamSettings object as JSON, for
	// example `{"network":"ws","wsSettings":{"path":"/ws"}}`. Default: raw TCP.
	StreamSettings string

	// Policy is the top-level "policy" object as JSON, for example
	// `{"levels":{"0":{"handshake":4}}}`. Default: Xray's defaults.
	Policy string

	// Outbounds is the top-level "outbounds" array as JSON. Default: one
	// freedom outbound, so requests reach the real destination.
	Outbounds string

	// Routing is the top-level "routing" object as JSON. Default: none.
	Routing string

	// DNS is the top-level "dns" object as JSON, for example
	// `{"hosts":{"example.test":"127.0.0.1"}}` (used by a freedom outbound
	// with a domainStrategy such as "UseIPv4"). Default: none.
	DNS string

	// Listen is the address to listen on. Default 127.0.0.1.
	Listen string
}

// Server is a running in-process Xray VMess server.
type Server struct {
	// Addr is host:port of the VMess inbound.
	Addr string
	// Host and Port are Addr split.
	Host string
	Port int
	// IDs are the accepted user ids; ID is the first.
	IDs []string
	ID  string

	instance *core.Instance
	proc     *exec.Cmd // a server started by StartServerProcess instead
}

// Close stops the server.
func (s *Server) Close() error {
	if s.proc != nil {
		s.proc.Process.Kill()
		s.proc.Wait()
		return nil
	}
	return s.instance.Close()
}

// NewUUID returns a random RFC 4122 version 4 UUID string.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// StartServer starts an Xray VMess server and stops it when the test ends.
func StartServer(tb testing.TB, opts ServerOptions) *Server {
	tb.Helper()
	s, err := NewServer(opts)
	if err != nil {
		tb.Fatalf("vmesstest: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// NewServer starts an Xray VMess server; the caller closes it.
func NewServer(opts ServerOptions) (*Server, error) {
	ids, listen, config := serverConfig(opts)
	inst, port, err := startWithFreePort(listen, config)
	if err != nil {
		return nil, err
	}
	return &Server{
		Addr:     net.JoinHostPort(listen, strconv.Itoa(port)),
		Host:     listen,
		Port:     port,
		IDs:      ids,
		ID:       ids[0],
		instance: inst,
	}, nil
}

// serverConfig is the user ids, the listen address and the whole Xray
// config for a port of a server described by opts.
func serverConfig(opts ServerOptions) ([]string, string, func(port int) map[string]any) {
	ids := opts.IDs
	if len(ids) == 0 {
		ids = []string{NewUUID()}
	}
	listen := opts.Listen
	if listen == "" {
		listen = "127.0.0.1"
	}
	clients := make([]map[string]any, len(ids))
	for i, id := range ids {
		clients[i] = map[string]any{"id": id, "email": fmt.Sprintf("user%d@vmesstest", i)}
	}
	outbounds := opts.Outbounds
	if outbounds == "" {
		outbounds = `[{"protocol":"freedom","tag":"direct"}]`
	}
	return ids, listen, func(port int) map[string]any {
		inbound := map[string]any{
			"tag":      "vmess-in",
			"listen":   listen,
			"port":     port,
			"protocol": "vmess",
			"settings": map[string]any{"clients": clients},
		}
		if opts.StreamSettings != "" {
			inbound["streamSettings"] = json.RawMessage(opts.StreamSettings)
		}
		cfg := map[string]any{
			"log":       map[string]any{"loglevel": "none", "access": "none", "error": "none"},
			"inbounds":  []any{inbound},
			"outbounds": json.RawMessage(outbounds),
		}
		if opts.Policy != "" {
			cfg["policy"] = json.RawMessage(opts.Policy)
		}
		if opts.Routing != "" {
			cfg["routing"] = json.RawMessage(opts.Routing)
		}
		if opts.DNS != "" {
			cfg["dns"] = json.RawMessage(opts.DNS)
		}
		return cfg
	}
}

// ClientOptions describe an Xray client: a local inbound whose traffic goes
// out through Xray's own VMess outbound to a Server. Benchmarks use it to
// put Xray's client next to xvm's.
type ClientOptions struct {
	// Server is the VMess server to connect to (required), and ID the user
	// id to use (default Server.ID).
	Server *Server
	ID     string
	// Security is the user's body security: aes-128-gcm, chacha20-poly1305,
	// none, zero or auto (default auto).
	Security string
	// Experiments is the user's experiments string, e.g. "AuthenticatedLength".
	Experiments string
	// StreamSettings is the outbound's streamSettings as JSON; default raw TCP.
	StreamSettings string
	// Forward, when set ("host:port"), makes the client's inbound a
	// dokodemo-door that sends every TCP connection to that destination.
	// When empty the inbound is a SOCKS5 server (no auth, UDP enabled).
	Forward string
}

// Client is a running in-process Xray client.
type Client struct {
	// Addr is host:port of the client's local inbound (SOCKS5, or the
	// dokodemo-door forwarder when ClientOptions.Forward was set).
	Addr     string
	instance *core.Instance
}

// Close stops the client.
func (c *Client) Close() error { return c.instance.Close() }

// Dial opens a TCP stream to addr ("host:port") through the client's
// VMess outbound in process, with Xray's core.Dial: the session starts
// at Xray's dispatcher, with no local inbound and no loopback hop in
// front of it, so a benchmark measures Xray's client alone. ctx is the
// session's for its whole life (Xray's outbound runs in it): cancel it
// after closing the conn, not before.
func (c *Client) Dial(ctx context.Context, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("vmesstest: Dial %q: %w", addr, err)
	}
	p, err := xnet.PortFromString(port)
	if err != nil {
		return nil, fmt.Errorf("vmesstest: Dial %q: %w", addr, err)
	}
	return core.Dial(ctx, c.instance, xnet.TCPDestination(xnet.ParseAddress(host), p))
}

// StartClient starts an Xray client and stops it when the test ends.
func StartClient(tb testing.TB, opts ClientOptions) *Client {
	tb.Helper()
	c, err := NewClient(opts)
	if err != nil {
		tb.Fatalf("vmesstest: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// NewClient starts an Xray client; the caller closes it.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Server == nil {
		return nil, fmt.Errorf("vmesstest: ClientOptions.Server is required")
	}
	id := opts.ID
	if id == "" {
		id = opts.Server.ID
	}
	sec := opts.Security
	if sec == "" {
		sec = "auto"
	}
	user := map[string]any{"id": id, "security": sec}
	if opts.Experiments != "" {
		user["experiments"] = opts.Experiments
	}
	outbound := map[string]any{
		"protocol": "vmess",
		"settings": map[string]any{"vnext": []any{map[string]any{
			"address": opts.Server.Host,
			"port":    opts.Server.Port,
			"users":   []any{user},
		}}},
	}
	if opts.StreamSettings != "" {
		outbound["streamSettings"] = json.RawMessage(opts.StreamSettings)
	}
	inbound := map[string]any{"listen": "127.0.0.1", "protocol": "socks",
		"settings": map[string]any{"udp": true, "ip": "127.0.0.1"}}
	if opts.Forward != "" {
		host, port, err := net.SplitHostPort(opts.Forward)
		if err != nil {
			return nil, fmt.Errorf("vmesstest: Forward %q: %w", opts.Forward, err)
		}
		p, _ := strconv.Atoi(port)
		inbound["protocol"] = "dokodemo-door"
		inbound["settings"] = map[string]any{"address": host, "port": p, "network": "tcp"}
	}
	inst, port, err := startWithFreePort("127.0.0.1", func(port int) map[string]any {
		inbound["port"] = port
		return map[string]any{
			"log":       map[string]any{"loglevel": "none", "access": "none", "error": "none"},
			"inbounds":  []any{inbound},
			"outbounds": []any{outbound},
		}
	})
	if err != nil {
		return nil, err
	}
	return &Client{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), instance: inst}, nil
}

// startWithFreePort picks a free loopback port, builds the config for it
// and starts Xray, retrying a few times if another process took the port
// in between.
func startWithFreePort(listen string, config func(port int) map[string]any) (*core.Instance, int, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(listen)
		if err != nil {
			return nil, 0, err
		}
		inst, err := Start(config(port))
		if err == nil {
			return inst, port, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, 0, lastErr
}

// Start builds a whole Xray config (any JSON-marshalable value in Xray's
// JSON shape) with Xray's own loader and starts it. Warnings Xray logs
// while loading the config (such as its VMess deprecation notice) are
// dropped rather than printed to stdout; the instance then logs as its
// "log" object says.
func Start(config any) (*core.Instance, error) {
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("vmesstest: marshal config: %w", err)
	}
	// Xray's config loader logs warnings ("The feature VMess … is
	// deprecated") through the process-wide log handler before the new
	// instance's own log app exists, and the handler in place then (Xray's
	// default, or the last instance's) writes them to stdout, breaking
	// Example output and cluttering test logs. Every instance vmesstest
	// builds is configured silent anyway, so route load-time messages to
	// a silent handler; core.New below installs the instance's own.
	//
	// Loading and creating an instance write Xray's process-wide state
	// (the log handler, the system dialer), so two tests starting servers
	// at once race; startMu serialises that part. Running instances do
	// not need it.
	startMu.Lock()
	defer startMu.Unlock()
	clog.RegisterHandler(silentLog{})
	pb, err := serial.LoadJSONConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("vmesstest: xray refused the config %s: %w", raw, err)
	}
	inst, err := core.New(pb)
	if err != nil {
		return nil, fmt.Errorf("vmesstest: create xray instance: %w", err)
	}
	if err := inst.Start(); err != nil {
		inst.Close()
		return nil, fmt.Errorf("vmesstest: start xray: %w", err)
	}
	return inst, nil
}

// startMu guards Xray's process-wide state while an instance is built and
// started (see Start). It is the one piece of package state here, because
// the state it protects is Xray's, not ours.
var startMu sync.Mutex

// silentLog is an Xray log handler that drops every message.
type silentLog struct{}

func (silentLog) Handle(clog.Message) {}

// freePort returns a port free for TCP and for UDP on listen: an mKCP
// inbound listens on UDP, the others on TCP.
func freePort(listen string) (int, error) {
	// A TCP port whose UDP twin is taken stays held while the next is
	// tried, so that the system does not offer it again.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		l, err := net.Listen("tcp", net.JoinHostPort(listen, "0"))
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(listen, strconv.Itoa(port)))
		if err == nil {
			pc.Close()
			return port, nil
		}
		lastErr = err
	}
	return 0, fmt.Errorf("find a port free for TCP and UDP: %w", lastErr)
}

// waitDial is used by tests that must be sure a listener is up.
func waitDial(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
