package transport

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// mKCP is Xray's reliable stream over UDP (transport/internet/kcp): data
// segments numbered one by one, acknowledged individually, resent after
// a timeout derived from the measured round trip, with the sender's
// in-flight count bounded by the receiver's advertised window. There is
// no handshake: the first datagram with a new conversation number opens
// a session on the server. This client follows Xray's connection,
// sending and receiving workers rule for rule, with two differences that
// do not change what the server sees: acknowledgements go out as soon as
// the datagrams that need them have been read (Xray waits for its next
// tick), and a closed UDP port (ICMP port unreachable) ends the session
// at once.

// KCPConfig is Xray's kcpSettings. Zero fields take Xray's defaults.
type KCPConfig struct {
	// MTU is the largest segment, header included; 0 means 1350.
	MTU uint32
	// TTI is the update interval in milliseconds (Xray accepts
	// 10–5000); 0 means 50.
	TTI uint32
	// UplinkCapacity and DownlinkCapacity size the sending and receiving
	// windows, in MB/s; nil means 5 and 20. As in Xray, a capacity set
	// to 0 is not the default: it gives the smallest window, 8 segments
	// (transport/internet/kcp/config.go: GetSendingInFlightSize).
	UplinkCapacity   *uint32
	DownlinkCapacity *uint32
	// Congestion shrinks the sending window when segments are lost.
	Congestion bool
	// WriteBufferSize bounds unacknowledged data, in MB; nil means 2, and
	// 0 means 512 KiB, as in Xray's loader (infra/conf KCPConfig.Build).
	// (readBufferSize has no effect in Xray either.)
	WriteBufferSize *uint32

	// HeaderType, HeaderDomain and Seed are the legacy kcpSettings
	// header.type (none, srtp, utp, wechat-video, dtls, wireguard, dns),
	// header.domain and seed that links still carry; Xray v1.260327.0
	// refuses them in favour of finalmask.udp, which they stand for (see
	// Config.FinalMask): the header, then mkcp-aes128gcm keyed by the seed
	// or, without one, mkcp-original. They are used only when FinalMask
	// has no udp masks; HeaderType "none" alone selects the legacy form
	// (mkcp-original), where leaving all three empty means plain segments.
	HeaderType   string
	HeaderDomain string
	Seed         string
}

// kcpMaxDocumentedMTU is the largest mtu Xray's documentation allows
// (576-1460; its loader no longer checks).
const kcpMaxDocumentedMTU = 1460

// kcpParams is KCPConfig with Xray's defaults and derived sizes.
type kcpParams struct {
	mtu, tti, mss            uint32
	sendWindow, recvWindow   uint32 // in-flight segments (Xray's Get*InFlightSize)
	sendBuffer               uint32 // queued unacknowledged segments (GetSendingBufferSize)
	recvBytes                int    // payload held for Read, at most
	congestion               bool
	masks                    []udpMaskSpec
	maxDatagram, maskedBytes int
}

