package vmess

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/xvmtools/xvm/vmess/internal/codec"
)

// readBufferSize is the receive buffer in front of the underlying conn: a
// few maximum-size chunks per read system call.
const readBufferSize = 64 << 10

// writeBufferSize is the staging buffer for sealed chunks; one Write of a
// large slice goes out in conn.Write calls of up to this size.
const writeBufferSize = 8*codec.MaxChunk + 512

// Conn is a VMess client connection. It implements net.Conn plus CloseWrite
// and HandshakeContext. Read and Write may be called from different
// goroutines at once, like any net.Conn.
//
// For NetworkUDP every Write sends one datagram and every Read returns one
// datagram; a datagram longer than the Read buffer is truncated and
// io.ErrShortBuffer is returned with its first part. With security zero
// (no chunking) datagram boundaries are lost, as in Xray.
type Conn struct {
	conn    net.Conn
	now     func() time.Time
	rand    io.Reader
	trace   Trace
	acct    Account
	dest    Destination
	ip      netip.Addr
	domain  string
	legacy  bool
	sec     Security
	opts    RequestOptions
	udp     bool
	v       byte
	reqKey  [16]byte
	reqIV   [16]byte
	respKey [16]byte
	respIV  [16]byte

	// wsem is the write lock: a channel, so that a Read waiting for the
	// request header can stop waiting when a concurrent Write sends it
	// (headerDone) instead of waiting for that whole Write to finish.
	wsem       chan struct{}
	headerDone chan struct{} // closed once the header is written or failed
	headerErr  error         // set before headerDone closes
	w          *codec.BodyState
	wbuf       []byte
	headerSent bool
	wclosed    bool
	werr       error

	rmu      sync.Mutex
	br       *bufio.Reader
	rs       *codec.BodyState  // the response body's framing
	r        *codec.BodyReader // reads it, once the response header is in
	respDone bool
	respErr  error
}

// Client wraps conn (any transport). No I/O happens until the first Write
// (which sends the sealed request header together with the first body
// chunk, in one conn.Write) or Handshake. The first Read reads and
// verifies the response header (sending the request header first if no
// Write has). cfg may be nil.
func Client(conn net.Conn, acct Account, dest Destination, cfg *Config) (*Conn, error) {
	if conn == nil {
		return nil, errors.New("vmess: Client needs a connection")
	}
	if acct.Security > SecurityLegacyAES128CFB {
		return nil, fmt.Errorf("vmess: unknown security %v", acct.Security)
	}
	if dest.Network != NetworkUDP && dest.Network != NetworkTCP && dest.Network != 0 {
		return nil, fmt.Errorf("vmess: unknown network %d: use NetworkTCP or NetworkUDP", dest.Network)
	}
	ip, domain, err := dest.addr()
	if err != nil {
		return nil, err
	}
	c := &Conn{
		conn:   conn,
		now:    time.Now,
		rand:   rand.Reader,
		acct:   acct,
		dest:   dest,
		ip:     ip,
		domain: domain,
		legacy: acct.AlterID > 0,
		sec:    acct.Security.Resolve(),
		opts:   acct.options(),
		udp:    dest.Network == NetworkUDP,

		wsem:       make(chan struct{}, 1),
		headerDone: make(chan struct{}),
	}
	if cfg != nil {
		if cfg.Now != nil {
			c.now = cfg.Now
		}
		if cfg.Rand != nil {
			c.rand = cfg.Rand
		}
		if cfg.Trace != nil {
			c.trace = *cfg.Trace
		}
		c.legacy = c.legacy || cfg.ForceLegacy
	}
	var seed [33]byte
	if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
		return nil, fmt.Errorf("vmess: random source: %w", err)
	}
	copy(c.reqIV[:], seed[0:16])
	copy(c.reqKey[:], seed[16:32])
	c.v = seed[32]
	c.respKey, c.respIV = codec.ResponseKeys(c.reqKey, c.reqIV, c.legacy)
	if c.w, err = codec.NewBodyState(c.bodyParams(c.reqKey, c.reqIV), false); err != nil {
		return nil, err
	}
	if c.rs, err = codec.NewBodyState(c.bodyParams(c.respKey, c.respIV), true); err != nil {
		return nil, err
	}
	return c, nil
}

