package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/xtls/xray-core/infra/conf"
	"github.com/xtls/xray-core/transport/internet/finalmask"
	"github.com/xtls/xray-core/transport/internet/finalmask/header/dns"
	xkcp "github.com/xtls/xray-core/transport/internet/kcp"
)

// FuzzKCPSegments parses arbitrary datagrams as mKCP segments with our
// parser and Xray's (KCPPacketReader): both find the same segments with
// the same fields, and ours never panics or reads past the datagram.
func FuzzKCPSegments(f *testing.F) {
	f.Add(appendKCPData(nil, 1, 0, 10, 2, 1, []byte("payload")))
	f.Add(appendKCPAck(nil, 1, 1, 100, 3, 10, []uint32{3, 4, 9}))
	f.Add(appendKCPCommand(appendKCPCommand(nil, 1, kcpCmdPing, 0, 1, 2, 3), 1, kcpCmdTerminate, 1, 4, 5, 6))
	f.Add([]byte{0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255})
	f.Add([]byte{9, 9, 7, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		segs, _, _ := parseKCPSegments(bytes.Clone(b), nil, nil)
		xsegs := (&xkcp.KCPPacketReader{}).Read(bytes.Clone(b))
		if len(segs) != len(xsegs) {
			t.Fatalf("%d segments, Xray %d", len(segs), len(xsegs))
		}
		for i := range segs {
			if got, want := describeSegment(&segs[i]), describeXraySegment(xsegs[i]); got != want {
				t.Fatalf("segment %d: %s, Xray %s", i, got, want)
			}
		}
	})
}

// FuzzUDPMasks unwraps arbitrary datagrams with each mask list and
// checks that a failure is the typed one, and that wrapping then
// unwrapping the input as a payload gives it back.
func FuzzUDPMasks(f *testing.F) {
	for i := range maskCases {
		f.Add(uint8(i), []byte("a datagram"))
	}
	f.Add(uint8(6), []byte{0, 0, 0, 0, 0, 0})
	f.Add(uint8(7), bytes.Repeat([]byte{1}, 28))
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		mc := maskCases[int(which)%len(maskCases)]
		masks, err := newUDPMasks(mc.specs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unwrapDatagram(masks, bytes.Clone(b)); err != nil && !errors.Is(err, errUDPMask) {
			t.Fatalf("untyped error %v", err)
		}
		if len(b) > 4000 {
			return
		}
		d := wrapOurs(t, masks, b)
		back, err := unwrapDatagram(masks, d)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip: %x, %v", back, err)
		}
	})
}

// FuzzKCPInput feeds arbitrary datagrams to an mKCP session's input,
// thousands of times over, with the data segments' numbers taken now as
// they are and now relative to where the receiver stands, and the
// session reading what is in order: it must not panic, and whatever the
// peer sends, the session holds at most its receiving window of
// segments (bounded in bytes too) and of pending acks.
func FuzzKCPInput(f *testing.F) {
	f.Add(appendKCPData(nil, 7, 0, 10, 0, 0, []byte("first")))
	f.Add(appendKCPData(appendKCPData(nil, 7, 0, 10, 3, 0, []byte("x")), 7, 1, 10, 200, 0, nil))
	f.Add(appendKCPData(appendKCPData(appendKCPData(nil, 7, 0, 10, 1, 0, []byte("a")), 7, 0, 10, 1, 0, []byte("a")), 7, 0, 11, 2, 0, make([]byte, 9000)))
	f.Add(appendKCPAck(nil, 7, 0, 1<<31, 1<<31, 0xffffffff, []uint32{0, 1, 2, 1 << 31}))
	f.Add(appendKCPCommand(nil, 7, kcpCmdTerminate, 1, 0xffffffff, 0xffffffff, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		one := uint32(1)
		c := testKCPSession(t, KCPConfig{DownlinkCapacity: &one, UplinkCapacity: &one})
		var out [][]byte
		var buf []byte
		read := make([]byte, 4096)
		// Read takes what is in order and never waits (a segment may be
		// empty).
		c.SetReadDeadline(aLongTimeAgo)
		for round := 0; round < 2000; round++ {
			segs, _, _ := parseKCPSegments(b, nil, nil)
			if round%2 == 1 {
				for i := range segs {
					segs[i].number += c.recvNext
				}
			}
			c.input(segs)
			out, buf = c.flush(out[:0], buf[:0])
			if uint32(len(c.recv)) > c.p.recvWindow {
				t.Fatalf("round %d: %d segments held, window %d", round, len(c.recv), c.p.recvWindow)
			}
			if held := heldBytes(c); held > c.p.recvBytes+65535 {
				t.Fatalf("round %d: %d bytes held, bound %d", round, held, c.p.recvBytes)
			}
			if uint32(len(c.acks)) > c.p.recvWindow {
				t.Fatalf("round %d: %d acks pending, window %d", round, len(c.acks), c.p.recvWindow)
			}
			if round%7 == 0 {
				c.Read(read)
			}
		}
	})
}