func (c *Config) kcpParams() (*kcpParams, error) {
	k := c.KCP
	p := &kcpParams{mtu: 1350, tti: 50, congestion: k.Congestion}
	if k.MTU != 0 {
		p.mtu = k.MTU
	}
	if k.TTI != 0 {
		if k.TTI < 10 || k.TTI > 5000 {
			return nil, fmt.Errorf("transport: kcpSettings.tti %d is out of Xray's range 10-5000", k.TTI)
		}
		p.tti = k.TTI
	}
	if p.mtu <= kcpDataOverhead || p.mtu > 65000 {
		return nil, fmt.Errorf("transport: kcpSettings.mtu %d cannot carry a segment; Xray's default is 1350", p.mtu)
	}
	p.mss = p.mtu - kcpDataOverhead
	up, down, wbufBytes := uint64(5), uint64(20), uint64(2<<20)
	if k.UplinkCapacity != nil {
		up = uint64(*k.UplinkCapacity)
	}
	if k.DownlinkCapacity != nil {
		down = uint64(*k.DownlinkCapacity)
	}
	if k.WriteBufferSize != nil {
		wbufBytes = 512 << 10
		if *k.WriteBufferSize > 0 {
			wbufBytes = uint64(*k.WriteBufferSize) << 20
		}
	}
	// Xray's formula: capacity (MB/s) / mtu / updates per second, at
	// least 8. (Xray divides by 1000/tti, which is 0 above 1000 ms and
	// makes it panic; 1 stands in here.)
	perSecond := max(1, 1000/p.tti)
	inFlight := func(capacity uint64) uint32 {
		return uint32(max(8, capacity*1024*1024/uint64(p.mtu)/uint64(perSecond)))
	}
	p.sendWindow, p.recvWindow = inFlight(up), inFlight(down)
	p.sendBuffer = uint32(wbufBytes / uint64(p.mtu))
	// The server's mtu may differ from ours; its segments are bounded
	// by the largest mtu Xray documents, or ours when that is larger.
	p.recvBytes = int(p.recvWindow) * int(max(p.mss, kcpMaxDocumentedMTU-kcpDataOverhead))

	masks, err := parseFinalMask(c.FinalMask)
	if err != nil {
		return nil, err
	}
	if len(masks) == 0 {
		if masks, err = legacyKCPMasks(k.HeaderType, k.HeaderDomain, k.Seed); err != nil {
			return nil, err
		}
		if k.HeaderType == "" && k.Seed == "" {
			masks = nil // no legacy settings: plain segments, as Xray v26 without finalmask
		}
	}
	p.masks = masks
	for _, m := range masks {
		switch m.typ {
		case "mkcp-aes128gcm":
			p.maskedBytes += 12 + 16
		case "mkcp-original":
			p.maskedBytes += 6
		case "header-dns":
			h, err := dnsQueryHeader(m.domain)
			if err != nil {
				return nil, err
			}
			p.maskedBytes += len(h)
		case "header-wechat", "header-dtls":
			p.maskedBytes += 13
		default:
			p.maskedBytes += 4
		}
	}
	p.maxDatagram = int(p.mtu) + p.maskedBytes
	return p, nil
}

// dialKCP opens an mKCP session: DNS, then the UDP socket (the connect
// phase; no packet is sent), then TLS over the session when configured
// (Go's crypto/tls, as Xray uses for mKCP whatever the fingerprint).
func dialKCP(ctx context.Context, cfg *Config, p *plan, trace *Trace) (net.Conn, error) {
	addrs, err := resolve(ctx, cfg, trace)
	if err != nil {
		return nil, err
	}
	var d ContextDialer = cfg.NetDialer
	if d == nil {
		d = &net.Dialer{}
	}
	start := time.Now()
	udp, err := d.DialContext(ctx, "udp", hostPort(addrs[0].String(), cfg.Port))
	if err != nil {
		return nil, &Error{Phase: PhaseConnect, Err: ctxErr(ctx, err)}
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		// Windows of hundreds of segments arrive in bursts.
		uc.SetReadBuffer(4 << 20)
		uc.SetWriteBuffer(4 << 20)
	}
	kc, err := newKCPConn(udp, p.kcp)
	if err != nil {
		udp.Close()
		return nil, &Error{Phase: PhaseConfig, Err: err}
	}
	trace.done(PhaseConnect, start)
	if p.tls == nil {
		return kc, nil
	}
	start = time.Now()
	tp := *p.tls
	tp.hello = nil // Go's crypto/tls, as Xray's mKCP dialer
	tc, err := handshakeTLS(ctx, kc, &tp, nil)
	if err != nil {
		kc.Close()
		return nil, &Error{Phase: PhaseTLS, Err: ctxErr(ctx, fmt.Errorf("over mKCP: %w", err))}
	}
	trace.done(PhaseTLS, start)
	return tc, nil
}

// kcpSent is a data segment in the sending window.
type kcpSent struct {
	number    uint32
	timestamp uint32
	timeout   uint32
	transmit  uint32
	acked     bool
	payload   []byte
}

// kcpAck is a number waiting to be acknowledged (again), as in Xray's
// AckList: it is sent, then resent every rto/2, until the sender's
// sendingNext passes it.
type kcpAck struct {
	number, timestamp, nextFlush uint32
}

