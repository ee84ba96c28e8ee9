package transport

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	xconf "github.com/xtls/xray-core/infra/conf"
	"github.com/xtls/xray-core/transport/internet/finalmask"
	"github.com/xtls/xray-core/transport/internet/finalmask/header/dns"
	"github.com/xtls/xray-core/transport/internet/finalmask/header/dtls"
	"github.com/xtls/xray-core/transport/internet/finalmask/header/srtp"
	"github.com/xtls/xray-core/transport/internet/finalmask/header/utp"
	"github.com/xtls/xray-core/transport/internet/finalmask/header/wechat"
	"github.com/xtls/xray-core/transport/internet/finalmask/header/wireguard"
	"github.com/xtls/xray-core/transport/internet/finalmask/mkcp/aes128gcm"
	"github.com/xtls/xray-core/transport/internet/finalmask/mkcp/original"
	xkcp "github.com/xtls/xray-core/transport/internet/kcp"
)

// TestKCPSegmentsMatchXray serializes each kind of segment with our
// codec and with Xray's, and parses both with the other side's parser.
func TestKCPSegmentsMatchXray(t *testing.T) {
	t.Parallel()
	payload := []byte("segment payload")
	data := xkcp.NewDataSegment()
	data.Conv, data.Option, data.Timestamp, data.Number, data.SendingNext = 0xabcd, 1, 123456, 77, 70
	data.Data().Write(payload)
	ack := &xkcp.AckSegment{Conv: 0xabcd, ReceivingWindow: 900, ReceivingNext: 80, Timestamp: 99, NumberList: []uint32{81, 85, 90}}
	ping := &xkcp.CmdOnlySegment{Conv: 0xabcd, Cmd: xkcp.CommandPing, SendingNext: 5, ReceivingNext: 6, PeerRTO: 250}
	term := &xkcp.CmdOnlySegment{Conv: 0xabcd, Cmd: xkcp.CommandTerminate, Option: 1, SendingNext: 7, ReceivingNext: 8, PeerRTO: 300}
	ours := [][]byte{
		appendKCPData(nil, 0xabcd, 1, 123456, 77, 70, payload),
		appendKCPAck(nil, 0xabcd, 0, 900, 80, 99, []uint32{81, 85, 90}),
		appendKCPCommand(nil, 0xabcd, kcpCmdPing, 0, 5, 6, 250),
		appendKCPCommand(nil, 0xabcd, kcpCmdTerminate, 1, 7, 8, 300),
	}
	for i, xs := range []xkcp.Segment{data, ack, ping, term} {
		want := make([]byte, xs.ByteSize())
		xs.Serialize(want)
		if !bytes.Equal(ours[i], want) {
			t.Errorf("segment %d:\n ours %x\nxray %x", i, ours[i], want)
		}
	}
	// One datagram with all four, parsed by both.
	dgram := bytes.Join(ours, nil)
	segs, _, err := parseKCPSegments(dgram, nil, nil)
	if err != nil || len(segs) != 4 {
		t.Fatalf("parsed %d segments, %v", len(segs), err)
	}
	xsegs := (&xkcp.KCPPacketReader{}).Read(dgram)
	if len(xsegs) != 4 {
		t.Fatalf("Xray parsed %d segments", len(xsegs))
	}
	for i := range segs {
		if got, want := describeSegment(&segs[i]), describeXraySegment(xsegs[i]); got != want {
			t.Errorf("segment %d parsed as %s, Xray: %s", i, got, want)
		}
	}
}

// describeSegment and describeXraySegment print a segment's fields the
// same way for both parsers.
func describeSegment(s *kcpSegment) string {
	switch s.cmd {
	case kcpCmdData:
		return fmt.Sprintf("data conv=%d opt=%d ts=%d n=%d sn=%d %q", s.conv, s.option, s.timestamp, s.number, s.sendingNext, s.payload)
	case kcpCmdAck:
		return fmt.Sprintf("ack conv=%d opt=%d rw=%d rn=%d ts=%d %v", s.conv, s.option, s.receivingWindow, s.receivingNext, s.timestamp, s.acks)
	}
	return fmt.Sprintf("cmd%d conv=%d opt=%d sn=%d rn=%d rto=%d", s.cmd, s.conv, s.option, s.sendingNext, s.receivingNext, s.peerRTO)
}

