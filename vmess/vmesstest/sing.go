package vmesstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	boxtls "github.com/sagernet/sing-box/common/tls"
	"github.com/sagernet/sing-box/option"
	"github.com/sagernet/sing-box/transport/v2rayhttp"
	singvmess "github.com/sagernet/sing-vmess"
	"github.com/sagernet/sing/common/bufio"
	"github.com/sagernet/sing/common/logger"
	M "github.com/sagernet/sing/common/metadata"
	N "github.com/sagernet/sing/common/network"
)

// SingUser is one user of a SingServer.
type SingUser struct {
	// ID is the user id (a UUID, or any string, which sing maps through
	// UUIDv5 as Xray does).
	ID string
	// AlterID > 0 makes sing accept the legacy (MD5) header for this user,
	// with alter ids 1…AlterID. sing's legacy table holds alter ids only,
	// never the primary id.
	AlterID int
}

// SingServerOptions describe the sing-vmess server to start. Every field is
// optional.
type SingServerOptions struct {
	// Users the server accepts. Default: one random UUID with AlterID 0.
	Users []SingUser

	// Listen is the address to listen on. Default 127.0.0.1.
	Listen string

	// Now is the clock of the legacy auth table (sing's
	// ServiceWithTimeFunc). sing checks AEAD auth ids against the system
	// clock regardless. Default time.Now.
	Now func() time.Time

	// DisableHeaderProtection reads the header with ReadAtLeast instead of
	// requiring it in the first read, as sing-box does when the inbound has
	// a V2Ray transport. Default: off, as sing-box on raw TCP.
	DisableHeaderProtection bool

	// HTTP, when set, puts sing-box's V2Ray HTTP transport in front of
	// the VMess service, as a sing-box VMess inbound with a "transport"
	// of type "http" runs (header protection then off, as sing-box does).
	HTTP *SingHTTPTransport
}

// SingHTTPTransport configures sing-box's V2Ray HTTP transport server
// (sing-box v1.13.0 transport/v2rayhttp): HTTP/2 over TLS when Cert is
// set, else h2c with prior knowledge or HTTP/1.1.
type SingHTTPTransport struct {
	// Host, when set, lists the accepted Host (:authority) values.
	Host []string
	// Path is the path prefix requests must have; default "/".
	Path string
	// Method, when set, is the only accepted method.
	Method string
	// Cert serves TLS through sing-box's own TLS server with this
	// certificate.
	Cert *Cert
}

// SingServer is a running in-process sing-vmess server (v0.2.8, the VMess
// engine of sing-box): sing's own Service reads and answers every
// connection, and a small handler here forwards the accepted TCP stream or
// UDP datagrams to the real destination, as sing-box's direct outbound
// would.
//
// It is a second peer, independent of Xray and of xvm: the only maintained
// server that still speaks legacy (alterId > 0) auth.
type SingServer struct {
	// Addr is host:port of the listener; Host and Port are Addr split.
	Addr string
	Host string
	Port int
	// Users are the accepted users; ID is the first user's id.
	Users []SingUser
	ID    string

	service    *singvmess.Service[int]
	httpServer *v2rayhttp.Server
	l          net.Listener
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	rejected []error
	panics   []any
	closed   bool
}