// kcpConn is an mKCP client session as a net.Conn.
type kcpConn struct {
	udp   net.Conn
	p     *kcpParams
	masks []udpMask
	conv  uint16
	start time.Time

	mu sync.Mutex
	// Sending: the window holds consecutive numbers from
	// window[0].number; acknowledged entries wait at most until the
	// front is acknowledged.
	window        []kcpSent
	nextNumber    uint32
	firstUnack    uint32
	remoteNext    uint32 // the peer's receiving window end
	controlWindow uint32
	totalInFlight uint32
	unackUpdated  bool
	// Receiving: segments wait in recv until Read takes them in order,
	// as Xray's receiving worker keeps them; that bounds them to
	// recvWindow.
	recv      map[uint32][]byte
	recvBytes int // payload bytes in recv
	recvNext  uint32
	leftover  []byte
	// Acks wait in acks, one per number (ackIndex finds it), at most
	// recvWindow of them; minAck is the lowest number among them.
	acks       []kcpAck
	ackIndex   map[uint32]int
	minAck     uint32
	acksDirty  bool
	ackPending bool
	// Round trip (Xray's RoundTripInfo).
	srtt, variation, rto, minRtt, rtoUpdated uint32
	lastIncoming, lastPing                   uint32

	peerClosed     bool // the server closed its side: it reads no more
	peerTerminated bool // the server ended the session
	err            error

	wake      chan struct{} // runs the updater now
	readable  chan struct{}
	writable  chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// The deadlines are the session's own: a Read that times out leaves
	// the session going, and a write deadline bounds a Write waiting for
	// room in the sending buffer (what was queued stays queued).
	streamDeadlines
}

func newKCPConn(udp net.Conn, p *kcpParams) (*kcpConn, error) {
	masks, err := newUDPMasks(p.masks)
	if err != nil {
		return nil, err
	}
	var r [2]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	// Xray numbers conversations from a random start, per process.
	c := newKCPSession(p, masks, binary.BigEndian.Uint16(r[:]))
	c.udp = udp
	go c.readLoop()
	go c.updateLoop()
	return c, nil
}

// newKCPSession is a session's state before its socket and workers.
func newKCPSession(p *kcpParams, masks []udpMask, conv uint16) *kcpConn {
	return &kcpConn{
		p: p, masks: masks, conv: conv,
		start:         time.Now(),
		remoteNext:    32,
		controlWindow: p.sendWindow,
		recv:          map[uint32][]byte{},
		ackIndex:      map[uint32]int{},
		rto:           100,
		minRtt:        p.tti,
		wake:          make(chan struct{}, 1),
		readable:      make(chan struct{}, 1),
		writable:      make(chan struct{}, 1),
		done:          make(chan struct{}),
	}
}

// now is the session clock: milliseconds since it opened, as Xray's
// Elapsed.
func (c *kcpConn) now() uint32 { return uint32(time.Since(c.start) / time.Millisecond) }

// before reports a < b on the wrapping uint32 clock and number space.
func before(a, b uint32) bool { return a-b > 0x7FFFFFFF }

// readLoop reads datagrams, removes the masks and feeds the segments to
// the session. Datagrams that do not unmask or parse are dropped, as
// Xray drops them.
func (c *kcpConn) readLoop() {
	buf := make([]byte, 64<<10)
	var segs []kcpSegment
	var numbers []uint32
	for {
		n, err := c.udp.Read(buf)
		if err != nil {
			var refused bool
			if errors.Is(err, syscall.ECONNREFUSED) {
				// ICMP port unreachable: nothing listens there.
				err = fmt.Errorf("mkcp: the server's UDP port is closed (ICMP port unreachable): %w", err)
				refused = true
			}
			select {
			case <-c.done:
				return
			default:
			}
			if !refused && errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			c.fail(err)
			return
		}
		p, err := unwrapDatagram(c.masks, buf[:n])
		if err != nil {
			continue
		}
		segs, numbers, _ = parseKCPSegments(p, segs[:0], numbers[:0])
		if len(segs) == 0 {
			continue
		}
		c.mu.Lock()
		c.input(segs)
		wake := c.ackPending
		c.mu.Unlock()
		if wake {
			signal(c.wake)
		}
	}
}