func describeXraySegment(seg xkcp.Segment) string {
	switch s := seg.(type) {
	case *xkcp.DataSegment:
		return fmt.Sprintf("data conv=%d opt=%d ts=%d n=%d sn=%d %q", s.Conv, s.Option, s.Timestamp, s.Number, s.SendingNext, s.Data().Bytes())
	case *xkcp.AckSegment:
		return fmt.Sprintf("ack conv=%d opt=%d rw=%d rn=%d ts=%d %v", s.Conv, s.Option, s.ReceivingWindow, s.ReceivingNext, s.Timestamp, s.NumberList)
	case *xkcp.CmdOnlySegment:
		return fmt.Sprintf("cmd%d conv=%d opt=%d sn=%d rn=%d rto=%d", s.Cmd, s.Conv, s.Option, s.SendingNext, s.ReceivingNext, s.PeerRTO)
	}
	return "?"
}

// pipePC is a net.PacketConn that records what is written and returns
// what it is given to read, for running Xray's masks in memory.
type pipePC struct {
	written [][]byte
	toRead  [][]byte
}

func (p *pipePC) WriteTo(b []byte, _ net.Addr) (int, error) {
	p.written = append(p.written, bytes.Clone(b))
	return len(b), nil
}
func (p *pipePC) ReadFrom(b []byte) (int, net.Addr, error) {
	if len(p.toRead) == 0 {
		return 0, nil, net.ErrClosed
	}
	n := copy(b, p.toRead[0])
	p.toRead = p.toRead[1:]
	return n, &net.UDPAddr{}, nil
}
func (p *pipePC) Close() error                     { return nil }
func (p *pipePC) LocalAddr() net.Addr              { return &net.UDPAddr{} }
func (p *pipePC) SetDeadline(time.Time) error      { return nil }
func (p *pipePC) SetReadDeadline(time.Time) error  { return nil }
func (p *pipePC) SetWriteDeadline(time.Time) error { return nil }

// maskCases are the mask lists proven against Xray: every single mask,
// and the pairs the legacy header.type and seed stand for.
var maskCases = []struct {
	name  string
	specs []udpMaskSpec
	xray  func() []finalmask.Udpmask
}{
	{"srtp", []udpMaskSpec{{typ: "header-srtp"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&srtp.Config{}} }},
	{"utp", []udpMaskSpec{{typ: "header-utp"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&utp.Config{}} }},
	{"wechat", []udpMaskSpec{{typ: "header-wechat"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&wechat.Config{}} }},
	{"dtls", []udpMaskSpec{{typ: "header-dtls"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&dtls.Config{}} }},
	{"wireguard", []udpMaskSpec{{typ: "header-wireguard"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&wireguard.Config{}} }},
	{"dns", []udpMaskSpec{{typ: "header-dns", domain: "q.example.com"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&dns.Config{Domain: "q.example.com"}} }},
	{"original", []udpMaskSpec{{typ: "mkcp-original"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&original.Config{}} }},
	{"aes128gcm", []udpMaskSpec{{typ: "mkcp-aes128gcm", password: "seed"}}, func() []finalmask.Udpmask { return []finalmask.Udpmask{&aes128gcm.Config{Password: "seed"}} }},
	{"dtls+original", []udpMaskSpec{{typ: "header-dtls"}, {typ: "mkcp-original"}}, func() []finalmask.Udpmask {
		return []finalmask.Udpmask{&dtls.Config{}, &original.Config{}}
	}},
	{"wechat+aes128gcm", []udpMaskSpec{{typ: "header-wechat"}, {typ: "mkcp-aes128gcm", password: "s"}}, func() []finalmask.Udpmask {
		return []finalmask.Udpmask{&wechat.Config{}, &aes128gcm.Config{Password: "s"}}
	}},
}

// wrapOurs masks payload with masks.
func wrapOurs(t *testing.T, masks []udpMask, payload []byte) []byte {
	t.Helper()
	b := make([]byte, maskedSize(masks), maskedSize(masks)+len(payload)+64)
	d, err := wrapDatagram(masks, append(b, payload...))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(d)
}