// bodyParams selects the body framing of c's account in one direction,
// whose key and IV are given.
func (c *Conn) bodyParams(key, iv [16]byte) codec.BodyParams {
	return codec.BodyParams{
		Security: wireSecurity(c.sec), Options: byte(c.opts), UDP: c.udp,
		Key: key, IV: iv, ReqKey: c.reqKey, ReqIV: c.reqIV, Rand: c.rand,
	}
}

// wireSecurity is the security nibble sent for a resolved security.
func wireSecurity(s Security) byte {
	switch s {
	case SecurityAES128GCM:
		return codec.SecurityAES128GCM
	case SecurityChaCha20Poly1305:
		return codec.SecurityChaCha20Poly1305
	case SecurityLegacyAES128CFB:
		return codec.SecurityLegacyAES128CFB
	}
	return codec.SecurityNone // none, and zero (which sends no options)
}

// appendRequestHeader seals the request header for the current time and
// appends it to dst.
func (c *Conn) appendRequestHeader(dst []byte) ([]byte, error) {
	// Draws: header padding length and bytes, auth random, conn nonce,
	// alter-id choice.
	var r [1 + 15 + 4 + 8 + 2]byte
	if _, err := io.ReadFull(c.rand, r[:]); err != nil {
		return dst, fmt.Errorf("vmess: random source: %w", err)
	}
	in := codec.Instruction{
		ReqIV: c.reqIV, ReqKey: c.reqKey, V: c.v, Options: byte(c.opts),
		Security: wireSecurity(c.sec), Command: codec.CommandTCP,
		Port: c.dest.Port, IP: c.ip, Domain: c.domain,
		Padding: r[1 : 1+r[0]%16],
	}
	if c.udp {
		in.Command = codec.CommandUDP
	}
	var stack [128 + 256]byte
	plain := codec.AppendInstruction(stack[:0], &in)
	t := c.now().Unix()
	ck := codec.CmdKey(c.acct.ID)
	if c.legacy {
		auth := [16]byte(c.acct.ID)
		if c.acct.AlterID > 0 {
			n := 1 + int(uint16(r[28])<<8|uint16(r[29]))%int(c.acct.AlterID)
			auth = codec.AlterID(c.acct.ID, n)
		}
		return codec.SealLegacyHeader(dst, ck, auth, t, plain), nil
	}
	authID := codec.AuthID(ck, t, [4]byte(r[16:20]))
	return codec.SealHeader(dst, ck, authID, [8]byte(r[20:28]), plain), nil
}

// writeLocked writes buf, which holds the request header when
// !c.headerSent. The write lock is held.
func (c *Conn) writeLocked(buf []byte) error {
	first := !c.headerSent
	_, err := c.conn.Write(buf)
	if err != nil {
		c.werr = fmt.Errorf("vmess: write: %w", err)
	}
	if first {
		if err == nil {
			c.headerSent = true
			if c.trace.RequestWritten != nil {
				c.trace.RequestWritten(time.Now())
			}
		}
		c.headerErr = c.werr
		close(c.headerDone)
	}
	return c.werr
}

// startLocked returns the write staging buffer, holding the sealed request
// header if it has not been sent, with room for payload bytes of chunks.
// The buffer grows to at most writeBufferSize, so a prober's single small
// request costs little. The write lock is held.
func (c *Conn) startLocked(payload int) ([]byte, error) {
	need := 512 + payload + (payload/c.w.MaxPayload()+1)*(18+16+codec.MaxPadding)
	if need > writeBufferSize {
		need = writeBufferSize
	}
	if cap(c.wbuf) < need {
		c.wbuf = make([]byte, 0, need)
	}
	buf := c.wbuf[:0]
	if !c.headerSent {
		var err error
		if buf, err = c.appendRequestHeader(buf); err != nil {
			c.werr = err
			c.headerErr = err
			close(c.headerDone)
			return nil, err
		}
	}
	return buf, nil
}