// fail ends the session with err.
func (c *kcpConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	signal(c.readable)
	signal(c.writable)
}

// input handles the segments of one datagram (Xray's Connection.Input).
// c.mu is held.
func (c *kcpConn) input(segs []kcpSegment) {
	now := c.now()
	c.lastIncoming = now
	for i := range segs {
		s := &segs[i]
		if s.conv != c.conv {
			break
		}
		if s.option&kcpOptionClose != 0 {
			c.onPeerClosed()
		}
		switch s.cmd {
		case kcpCmdData:
			c.inputData(s)
		case kcpCmdAck:
			c.inputAck(s, now)
			signal(c.writable)
		default:
			if s.cmd == kcpCmdTerminate {
				c.peerTerminated = true
				c.clearWindow(0xFFFFFFFF)
			}
			if s.option&kcpOptionClose != 0 || s.cmd == kcpCmdTerminate {
				signal(c.readable)
				signal(c.writable)
			}
			c.clearWindow(s.receivingNext)
			c.clearAcks(s.sendingNext)
			if now-c.rtoUpdated >= 3000 {
				c.rtoUpdated = now
				c.rto = s.peerRTO
			}
		}
	}
}

// onPeerClosed: the server closed its side and reads no more; Xray's
// client then drops what it has not sent.
func (c *kcpConn) onPeerClosed() {
	if !c.peerClosed {
		c.peerClosed = true
		c.clearWindow(0xFFFFFFFF)
		signal(c.writable)
	}
}

// inputData stores a data segment in the receiving window (Xray's
// ReceivingWorker.ProcessSegment): one beyond the window is dropped
// unacknowledged; every other one is acknowledged, duplicates too.
//
// Unlike Xray, a duplicate refreshes the number's pending ack instead
// of queueing another, and the payload held for Read is bounded in
// bytes: a hostile server could otherwise queue an ack per copy (and
// make every segment walk them all) or fill the window with 64 KB
// segments. A segment that would pass the byte bound is dropped
// unacknowledged, as one beyond the window is, unless it is the next
// one in order, which Read needs to make room.
func (c *kcpConn) inputData(s *kcpSegment) {
	if s.number-c.recvNext >= c.p.recvWindow {
		return
	}
	_, held := c.recv[s.number]
	if !held && s.number != c.recvNext && c.recvBytes+len(s.payload) > c.p.recvBytes {
		return
	}
	c.clearAcks(s.sendingNext)
	c.addAck(s.number, s.timestamp)
	if !held {
		c.recv[s.number] = append(getSegmentBuf(int(c.p.mss)), s.payload...)
		c.recvBytes += len(s.payload)
	}
	if s.number == c.recvNext {
		signal(c.readable)
	}
}

// addAck queues an ack for number n, or, when one is pending, makes it
// due at once with the new timestamp (Xray queues a second entry, due at
// once). Acks below recvNext are dropped to make room when the list is
// full: every ack segment carries receivingNext, which acknowledges
// them all. What remains then are numbers in [recvNext, recvNext +
// recvWindow) other than n, so the list never exceeds recvWindow.
func (c *kcpConn) addAck(n, timestamp uint32) {
	c.acksDirty, c.ackPending = true, true
	if i, ok := c.ackIndex[n]; ok {
		c.acks[i].timestamp, c.acks[i].nextFlush = timestamp, 0
		return
	}
	if uint32(len(c.acks)) >= c.p.recvWindow {
		c.dropAcks(c.recvNext)
	}
	if len(c.acks) == 0 || before(n, c.minAck) {
		c.minAck = n
	}
	c.ackIndex[n] = len(c.acks)
	c.acks = append(c.acks, kcpAck{number: n, timestamp: timestamp})
}