// TestUDPMasksMatchXray sends datagrams through our masks and Xray's
// (finalmask.UdpmaskManager, as Xray's mKCP client and server use it):
// what we wrap, Xray's server side unwraps to the same payload, and what
// Xray's client side wraps, we unwrap. The deterministic header fields
// (all but the random starting values and nonces) are compared byte for
// byte in TestUDPMaskSequencesMatchXray.
func TestUDPMasksMatchXray(t *testing.T) {
	t.Parallel()
	for _, tc := range maskCases {
		t.Run(tc.name, func(t *testing.T) {
			ours, err := newUDPMasks(tc.specs)
			if err != nil {
				t.Fatal(err)
			}
			rx := &pipePC{}
			xserver, err := finalmask.NewUdpmaskManager(tc.xray()).WrapPacketConnServer(rx)
			if err != nil {
				t.Fatal(err)
			}
			tx := &pipePC{}
			xclient, err := finalmask.NewUdpmaskManager(tc.xray()).WrapPacketConnClient(tx)
			if err != nil {
				t.Fatal(err)
			}
			for i, size := range []int{1, 18, 100, 1350, 1, 700} {
				payload := bytes.Repeat([]byte{byte(i + 1)}, size)
				// Ours -> Xray.
				d := wrapOurs(t, ours, payload)
				rx.toRead = append(rx.toRead, d)
				got := make([]byte, 4096)
				n, _, err := xserver.ReadFrom(got)
				if err != nil || !bytes.Equal(got[:n], payload) {
					t.Fatalf("datagram %d: Xray unwrapped %d bytes (%v), want the %d-byte payload", i, n, err, size)
				}
				// Xray -> ours.
				if _, err := xclient.WriteTo(payload, &net.UDPAddr{}); err != nil {
					t.Fatal(err)
				}
				xd := tx.written[len(tx.written)-1]
				if len(xd) != len(d) {
					t.Errorf("datagram %d: Xray's is %d bytes, ours %d", i, len(xd), len(d))
				}
				back, err := unwrapDatagram(ours, bytes.Clone(xd))
				if err != nil || !bytes.Equal(back, payload) {
					t.Fatalf("datagram %d: we unwrapped Xray's to %d bytes, %v", i, len(back), err)
				}
			}
		})
	}
}

// TestUDPMaskSequencesMatchXray: the counters in the header masks
// (srtp's number, wechat's serial, dtls's sequence and cycling length)
// advance exactly as Xray's do from the same start.
func TestUDPMaskSequencesMatchXray(t *testing.T) {
	t.Parallel()
	ours := []udpMask{&srtpMask{number: 0xfffe}, &wechatMask{sn: 0xfffe}, &dtlsMask{epoch: 7, length: 17}}
	x := []func(p []byte){
		newXraySerializer(&srtp.Config{}, 4, 0xfffe),
		newXraySerializer(&wechat.Config{}, 13, 0xfffe),
		newXraySerializer(&dtls.Config{}, 13, 7),
	}
	for i, m := range ours {
		for k := 0; k < 12; k++ {
			a := make([]byte, m.size()+3)
			if _, err := m.wrap(a); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, m.size()+3)
			x[i](b)
			if !bytes.Equal(a[:m.size()], b[:m.size()]) {
				t.Fatalf("mask %d datagram %d: ours %x, Xray %x", i, k, a[:m.size()], b[:m.size()])
			}
		}
	}
}

// newXraySerializer returns a function that writes Xray's header for
// the mask in front of a datagram, with its random start set to start
// through a first datagram written and undone: Xray's masks keep their
// counters unexported, so the start is found by reading one header.
func newXraySerializer(cfg finalmask.Udpmask, size int, start uint32) func([]byte) {
	pc := &pipePC{}
	conn, err := finalmask.NewUdpmaskManager([]finalmask.Udpmask{cfg}).WrapPacketConnClient(pc)
	if err != nil {
		panic(err)
	}
	// Read Xray's random start from its first header, then shift every
	// later header by the difference from ours.
	conn.WriteTo([]byte{0}, &net.UDPAddr{})
	first := pc.written[0]
	var offset uint32
	switch size {
	case 4: // srtp: number at 2, incremented before use
		offset = uint32(binary.BigEndian.Uint16(first[2:])) - (start + 1)
	case 13:
		if first[0] == 0xa1 { // wechat: serial at 2, incremented before use
			offset = binary.BigEndian.Uint32(first[2:]) - (start + 1)
		} else { // dtls: epoch at 3 (fixed), sequence from 0
			offset = uint32(binary.BigEndian.Uint16(first[3:])) - start
		}
	}
	// Our first datagram corresponds to Xray's first; replay it.
	pending := [][]byte{first}
	return func(p []byte) {
		var h []byte
		if len(pending) > 0 {
			h, pending = pending[0], nil
		} else {
			conn.WriteTo([]byte{0}, &net.UDPAddr{})
			h = pc.written[len(pc.written)-1]
		}
		h = bytes.Clone(h)
		switch size {
		case 4:
			binary.BigEndian.PutUint16(h[2:], uint16(uint32(binary.BigEndian.Uint16(h[2:]))-offset))
		case 13:
			if h[0] == 0xa1 {
				binary.BigEndian.PutUint32(h[2:], binary.BigEndian.Uint32(h[2:])-offset)
			} else {
				binary.BigEndian.PutUint16(h[3:], uint16(uint32(binary.BigEndian.Uint16(h[3:]))-offset))
			}
		}
		copy(p, h[:size])
	}
}

