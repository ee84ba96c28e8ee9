package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

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
		c := testKCPSession(t, KCPConfig{DownlinkCapacity: 1, UplinkCapacity: 1})
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

// FuzzXHTTPResponse answers the XHTTP download request (HTTP/1.1) with
// arbitrary bytes: Dial either fails with a typed phase error or returns
// a stream whose reads end in an error, never a panic or a hang, and
// reading stays bounded.
func FuzzXHTTPResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nX-Padding: " + string(bytes.Repeat([]byte("X"), 2000)) + "\r\n\r\n"))
	f.Add([]byte("\x16\x03\x01"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		serve := func(c net.Conn) {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			c.Write(answer)
		}
		cfg := &Config{Address: "127.0.0.1", Port: 1, Network: "xhttp",
			XHTTP:     XHTTPConfig{Mode: "stream-one"},
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
		n, err := io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
		if err == nil && n == 1<<20 {
			t.Fatalf("read 1 MiB from a %d-byte answer", len(answer))
		}
	})
}