// inputAck applies an ack segment (Xray's SendingWorker.ProcessSegment).
func (c *kcpConn) inputAck(s *kcpSegment, now uint32) {
	if before(c.remoteNext, s.receivingWindow) {
		c.remoteNext = s.receivingWindow
	}
	c.clearWindow(s.receivingNext)
	if len(s.acks) == 0 {
		return
	}
	var maxack uint32
	maxackRemoved := false
	for _, n := range s.acks {
		removed := c.ackNumber(n)
		if maxack < n {
			maxack, maxackRemoved = n, removed
		}
	}
	if !maxackRemoved {
		return
	}
	// Fast resend: segments before the highest acknowledged one that
	// were sent already become due sooner.
	for i := range c.window {
		seg := &c.window[i]
		if seg.number == maxack || before(maxack, seg.number) {
			break
		}
		if !seg.acked && seg.transmit > 0 && seg.timeout > c.rto/3 {
			seg.timeout -= c.rto / 3
		}
	}
	if now-s.timestamp < 10000 {
		c.updateRTT(now-s.timestamp, now)
	}
}

// ackNumber marks number acknowledged if it is in flight.
func (c *kcpConn) ackNumber(n uint32) bool {
	if before(n, c.firstUnack) || !before(n, c.nextNumber) || len(c.window) == 0 {
		return false
	}
	i := n - c.window[0].number
	if i >= uint32(len(c.window)) || c.window[i].acked {
		return false
	}
	c.window[i].acked = true
	c.window[i].payload = nil
	if c.totalInFlight > 0 {
		c.totalInFlight--
	}
	c.compact()
	return true
}

// clearWindow drops every segment numbered below una (the peer has them
// all).
func (c *kcpConn) clearWindow(una uint32) {
	for len(c.window) > 0 && before(c.window[0].number, una) {
		c.window[0] = kcpSent{}
		c.window = c.window[1:]
	}
	c.compact()
}

// compact drops acknowledged segments from the front and updates
// firstUnack.
func (c *kcpConn) compact() {
	for len(c.window) > 0 && c.window[0].acked {
		c.window[0] = kcpSent{}
		c.window = c.window[1:]
	}
	first := c.nextNumber
	if len(c.window) > 0 {
		first = c.window[0].number
	}
	if first != c.firstUnack {
		c.firstUnack = first
		c.unackUpdated = true
		signal(c.writable)
	}
}

// clearAcks forgets pending acks below una (Xray's AckList.Clear).
func (c *kcpConn) clearAcks(una uint32) {
	if len(c.acks) > 0 && before(c.minAck, una) {
		c.dropAcks(una)
		c.acksDirty = true
	}
}

// dropAcks removes the acks below una, keeping the others in order.
func (c *kcpConn) dropAcks(una uint32) {
	kept := c.acks[:0]
	for _, a := range c.acks {
		if before(a.number, una) {
			delete(c.ackIndex, a.number)
			continue
		}
		if len(kept) == 0 || before(a.number, c.minAck) {
			c.minAck = a.number
		}
		c.ackIndex[a.number] = len(kept)
		kept = append(kept, a)
	}
	c.acks = kept
}

// updateRTT is Xray's RoundTripInfo.Update (RFC 6298 smoothing, rto
// capped at 10 s, plus a quarter).
func (c *kcpConn) updateRTT(rtt, now uint32) {
	if rtt > 0x7FFFFFFF {
		return
	}
	if c.srtt == 0 {
		c.srtt, c.variation = rtt, rtt/2
	} else {
		delta := rtt - c.srtt
		if c.srtt > rtt {
			delta = c.srtt - rtt
		}
		c.variation = (3*c.variation + delta) / 4
		c.srtt = (7*c.srtt + rtt) / 8
		c.srtt = max(c.srtt, c.minRtt)
	}
	rto := c.srtt + c.variation
	if c.minRtt < 4*c.variation {
		rto = c.srtt + 4*c.variation
	}
	c.rto = min(rto, 10000) * 5 / 4
	c.rtoUpdated = now
}

// segmentPool holds payload buffers of received segments.
var segmentPool = sync.Pool{New: func() any { return make([]byte, 0, 1500) }}

func getSegmentBuf(n int) []byte {
	b := segmentPool.Get().([]byte)
	if cap(b) < n {
		return make([]byte, 0, n)
	}
	return b[:0]
}