// StartSingServer starts a sing-vmess server and stops it when the test
// ends.
func StartSingServer(tb testing.TB, opts SingServerOptions) *SingServer {
	tb.Helper()
	s, err := NewSingServer(opts)
	if err != nil {
		tb.Fatalf("vmesstest: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// NewSingServer starts a sing-vmess server; the caller closes it.
func NewSingServer(opts SingServerOptions) (*SingServer, error) {
	users := opts.Users
	if len(users) == 0 {
		users = []SingUser{{ID: NewUUID()}}
	}
	listen := opts.Listen
	if listen == "" {
		listen = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(listen, "0"))
	if err != nil {
		return nil, fmt.Errorf("vmesstest: sing listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &SingServer{
		Addr:   l.Addr().String(),
		Host:   listen,
		Port:   l.Addr().(*net.TCPAddr).Port,
		Users:  users,
		ID:     users[0].ID,
		l:      l,
		cancel: cancel,
		conns:  make(map[net.Conn]struct{}),
	}
	var options []singvmess.ServiceOption
	if opts.Now != nil {
		options = append(options, singvmess.ServiceWithTimeFunc(opts.Now))
	}
	if opts.DisableHeaderProtection || opts.HTTP != nil {
		options = append(options, singvmess.ServiceWithDisableHeaderProtection())
	}
	s.service = singvmess.NewService[int](singHandler{s}, options...)
	index := make([]int, len(users))
	ids := make([]string, len(users))
	alters := make([]int, len(users))
	for i, u := range users {
		index[i], ids[i], alters[i] = i, u.ID, u.AlterID
	}
	if err := s.service.UpdateUsers(index, ids, alters); err != nil {
		l.Close()
		cancel()
		return nil, fmt.Errorf("vmesstest: sing users: %w", err)
	}
	if err := s.service.Start(); err != nil {
		l.Close()
		cancel()
		return nil, fmt.Errorf("vmesstest: sing start: %w", err)
	}
	if opts.HTTP != nil {
		if err := s.serveHTTP(ctx, opts.HTTP); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	s.wg.Add(1)
	go s.serve(ctx)
	return s, nil
}

// serveHTTP serves the listener through sing-box's V2Ray HTTP transport,
// which hands each tunnelled stream to the VMess service.
func (s *SingServer) serveHTTP(ctx context.Context, t *SingHTTPTransport) error {
	var tlsConfig boxtls.ServerConfig
	if t.Cert != nil {
		var err error
		tlsConfig, err = boxtls.NewServer(ctx, logger.NOP(), option.InboundTLSOptions{
			Enabled:     true,
			Certificate: strings.Split(strings.TrimSpace(string(t.Cert.CertPEM)), "\n"),
			Key:         strings.Split(strings.TrimSpace(string(t.Cert.KeyPEM)), "\n"),
		})
		if err != nil {
			return fmt.Errorf("vmesstest: sing-box TLS: %w", err)
		}
		if err := tlsConfig.Start(); err != nil {
			return fmt.Errorf("vmesstest: sing-box TLS: %w", err)
		}
	}
	srv, err := v2rayhttp.NewServer(ctx, logger.NOP(), option.V2RayHTTPOptions{Host: t.Host, Path: t.Path, Method: t.Method}, tlsConfig, singStreams{s})
	if err != nil {
		return fmt.Errorf("vmesstest: sing-box HTTP transport: %w", err)
	}
	s.httpServer = srv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		srv.Serve(s.l)
	}()
	return nil
}

// singStreams takes the streams sing-box's HTTP transport accepts and
// serves each with the VMess service, as the raw accept loop does.
type singStreams struct{ s *SingServer }

func (h singStreams) NewConnectionEx(ctx context.Context, conn net.Conn, source, _ M.Socksaddr, onClose N.CloseHandlerFunc) {
	s := h.s
	if !s.track(conn) {
		conn.Close()
		onClose(net.ErrClosed)
		return
	}
	defer s.untrack(conn)
	defer func() {
		if p := recover(); p != nil {
			s.mu.Lock()
			s.panics = append(s.panics, p)
			s.mu.Unlock()
		}
	}()
	err := s.service.NewConnection(ctx, conn, source, func(error) {})
	if err != nil {
		s.mu.Lock()
		s.rejected = append(s.rejected, err)
		s.mu.Unlock()
	}
	conn.Close()
	onClose(err)
}

func (s *SingServer) serve(ctx context.Context) {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			defer c.Close() // a rejection is an immediate close, as in sing-box
			defer func() {
				// sing-vmess panics on a security value it does not know
				// (e.g. zero, 6); sing-box would crash, a test must not.
				if p := recover(); p != nil {
					s.mu.Lock()
					s.panics = append(s.panics, p)
					s.mu.Unlock()
				}
			}()
			err := s.service.NewConnection(ctx, c, M.SocksaddrFromNet(c.RemoteAddr()), func(error) {})
			if err != nil {
				s.mu.Lock()
				s.rejected = append(s.rejected, err)
				s.mu.Unlock()
			}
		}()
	}
}

func (s *SingServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// dialTracked dials a destination for a relayed session and tracks the
// connection so Close can end it; once the server is closed it dials
// nothing lasting and returns net.ErrClosed.
func (s *SingServer) dialTracked(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if !s.track(c) {
		c.Close()
		return nil, net.ErrClosed
	}
	return c, nil
}

func (s *SingServer) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Rejections returns the errors sing's Service returned for connections it
// refused (bad header, bad timestamp, unknown user …), oldest first.
func (s *SingServer) Rejections() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.rejected...)
}

// Panics returns the values of panics sing's Service raised while reading
// a request (the connection was closed), oldest first.
func (s *SingServer) Panics() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]any(nil), s.panics...)
}

// Close stops the server and closes every connection it holds.
func (s *SingServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	err := s.l.Close()
	if s.httpServer != nil {
		s.httpServer.Close()
	}
	s.service.Close()
	s.wg.Wait()
	return err
}

// singHandler forwards what sing's Service accepted to the real
// destination.
type singHandler struct{ s *SingServer }

// NewConnectionEx relays a TCP stream with sing's own CopyConn, as sing-box
// does: a half-close from either side is passed on with CloseWrite.
func (h singHandler) NewConnectionEx(ctx context.Context, conn net.Conn, source, destination M.Socksaddr, onClose N.CloseHandlerFunc) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	out, err := h.s.dialTracked(dctx, "tcp", destination.String())
	cancel()
	if err != nil {
		onClose(err)
		return
	}
	defer h.s.untrack(out)
	defer out.Close()
	onClose(bufio.CopyConn(ctx, conn, out))
}

// singUDPIdle is how long a UDP session lingers for replies after the
// client's side has ended.
const singUDPIdle = 300 * time.Millisecond

// NewPacketConnectionEx relays datagrams between the VMess packet stream
// and a UDP socket connected to the destination.
func (h singHandler) NewPacketConnectionEx(ctx context.Context, conn N.PacketConn, source, destination M.Socksaddr, onClose N.CloseHandlerFunc) {
	pc, ok := conn.(net.PacketConn)
	if !ok {
		onClose(errors.New("vmesstest: sing packet conn is not a net.PacketConn"))
		return
	}
	out, err := h.s.dialTracked(ctx, "udp", net.JoinHostPort(destination.AddrString(), strconv.Itoa(int(destination.Port))))
	if err != nil {
		onClose(err)
		return
	}
	defer h.s.untrack(out)
	defer out.Close()
	down := make(chan error, 1)
	go func() {
		b := make([]byte, 65536)
		for {
			n, err := out.Read(b)
			if err != nil {
				down <- err
				return
			}
			if _, err := pc.WriteTo(b[:n], destination.UDPAddr()); err != nil {
				down <- err
				return
			}
		}
	}()
	b := make([]byte, 65536)
	var upErr error
	for {
		n, _, err := pc.ReadFrom(b)
		if err != nil {
			upErr = err
			break
		}
		if _, err := out.Write(b[:n]); err != nil {
			upErr = err
			break
		}
	}
	// The client ended its side: let replies in flight arrive, then stop.
	out.SetReadDeadline(time.Now().Add(singUDPIdle))
	<-down
	onClose(upErr)
}
