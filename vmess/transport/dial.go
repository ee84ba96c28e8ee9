package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Dial connects to the server described by cfg and returns a stream ready
// for the VMess client. Every phase honours ctx; once Dial has returned,
// ctx is no longer watched and the returned conn's deadlines govern (this
// includes a WebSocket upgrade deferred for early data, which happens
// inside the first Write and is then reported to trace).
//
// Failures are *Error values naming the phase. With raw TCP and no TLS
// there is nothing to verify at this layer: a server that speaks
// something else is only noticed by the VMess client.
func Dial(ctx context.Context, cfg *Config, trace *Trace) (net.Conn, error) {
	if cfg == nil {
		return nil, &Error{Phase: PhaseConfig, Err: errors.New("transport: nil Config")}
	}
	p, err := cfg.plan()
	if err != nil {
		return nil, &Error{Phase: PhaseConfig, Err: err}
	}
	switch p.network {
	case "xhttp":
		return dialXHTTP(ctx, cfg, p, trace)
	case "kcp":
		return dialKCP(ctx, cfg, p, trace)
	}
	conn, err := dialTLS(ctx, cfg, p, trace)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()
	var out net.Conn
	switch p.network {
	case "raw":
		out = conn
		if p.httpHeader {
			out = newHTTPHeaderConn(conn, &cfg.Raw.Request)
		}
	case "ws":
		out, err = dialWS(ctx, conn, cfg, p, trace)
	case "httpupgrade":
		out, err = dialHTTPUpgrade(ctx, conn, cfg, p, trace)
	case "grpc":
		out, err = dialGRPC(ctx, conn, cfg, p, trace)
	case "h2":
		out, err = dialH2(ctx, conn, cfg, p, trace)
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return out, nil
}

// dialTLS connects and, when configured, runs the TLS handshake. A
// randomized ClientHello that uTLS cannot complete (an
// *unusableDrawError) says nothing about the server: it is retried on a
// fresh connection with a fresh draw, at most three times.
// (trimRandomizedGroups already keeps draws from offering such groups;
// this is the fallback should a draw still get there.)
func dialTLS(ctx context.Context, cfg *Config, p *plan, trace *Trace) (net.Conn, error) {
	var force []string
	switch p.network {
	case "ws", "httpupgrade":
		force = []string{"http/1.1"}
	case "raw":
		// Xray's RAW dialer forces http/1.1 only when that is the whole
		// configured list.
		if len(cfg.TLS.ALPN) == 1 && cfg.TLS.ALPN[0] == "http/1.1" {
			force = []string{"http/1.1"}
		}
	case "xhttp":
		// Xray chooses HTTP/1.1 when alpn is exactly ["http/1.1"] but
		// leaves a uTLS hello offering h2 too, so a server that picks h2
		// then fails the HTTP/1.1 client; offering only http/1.1 keeps
		// the choice and the protocol spoken the same.
		if p.xhttp.version == httpVersion1 {
			force = []string{"http/1.1"}
		}
	}
	for attempt := 0; ; attempt++ {
		conn, err := dialTCP(ctx, cfg, trace)
		if err != nil || p.tls == nil {
			return conn, err
		}
		start := time.Now()
		tc, err := handshakeTLS(ctx, conn, p.tls, force)
		if err == nil {
			trace.done(PhaseTLS, start)
			return tc, nil
		}
		conn.Close()
		var draw *unusableDrawError
		if p.tls.randomized && attempt < 2 && ctx.Err() == nil && errors.As(err, &draw) {
			if p.tls.hello, err = lookupFingerprint(p.tls.fingerprint); err != nil {
				return nil, &Error{Phase: PhaseConfig, Err: err}
			}
			continue
		}
		return nil, &Error{Phase: PhaseTLS, Err: ctxErr(ctx, err)}
	}
}

// plan is a Config checked once: what Dial will do.
type plan struct {
	network    string
	tls        *tlsPlan
	httpHeader bool
	xhttp      *xhttpPlan
	kcp        *kcpParams
}

func (c *Config) plan() (*plan, error) {
	p := &plan{network: NetworkName(c.Network)}
	switch p.network {
	case "raw", "ws", "httpupgrade", "grpc", "xhttp", "kcp", "h2":
	case "hysteria":
		return nil, &UnsupportedError{What: fmt.Sprintf("network %q", c.Network)}
	case "h3", "quic":
		return nil, &UnsupportedError{What: fmt.Sprintf("network %q (removed from Xray, which migrated it to XHTTP over HTTP/3)", c.Network)}
	default:
		return nil, &UnsupportedError{What: fmt.Sprintf("network %q (unknown to Xray)", c.Network)}
	}
	switch strings.ToLower(c.Security) {
	case "", "none":
	case "tls":
		if c.TLS.ECHConfigList != "" {
			return nil, &UnsupportedError{What: "tlsSettings.echConfigList (Encrypted Client Hello)",
				Hint: "xvm cannot probe this server as configured; remove echConfigList only if the server also accepts a plain ClientHello"}
		}
		tp, err := c.tlsPlan()
		if err != nil {
			return nil, err
		}
		p.tls = tp
	default: // "reality" and names Xray does not know
		return nil, &UnsupportedError{What: fmt.Sprintf("security %q", c.Security)}
	}
	switch p.network {
	case "xhttp":
		xp, err := c.xhttpPlan(p.tls != nil)
		if err != nil {
			return nil, err
		}
		p.xhttp = xp
	case "kcp":
		kp, err := c.kcpParams()
		if err != nil {
			return nil, err
		}
		p.kcp = kp
	}
	if p.network != "kcp" {
		// Xray applies finalmask.tcp to TCP transports; xvm speaks none
		// of those masks, so a config that sets one is refused by name.
		if _, err := parseFinalMask(c.FinalMask); err != nil {
			return nil, err
		}
	}
	if p.network == "raw" {
		switch strings.ToLower(c.Raw.HeaderType) {
		case "", "none":
		case "http":
			p.httpHeader = true
		default:
			return nil, &UnsupportedError{What: fmt.Sprintf("rawSettings.header.type %q", c.Raw.HeaderType)}
		}
	}
	if c.Sockopt.DialerProxy != "" {
		return nil, &UnsupportedError{What: fmt.Sprintf("sockopt.dialerProxy %q (chaining through another outbound)", c.Sockopt.DialerProxy),
			Hint: "xvm dials the server directly; probe the outbound named there, or this one without dialerProxy if the server is reachable directly"}
	}
	if c.Address == "" {
		return nil, errors.New("transport: empty server address; set the outbound's address")
	}
	if c.Port == 0 {
		return nil, errors.New("transport: server port 0; set the outbound's port")
	}
	return p, nil
}

// resolve returns the addresses of cfg.Address: the IP literal itself,
// or the answers of the resolver (the DNS phase).
func resolve(ctx context.Context, cfg *Config, trace *Trace) ([]netip.Addr, error) {
	host := unbracket(cfg.Address)
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	r := cfg.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	start := time.Now()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, &Error{Phase: PhaseDNS, Err: ctxErr(ctx, err)}
	}
	if len(addrs) == 0 {
		return nil, &Error{Phase: PhaseDNS, Err: fmt.Errorf("no addresses for %q", host)}
	}
	trace.done(PhaseDNS, start)
	return addrs, nil
}