// updateLoop runs the session's timer: every TTI, and at once when a
// Write, a Read or arriving data needs it.
func (c *kcpConn) updateLoop() {
	t := time.NewTicker(time.Duration(c.p.tti) * time.Millisecond)
	defer t.Stop()
	var out [][]byte
	buf := make([]byte, 0, 64<<10)
	for {
		select {
		case <-t.C:
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		out, buf = c.flush(out[:0], buf[:0])
		c.mu.Unlock()
		for _, d := range out {
			if _, err := c.udp.Write(d); err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					c.fail(fmt.Errorf("mkcp: the server's UDP port is closed (ICMP port unreachable): %w", err))
				}
				break
			}
		}
	}
}

// datagram appends segment (built by seg into the room after the mask
// headers) to out as one masked datagram, carved from buf.
func (c *kcpConn) datagram(out [][]byte, buf []byte, seg func([]byte) []byte) ([][]byte, []byte) {
	head := maskedSize(c.masks)
	start := len(buf)
	if cap(buf)-start < c.p.maxDatagram+64 {
		// The previous datagrams keep the old array.
		buf = make([]byte, 0, max(64<<10, c.p.maxDatagram+64))
		start = 0
	}
	b := buf[start : start+head]
	b = seg(b)
	d, err := wrapDatagram(c.masks, b[:len(b):cap(buf)-start])
	if err != nil {
		return out, buf
	}
	return append(out, d), buf[:start+len(d)]
}

// flush is Xray's Connection.flush: acks, then the sending window, then
// a ping when due. It appends the datagrams to send to out. c.mu is
// held.
func (c *kcpConn) flush(out [][]byte, buf []byte) ([][]byte, []byte) {
	now := c.now()
	if c.err == nil && now-c.lastIncoming >= 30000 {
		c.err = errors.New("mkcp: no datagram from the server for 30 s")
		signal(c.readable)
		signal(c.writable)
	}
	// Acks (Xray's AckList.Flush).
	limit := min(kcpMaxAcks, max(1, (int(c.p.mtu)-17)/4))
	var nums []uint32
	var ts uint32
	var later []uint32
	emit := func() {
		out, buf = c.datagram(out, buf, func(b []byte) []byte {
			return appendKCPAck(b, c.conv, 0, c.recvNext+c.p.recvWindow, c.recvNext, ts, nums)
		})
		nums = nums[:0]
	}
	resend := max(c.rto/2, 20)
	for i := range c.acks {
		a := &c.acks[i]
		if a.nextFlush > now {
			if len(later) < kcpMaxAcks {
				later = append(later, a.number)
			}
			continue
		}
		nums = append(nums, a.number)
		if a.timestamp-ts < 0x7FFFFFFF {
			ts = a.timestamp
		}
		a.nextFlush = now + resend
		if len(nums) == limit {
			emit()
			c.acksDirty = false
		}
	}
	if c.acksDirty || len(nums) > 0 {
		for _, n := range later {
			if len(nums) == limit {
				break
			}
			nums = append(nums, n)
		}
		emit()
		c.acksDirty = false
	}
	c.ackPending = false

	// The sending window (Xray's SendingWorker.Flush).
	cwnd := min(c.p.sendWindow, c.remoteNext-c.firstUnack)
	if c.p.congestion {
		cwnd = min(cwnd, c.controlWindow)
	}
	cwnd *= 20 // Xray's factor
	var lost, inFlight uint32
	for i := range c.window {
		seg := &c.window[i]
		if seg.acked || now-seg.timeout >= 0x7FFFFFFF {
			continue
		}
		if seg.transmit == 0 {
			c.totalInFlight++
		} else {
			lost++
		}
		seg.timeout = now + c.rto
		seg.timestamp = now
		seg.transmit++
		out, buf = c.datagram(out, buf, func(b []byte) []byte {
			return appendKCPData(b, c.conv, 0, now, seg.number, c.firstUnack, seg.payload)
		})
		inFlight++
		if inFlight >= cwnd {
			break
		}
	}
	if c.p.congestion && inFlight > 0 && c.totalInFlight != 0 && c.rto != 0 {
		// Xray's OnPacketLoss.
		rate := lost * 100 / c.totalInFlight
		switch {
		case rate >= 15:
			c.controlWindow = 3 * c.controlWindow / 4
		case rate <= 5:
			c.controlWindow += c.controlWindow / 4
		}
		c.controlWindow = min(max(c.controlWindow, 16), 2*c.p.sendWindow)
	}
	if c.unackUpdated || now-c.lastPing >= 3000 {
		c.unackUpdated = false
		out, buf = c.ping(out, buf, kcpCmdPing, now)
	}
	return out, buf
}