// TestDNSHeaderMatchesXray compares header-dns's fixed part with Xray's
// for several domains (the 2-byte transaction id is random in both).
func TestDNSHeaderMatchesXray(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"www.baidu.com", "a", "x.y.z.example", `esc\.aped.example`, "trailing.dot."} {
		t.Run(d, func(t *testing.T) {
			pc := &pipePC{}
			conn, err := finalmask.NewUdpmaskManager([]finalmask.Udpmask{&dns.Config{Domain: d}}).WrapPacketConnClient(pc)
			if err != nil {
				t.Fatal(err)
			}
			conn.WriteTo([]byte{0xee}, &net.UDPAddr{})
			x := pc.written[0]
			ours, err := dnsQueryHeader(d)
			if err != nil {
				t.Fatal(err)
			}
			if len(x) != len(ours)+1 || !bytes.Equal(x[2:len(ours)], ours[2:]) {
				t.Errorf("ours %x\nXray %x", ours, x[:len(x)-1])
			}
		})
	}
}

// TestLegacyKCPMasks: header.type and seed stand for the masks convert
// writes for them (header first, then mkcp-aes128gcm or mkcp-original).
func TestLegacyKCPMasks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header, domain, seed string
		want                 string
	}{
		{"", "", "", "[{mkcp-original  }]"},
		{"none", "", "pw", "[{mkcp-aes128gcm  pw}]"},
		{"wechat-video", "", "", "[{header-wechat  } {mkcp-original  }]"},
		{"DNS", "", "", "[{header-dns www.baidu.com } {mkcp-original  }]"},
		{"dns", "a.example", "k", "[{header-dns a.example } {mkcp-aes128gcm  k}]"},
	}
	for _, tt := range tests {
		specs, err := legacyKCPMasks(tt.header, tt.domain, tt.seed)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(specs); got != tt.want {
			t.Errorf("%q/%q: %s, want %s", tt.header, tt.seed, got, tt.want)
		}
	}
	if _, err := legacyKCPMasks("bogus", "", ""); err == nil {
		t.Error("an unknown header type was accepted")
	}
}

// TestKCPParamsMatchXray: window sizes derived from kcpSettings agree
// with Xray's own: the same JSON read by Xray's loader (infra/conf
// KCPConfig.Build) and its Config getters. A capacity or buffer size set
// to 0 is not the default in Xray: capacity 0 gives the smallest window
// (8 segments), writeBufferSize 0 gives 512 KiB.
func TestKCPParamsMatchXray(t *testing.T) {
	t.Parallel()
	u := func(v uint32) *uint32 { return &v }
	for _, tc := range []struct {
		json string
		k    KCPConfig
	}{
		{`{}`, KCPConfig{}},
		{`{"mtu":1400,"tti":20,"uplinkCapacity":100,"downlinkCapacity":100,"writeBufferSize":4}`,
			KCPConfig{MTU: 1400, TTI: 20, UplinkCapacity: u(100), DownlinkCapacity: u(100), WriteBufferSize: u(4)}},
		{`{"tti":1000,"uplinkCapacity":1}`, KCPConfig{TTI: 1000, UplinkCapacity: u(1)}},
		{`{"uplinkCapacity":0,"downlinkCapacity":0,"writeBufferSize":0}`,
			KCPConfig{UplinkCapacity: u(0), DownlinkCapacity: u(0), WriteBufferSize: u(0)}},
		{`{"tti":10,"uplinkCapacity":0}`, KCPConfig{TTI: 10, UplinkCapacity: u(0)}},
	} {
		p, err := (&Config{KCP: tc.k}).kcpParams()
		if err != nil {
			t.Fatal(err)
		}
		var xc xconf.KCPConfig
		if err := json.Unmarshal([]byte(tc.json), &xc); err != nil {
			t.Fatal(err)
		}
		built, err := xc.Build()
		if err != nil {
			t.Fatal(err)
		}
		x := built.(*xkcp.Config)
		if p.sendWindow != x.GetSendingInFlightSize() || p.recvWindow != x.GetReceivingInFlightSize() ||
			p.sendBuffer != x.GetSendingBufferSize() || p.mtu != x.GetMTUValue() || p.tti != x.GetTTIValue() {
			t.Errorf("%s: ours %d/%d/%d, Xray %d/%d/%d", tc.json, p.sendWindow, p.recvWindow, p.sendBuffer,
				x.GetSendingInFlightSize(), x.GetReceivingInFlightSize(), x.GetSendingBufferSize())
		}
	}
}