// Write sends p as body data. The first Write carries the request header
// in the same conn.Write. For UDP, p is one datagram and must fit one
// chunk (8110 bytes with the default options).
func (c *Conn) Write(p []byte) (int, error) {
	c.lockW()
	defer c.unlockW()
	if c.werr != nil {
		return 0, c.werr
	}
	if c.wclosed {
		return 0, fmt.Errorf("vmess: write after CloseWrite: %w", net.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil // an empty chunk would be end-of-stream
	}
	if c.udp && c.w.Chunked() && len(p) > c.w.MaxPayload() {
		return 0, fmt.Errorf("vmess: a UDP datagram of %d bytes does not fit one VMess chunk (at most %d with these options)", len(p), c.w.MaxPayload())
	}
	if c.w.Passthrough() && c.headerSent {
		n, err := c.conn.Write(p)
		if err != nil {
			c.werr = fmt.Errorf("vmess: write: %w", err)
			return n, c.werr
		}
		return n, nil
	}
	buf, err := c.startLocked(len(p))
	if err != nil {
		return 0, err
	}
	max := c.w.MaxPayload()
	done, staged := 0, 0
	for staged < len(p) {
		n := min(len(p)-staged, max)
		if buf, err = c.w.AppendChunk(buf, p[staged:staged+n]); err != nil {
			c.werr = err
			return done, err
		}
		staged += n
		if cap(buf)-len(buf) < codec.MaxChunk+18 || staged == len(p) {
			if err := c.writeLocked(buf); err != nil {
				return done, err
			}
			done = staged
			buf = c.wbuf[:0]
		}
	}
	return done, nil
}

// CloseWrite sends the end-of-stream chunk (when the options have chunk
// stream and the account does not set NoTerminationSignal), then
// half-closes the underlying conn if it has a CloseWrite method. The
// request header is sent first if no Write has sent it.
func (c *Conn) CloseWrite() error {
	c.lockW()
	defer c.unlockW()
	if c.wclosed {
		return nil
	}
	if c.werr != nil {
		return c.werr
	}
	c.wclosed = true
	buf, err := c.startLocked(0)
	if err != nil {
		return err
	}
	if c.opts.Has(OptionChunkStream) && !c.acct.NoTerminationSignal {
		if buf, err = c.w.AppendEOS(buf); err != nil {
			return err
		}
	}
	if len(buf) > 0 {
		if err := c.writeLocked(buf); err != nil {
			return err
		}
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		// A peer that already closed (Xray stops reading at the EOS
		// length and may reset) leaves nothing to half-close: the end of
		// the stream has been delivered, so that is not an error.
		if err := cw.CloseWrite(); err != nil && !codec.IsReset(err) && !errors.Is(err, syscall.ENOTCONN) {
			return fmt.Errorf("vmess: half-close: %w", err)
		}
	}
	return nil
}

// lockW and unlockW take and release the write lock.
func (c *Conn) lockW()   { c.wsem <- struct{}{} }
func (c *Conn) unlockW() { <-c.wsem }

// sendHeader writes the request header alone if nothing has been written.
// When a concurrent Write holds the write lock, it returns as soon as that
// Write has sent the header, so a reader never waits for a long Write
// (which may itself wait for the reader, through the echoing server).
func (c *Conn) sendHeader() error {
	select {
	case <-c.headerDone:
		return c.headerErr
	case c.wsem <- struct{}{}:
	}
	defer c.unlockW()
	if c.headerSent {
		return nil
	}
	if c.werr != nil {
		return c.werr
	}
	buf, err := c.startLocked(0)
	if err != nil {
		return err
	}
	return c.writeLocked(buf)
}

// readResponseLocked reads and verifies the response header once. c.rmu
// is held.
func (c *Conn) readResponseLocked() error {
	if c.respDone {
		return c.respErr
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(c.conn, readBufferSize)
	}
	// A deadline that passes before any response byte consumed nothing:
	// the caller may extend it and read again, as with any net.Conn.
	if _, err := c.br.Peek(1); err != nil {
		if codec.IsTimeout(err) {
			return fmt.Errorf("vmess: waiting for the response: %w", err)
		}
		c.respDone = true
		c.respErr = codec.ReadErr(err, 0, "first byte")
		return c.respErr
	}
	c.respDone = true
	c.respErr = c.readResponse()
	return c.respErr
}

func (c *Conn) readResponse() error {
	if c.trace.FirstResponseByte != nil {
		c.trace.FirstResponseByte(time.Now())
	}
	c.r = codec.NewBodyReader(c.rs, c.br)
	if c.legacy {
		s := codec.NewCFBDecrypter(c.respKey, c.respIV)
		if err := codec.ReadLegacyResponse(c.br, s, c.v); err != nil {
			return err
		}
		c.rs.ContinueStream(s)
	} else if err := codec.ReadResponse(c.br, c.respKey, c.respIV, c.v); err != nil {
		return err
	}
	if c.trace.ResponseHeader != nil {
		c.trace.ResponseHeader(time.Now())
	}
	return nil
}

// Handshake is HandshakeContext with a background context.
func (c *Conn) Handshake() error {
	return c.HandshakeContext(context.Background())
}

// HandshakeContext writes the request header if not yet written, then
// waits for and verifies the response header, honouring ctx: when ctx ends
// first the underlying conn's deadline is moved to the past, the call
// returns an error wrapping ctx.Err(), and the Conn is unusable after.
//
// Servers send the response header only with the destination's first
// bytes (or when the destination fails), so for a destination that waits
// for the client, Write the request first.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vmess: handshake: %w", err)
	}
	stop := context.AfterFunc(ctx, func() {
		c.conn.SetDeadline(time.Unix(1, 0))
	})
	err := c.handshake()
	if !stop() {
		// ctx ended during the handshake; its error explains the failure.
		if err != nil {
			return fmt.Errorf("vmess: handshake: %w (%w)", ctx.Err(), err)
		}
		return fmt.Errorf("vmess: handshake: %w", ctx.Err())
	}
	return err
}