// pipeDialer hands Dial one end of an in-memory pipe whose other end
// serves: it reads the request, answers with what serve writes, and
// closes.
type pipeDialer struct {
	serve func(net.Conn)
}

func (d pipeDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		d.serve(server)
	}()
	return client, nil
}

// xhttpFuzzModes are the modes FuzzXHTTPResponse's variant picks from.
var xhttpFuzzModes = []string{"packet-up", "stream-up", "stream-one"}

// h2Answer is an HTTP/2 server's frames after its SETTINGS: the
// response to stream 1 as a header block, then DATA frames, for seeds.
func h2Answer(status string, continuation int, data ...string) []byte {
	var b, block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	fr := http2.NewFramer(&b, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: continuation == 0})
	for i := 0; i < continuation; i++ {
		fr.WriteContinuation(1, i == continuation-1, append([]byte{0x00, 1, 'x', 100}, bytes.Repeat([]byte("p"), 100)...))
	}
	for i, d := range data {
		fr.WriteData(1, i == len(data)-1, []byte(d))
	}
	return b.Bytes()
}

// FuzzXHTTPResponse answers an XHTTP session's requests with arbitrary
// bytes, in each mode (variant % 3: packet-up, stream-up, stream-one)
// over HTTP/1.1 or h2c (variant / 3 % 2; over h2c the bytes follow the
// server's SETTINGS frame): Dial either fails with a typed upgrade-phase
// error or returns a stream whose reads end in an error, never a panic
// or a hang, and reading stays bounded.
func FuzzXHTTPResponse(f *testing.F) {
	for v := byte(0); v < 3; v++ {
		f.Add(v, []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
		f.Add(v, []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
		f.Add(v+3, h2Answer("200", 0, "hello", "world"))
		f.Add(v+3, h2Answer("200", 3, "data"))
		f.Add(v+3, h2Answer("404", 0))
	}
	f.Add(byte(2), []byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add(byte(2), []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"))
	f.Add(byte(2), []byte("HTTP/1.1 200 OK\r\nX-Padding: "+string(bytes.Repeat([]byte("X"), 2000))+"\r\n\r\n"))
	f.Add(byte(2), []byte("\x16\x03\x01"))
	f.Add(byte(5), []byte{0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}) // GOAWAY
	f.Add(byte(4), []byte{0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 2})             // RST_STREAM
	f.Fuzz(func(t *testing.T, variant byte, answer []byte) {
		h2c := variant/3%2 == 1
		serve := func(c net.Conn) {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if h2c {
				go io.Copy(io.Discard, c)
				http2.NewFramer(c, nil).WriteSettings()
			} else if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			c.Write(answer)
		}
		cfg := &Config{Address: "127.0.0.1", Port: 1, Network: "xhttp",
			XHTTP:     XHTTPConfig{Mode: xhttpFuzzModes[variant%3], H2C: h2c},
			NetDialer: pipeDialer{serve}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := Dial(ctx, cfg, nil)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Phase != PhaseUpgrade {
				t.Fatalf("Dial error %v is not an upgrade-phase *Error", err)
			}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		conn.Write([]byte("upload"))
		n, err := io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
		if err == nil && n == 1<<20 {
			t.Fatalf("read 1 MiB from a %d-byte answer", len(answer))
		}
	})
}

// FuzzDNSQueryHeader builds header-dns's question for arbitrary domains
// (a link's host or header.domain) with ours and with Xray's
// (finalmask/header/dns): the same bytes after the random transaction
// id, or both refuse; never a panic or a header longer than a DNS name
// allows.
func FuzzDNSQueryHeader(f *testing.F) {
	for _, d := range []string{"www.baidu.com", "", ".", "a..b", `esc\.aped.example`, `trail\`, strings.Repeat("a", 64) + ".x", strings.Repeat("abc.", 70)} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, domain string) {
		ours, err := dnsQueryHeader(domain)
		if err == nil && len(ours) > 12+256+4 {
			t.Fatalf("header of %d bytes", len(ours))
		}
		pc := &pipePC{}
		conn, xerr := xrayDNSConn(domain, pc)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("ours: %v; Xray: %v", err, xerr)
		}
		if err != nil {
			return
		}
		conn.WriteTo([]byte{0xee}, &net.UDPAddr{})
		x := pc.written[0]
		if len(x) != len(ours)+1 || !bytes.Equal(x[2:len(ours)], ours[2:]) {
			t.Fatalf("ours %x\nXray %x", ours, x[:len(x)-1])
		}
	})
}

// xrayDNSConn is Xray's header-dns client for domain over pc. Xray
// panics on some names longer than a DNS name (its packDomainName
// writes past its buffer); that counts as a refusal.
func xrayDNSConn(domain string, pc net.PacketConn) (conn net.PacketConn, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("xray panicked: %v", r)
		}
	}()
	return finalmask.NewUdpmaskManager([]finalmask.Udpmask{&dns.Config{Domain: domain}}).WrapPacketConnClient(pc)
}

// FuzzXHTTPExtra reads arbitrary xhttpSettings.extra (links carry it)
// as Dial does and as Xray's loader does (infra/conf SplitHTTPConfig):
// Dial never panics, refuses what Xray refuses, and what it accepts it
// reads with the ranges Xray reads.
func FuzzXHTTPExtra(f *testing.F) {
	for _, s := range []string{`{}`, `{"xPaddingBytes":"10-20","scMaxEachPostBytes":1000,"xmux":{"hMaxRequestTimes":"3-5"}}`,
		`{"headers":{"a":"b"},"noGRPCHeader":true}`, `{"xPaddingBytes":"-5--1"}`, `{"scMinPostsIntervalMs":"0-0"}`,
		`{"xPaddingObfsMode":true}`, `{"downloadSettings":{}}`, `{"XPADDINGBYTES":"1-2"}`, `[]`, `{"xmux":{"maxConnections":1,"maxConcurrency":2}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, extra []byte) {
		if len(extra) == 0 {
			return // no extra
		}
		cfg := &Config{Address: "a", Network: "xhttp", XHTTP: XHTTPConfig{Path: "/p", Extra: extra}}
		_, err := cfg.xhttpPlan(false)
		if !json.Valid(extra) {
			// Xray's whole config would not load.
			if err == nil {
				t.Fatalf("Dial accepted extra %q, which is not JSON", extra)
			}
			return
		}
		xc := conf.SplitHTTPConfig{Path: "/p", Extra: extra}
		_, xerr := xc.Build()
		var ue *UnsupportedError
		if err != nil && errors.As(err, &ue) {
			return // what xvm does not speak, refused by name
		}
		if xerr != nil && err == nil {
			t.Fatalf("Xray refuses %s (%v); Dial accepted it", extra, xerr)
		}
		if xerr == nil && err != nil {
			t.Fatalf("Xray accepts %s; Dial: %v", extra, err)
		}
	})
}

// FuzzParseRange reads arbitrary range strings with parseRange and with
// Xray's conf.Int32Range: the same numbers, or both refuse.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"5", "100-1000", "1000-100", "-114-514", "-1919--810", "", "a-b", "1-2-3", "99999999999", "-", "--", "+1-+2", " 1-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		var ours Range
		var xr conf.Int32Range
		err := json.Unmarshal(raw, &ours)
		xerr := json.Unmarshal(raw, &xr)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("%q: ours %v, Xray %v", s, err, xerr)
		}
		if err == nil && (ours.From != xr.From || ours.To != xr.To) {
			t.Fatalf("%q: ours %+v, Xray %d-%d", s, ours, xr.From, xr.To)
		}
	})
}