// testKCPSession is a session without a socket for feeding segments
// straight to input, with something in flight so acks have work to do.
func testKCPSession(t testing.TB, k KCPConfig) *kcpConn {
	t.Helper()
	p, err := (&Config{KCP: k}).kcpParams()
	if err != nil {
		t.Fatal(err)
	}
	c := newKCPSession(p, nil, 7)
	for i := 0; i < 5; i++ {
		c.window = append(c.window, kcpSent{number: c.nextNumber, payload: []byte("q")})
		c.nextNumber++
	}
	return c
}

// heldBytes is the payload the session holds for Read.
func heldBytes(c *kcpConn) int {
	n := 0
	for _, b := range c.recv {
		n += len(b)
	}
	return n
}

// TestKCPDuplicatesKeepOneAck: a server that sends the same in-window
// data segments again and again (2,000 datagrams of 70 segments each,
// never advancing its sendingNext) leaves at most one pending ack per
// number, never more than the receiving window. It used to queue an ack
// per copy (140,000) and walk them all for every segment.
func TestKCPDuplicatesKeepOneAck(t *testing.T) {
	t.Parallel()
	c := testKCPSession(t, KCPConfig{})
	var d []byte
	for i := uint32(0); i < 70; i++ {
		d = appendKCPData(d, 7, 0, 10, 1+i, 0, []byte("dup"))
	}
	var out [][]byte
	var buf []byte
	for round := 0; round < 2000; round++ {
		segs, _, err := parseKCPSegments(d, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.input(segs)
		if uint32(len(c.acks)) > c.p.recvWindow {
			t.Fatalf("round %d: %d acks pending, window %d", round, len(c.acks), c.p.recvWindow)
		}
		out, buf = c.flush(out[:0], buf[:0])
	}
	if len(c.acks) != 70 {
		t.Errorf("%d acks pending, want one for each of the 70 numbers", len(c.acks))
	}
}

// TestKCPOversizedSegmentsAreBounded: data segments far larger than any
// mtu Xray documents (775 of 60 KB, numbered after a first segment that
// never comes) are not all held: what waits for Read stays within the
// window of the largest segments Xray's documented mtu (1460) makes, plus
// the next segment in order. It used to hold 44 MB.
func TestKCPOversizedSegmentsAreBounded(t *testing.T) {
	t.Parallel()
	c := testKCPSession(t, KCPConfig{})
	big := bytes.Repeat([]byte{'b'}, 60000)
	for i := uint32(1); i <= 775; i++ {
		segs, _, err := parseKCPSegments(appendKCPData(nil, 7, 0, 10, i, 0, big), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.input(segs)
	}
	limit := int(c.p.recvWindow)*(kcpMaxDocumentedMTU-kcpDataOverhead) + 65535
	if held := heldBytes(c); held > limit {
		t.Fatalf("%d bytes held for Read, want at most %d", held, limit)
	}
	// The segment Read waits for is taken whatever is held, so a full
	// buffer never stalls the session.
	segs, _, _ := parseKCPSegments(appendKCPData(nil, 7, 0, 10, 0, 0, big), nil, nil)
	c.input(segs)
	if _, ok := c.recv[0]; !ok {
		t.Fatal("the next segment in order was dropped")
	}
}