func (c *Conn) handshake() error {
	if err := c.sendHeader(); err != nil {
		return err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readResponseLocked()
}

// Read reads body data, reading and verifying the response header first.
// For UDP each Read returns one datagram.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	if !c.respDone {
		c.rmu.Unlock()
		if err := c.sendHeader(); err != nil {
			return 0, err
		}
		c.rmu.Lock()
	}
	defer c.rmu.Unlock()
	if err := c.readResponseLocked(); err != nil {
		return 0, err
	}
	if c.udp {
		return c.r.ReadPacket(p)
	}
	return c.r.Read(p)
}

// Close closes the underlying connection without sending end-of-stream.
func (c *Conn) Close() error { return c.conn.Close() }

// LocalAddr returns the underlying conn's local address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the underlying conn's remote address (the server's).
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the underlying conn's read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the underlying conn's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the underlying conn's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// PacketConn carries UDP datagrams to one destination through a VMess
// connection, shaped like net.PacketConn. VMess command 0x02 has exactly
// one destination: WriteTo accepts only that address (or nil), and
// ReadFrom reports it as the source.
type PacketConn struct {
	c    *Conn
	addr net.Addr
}

// ClientPacket is Client for UDP: dest.Network is forced to NetworkUDP.
func ClientPacket(conn net.Conn, acct Account, dest Destination, cfg *Config) (*PacketConn, error) {
	dest.Network = NetworkUDP
	c, err := Client(conn, acct, dest, cfg)
	if err != nil {
		return nil, err
	}
	p := &PacketConn{c: c}
	if c.ip.IsValid() {
		p.addr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.ip, dest.Port))
	} else {
		p.addr = DestinationAddr{Dest: dest}
	}
	return p, nil
}

// DestinationAddr is a net.Addr for a destination given by domain name.
type DestinationAddr struct{ Dest Destination }

// Network returns "udp" or "tcp".
func (a DestinationAddr) Network() string { return a.Dest.Network.String() }

// String returns host:port.
func (a DestinationAddr) String() string { return a.Dest.String() }

// Conn returns the stream Conn underneath, for Handshake and CloseWrite.
func (p *PacketConn) Conn() *Conn { return p.c }

// ReadFrom reads one datagram; addr is always the destination.
func (p *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := p.c.Read(b)
	return n, p.addr, err
}

// WriteTo sends one datagram to the destination. addr must be nil or equal
// to the destination.
func (p *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if addr != nil && addr.String() != p.addr.String() {
		return 0, fmt.Errorf("vmess: this UDP session only reaches %s, not %s; open another for each destination", p.addr, addr)
	}
	return p.c.Write(b)
}

// Close closes the underlying connection.
func (p *PacketConn) Close() error { return p.c.Close() }

// LocalAddr returns the underlying conn's local address.
func (p *PacketConn) LocalAddr() net.Addr { return p.c.LocalAddr() }

// SetDeadline sets the underlying conn's deadlines.
func (p *PacketConn) SetDeadline(t time.Time) error { return p.c.SetDeadline(t) }

// SetReadDeadline sets the underlying conn's read deadline.
func (p *PacketConn) SetReadDeadline(t time.Time) error { return p.c.SetReadDeadline(t) }

// SetWriteDeadline sets the underlying conn's write deadline.
func (p *PacketConn) SetWriteDeadline(t time.Time) error { return p.c.SetWriteDeadline(t) }

var (
	_ net.Conn       = (*Conn)(nil)
	_ net.PacketConn = (*PacketConn)(nil)
)