// ping appends a ping or terminate segment telling the peer where both
// directions stand.
func (c *kcpConn) ping(out [][]byte, buf []byte, cmd byte, now uint32) ([][]byte, []byte) {
	c.lastPing = now
	return c.datagram(out, buf, func(b []byte) []byte {
		return appendKCPCommand(b, c.conv, cmd, 0, c.firstUnack, c.recvNext, c.rto)
	})
}

// errKCPClosed is returned by Write once the server closed its side.
var errKCPClosed = errors.New("mkcp: the server closed the session")

// Read returns the session's data in order.
func (c *kcpConn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		n := copy(b, c.leftover)
		c.leftover = c.leftover[n:]
		advanced := false
		for n < len(b) {
			seg, ok := c.recv[c.recvNext]
			if !ok {
				break
			}
			delete(c.recv, c.recvNext)
			c.recvBytes -= len(seg)
			c.recvNext++
			advanced = true
			k := copy(b[n:], seg)
			n += k
			if k < len(seg) {
				c.leftover = append(c.leftover[:0:0], seg[k:]...)
			}
			segmentPool.Put(seg[:0])
		}
		err := c.err
		ended := c.peerTerminated
		c.mu.Unlock()
		if advanced {
			// The window moved: tell the sender soon.
			signal(c.wake)
		}
		switch {
		case n > 0 || len(b) == 0:
			return n, nil
		case err != nil:
			return 0, err
		case ended:
			return 0, io.EOF
		}
		select {
		case <-c.readable:
		case <-c.read.wait():
			return 0, os.ErrDeadlineExceeded
		case <-c.done:
			return 0, net.ErrClosed
		}
	}
}

// Write queues b as segments of at most mss bytes and waits while the
// sending buffer is full.
func (c *kcpConn) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		c.mu.Lock()
		switch {
		case c.err != nil:
			err := c.err
			c.mu.Unlock()
			return written, err
		case c.peerClosed || c.peerTerminated:
			c.mu.Unlock()
			return written, errKCPClosed
		}
		pushed := false
		for written < len(b) && uint32(len(c.window)) <= c.p.sendBuffer {
			n := min(len(b)-written, int(c.p.mss))
			c.window = append(c.window, kcpSent{number: c.nextNumber, payload: append([]byte(nil), b[written:written+n]...)})
			c.nextNumber++
			written += n
			pushed = true
		}
		c.mu.Unlock()
		if pushed {
			signal(c.wake)
		}
		if written == len(b) {
			return written, nil
		}
		select {
		case <-c.writable:
		case <-c.write.wait():
			return written, os.ErrDeadlineExceeded
		case <-c.done:
			return written, net.ErrClosed
		}
	}
	return written, nil
}

// Close tells the server the session ended (two terminate segments, as
// a lost one would leave the server waiting for its timeout) and closes
// the socket.
func (c *kcpConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		var out [][]byte
		var buf []byte
		for i := 0; i < 2; i++ {
			out, buf = c.ping(out, buf, kcpCmdTerminate, c.now())
		}
		c.mu.Unlock()
		for _, d := range out {
			c.udp.Write(d)
		}
		close(c.done)
		c.udp.Close()
		c.stop()
	})
	return nil
}

func (c *kcpConn) LocalAddr() net.Addr  { return c.udp.LocalAddr() }
func (c *kcpConn) RemoteAddr() net.Addr { return c.udp.RemoteAddr() }