// dialTCP resolves cfg.Address (DNS phase, skipped for IP literals) and
// connects to the first address that accepts (connect phase).
func dialTCP(ctx context.Context, cfg *Config, trace *Trace) (net.Conn, error) {
	addrs, err := resolve(ctx, cfg, trace)
	if err != nil {
		return nil, err
	}
	var d ContextDialer = cfg.NetDialer
	if d == nil {
		d = &net.Dialer{}
	}
	start := time.Now()
	var lastErr error
	for i, a := range addrs {
		c, err := dialOne(ctx, d, net.JoinHostPort(a.Unmap().String(), strconv.Itoa(int(cfg.Port))), len(addrs)-i)
		if err == nil {
			trace.done(PhaseConnect, start)
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &Error{Phase: PhaseConnect, Err: ctxErr(ctx, lastErr)}
}

// unbracket removes the brackets of an IPv6 literal written "[::1]".
func unbracket(host string) string {
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// dialOne dials one of left remaining addresses. Like net.Dialer's serial
// fallback, it gives each address an equal share of the time left (at
// least 2 s), so one black-holed address does not use up the deadline.
func dialOne(ctx context.Context, d ContextDialer, addr string, left int) (net.Conn, error) {
	if dl, ok := ctx.Deadline(); ok && left > 1 {
		share := time.Until(dl) / time.Duration(left)
		if share < 2*time.Second {
			share = 2 * time.Second
		}
		if share < time.Until(dl) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, share)
			defer cancel()
		}
	}
	return d.DialContext(ctx, "tcp", addr)
}

// ctxErr makes sure a failure caused by ctx carries ctx's error for
// errors.Is, while keeping the I/O error text.
func ctxErr(ctx context.Context, err error) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		// An I/O deadline set from ctx's deadline can fire a moment
		// before ctx reports Done. Let ctx catch up so the error says so.
		if d, ok := ctx.Deadline(); ok && time.Until(d) < 100*time.Millisecond {
			<-ctx.Done()
		}
	}
	if ce := ctx.Err(); ce != nil && !errors.Is(err, ce) {
		return fmt.Errorf("%w (%v)", ce, err)
	}
	return err
}

// aLongTimeAgo is a deadline in the past, used to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// withConnContext runs f, which does blocking I/O on conn, so that ctx's
// cancellation or deadline interrupts it. The conn's deadline is cleared
// afterwards.
func withConnContext(ctx context.Context, conn net.Conn, f func() error) error {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	err := f()
	if !stop() {
		// The AfterFunc ran (or is running) and poisoned the deadline.
		if err == nil {
			err = errors.New("interrupted")
		}
		return ctxErr(ctx, err)
	}
	if err != nil {
		// ctx may be done with its AfterFunc not yet started.
		return ctxErr(ctx, err)
	}
	conn.SetDeadline(time.Time{})
	return nil
}
