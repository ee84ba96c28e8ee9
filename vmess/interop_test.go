package vmess_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// dialVMess connects to srv over loopback TCP and wraps the connection.
func dialVMess(t testing.TB, srv *vmesstest.Server, acct vmess.Account, dest vmess.Destination, cfg *vmess.Config) *vmess.Conn {
	t.Helper()
	return dialAddr(t, srv.Addr, acct, dest, cfg)
}

// dialAddr connects to the VMess server at addr over loopback TCP, closes
// the raw connection when the test ends, and wraps it as a client.
func dialAddr(t testing.TB, addr string, acct vmess.Account, dest vmess.Destination, cfg *vmess.Config) *vmess.Conn {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	c, err := vmess.Client(raw, acct, dest, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// echoDatagrams sends a random datagram of each size through pc to a UDP
// echo server and checks that each comes back whole and from wantFrom;
// then it half-closes pc and expects a clean EOF (the server ending the
// session).
func echoDatagrams(t testing.TB, pc *vmess.PacketConn, sizes []int, wantFrom string) {
	t.Helper()
	buf := make([]byte, 8192)
	msg := make([]byte, 8000)
	for i, n := range sizes {
		rand.Read(msg[:n])
		if _, err := pc.WriteTo(msg[:n], nil); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		got, from, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d (%d bytes): %v", i, n, err)
		}
		if !bytes.Equal(buf[:got], msg[:n]) {
			t.Fatalf("datagram %d: got %d bytes, want %d", i, got, n)
		}
		if from.String() != wantFrom {
			t.Fatalf("from %v, want %v", from, wantFrom)
		}
	}
	if err := pc.Conn().CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, _, err := pc.ReadFrom(buf); err != io.EOF {
		t.Fatalf("after half-close: %d bytes, %v; want EOF", n, err)
	}
}

func account(t testing.TB, id string, sec vmess.Security, authLen bool) vmess.Account {
	t.Helper()
	uid, err := vmess.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	return vmess.Account{ID: uid, Security: sec, AuthenticatedLength: authLen}
}

func destOf(t testing.TB, network vmess.Network, addr string) vmess.Destination {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return vmess.Destination{Network: network, Host: host, Port: uint16(p)}
}

type securityCase struct {
	name    string
	sec     vmess.Security
	authLen bool
}

var securities = []securityCase{
	{"aes-128-gcm", vmess.SecurityAES128GCM, false},
	{"chacha20-poly1305", vmess.SecurityChaCha20Poly1305, false},
	{"none", vmess.SecurityNone, false},
	{"zero", vmess.SecurityZero, false},
	{"auto", vmess.SecurityAuto, false},
	{"aes-128-gcm+AuthenticatedLength", vmess.SecurityAES128GCM, true},
	{"chacha20-poly1305+AuthenticatedLength", vmess.SecurityChaCha20Poly1305, true},
}

// testSecurities are the securities an interop matrix runs with: all of
// them, or under -short (a quick run while iterating) one AEAD with and
// one without AuthenticatedLength and none, still against Xray.
func testSecurities() []securityCase {
	if !testing.Short() {
		return securities
	}
	var out []securityCase
	for _, sc := range securities {
		switch sc.name {
		case "aes-128-gcm", "none", "chacha20-poly1305+AuthenticatedLength":
			out = append(out, sc)
		}
	}
	return out
}

// shortSize is n in the default run and small under -short.
func shortSize(n, small int) int {
	if testing.Short() {
		return small
	}
	return n
}

// echoTCP writes data while reading the echo concurrently, half-closes,
// and checks that exactly data comes back followed by EOF.
func echoTCP(t *testing.T, c *vmess.Conn, written <-chan struct{}, data []byte) {
	t.Helper()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	started := make(chan struct{})
	go func() {
		close(started)
		defer wg.Done()
		// One Write of everything: the reader must not wait for it to
		// finish (the echo fills every buffer on the way back first).
		if _, err := c.Write(data); err != nil {
			werr = err
			return
		}
		werr = c.CloseWrite()
	}()
	<-started
	<-written // the Write is under way and holds the write lock
	var got []byte
	var err error
	if len(data) <= 64<<10 {
		// Small: after our half-close the stream must end cleanly.
		got, err = io.ReadAll(c)
	} else {
		// Large: every byte must come back after the half-close. Not
		// waiting for EOF as well keeps the test independent of how long
		// the server lingers after the echo, which Xray bounds only by
		// its downlinkOnly idle timer.
		got = make([]byte, len(data))
		var n int
		n, err = io.ReadFull(c, got)
		got = got[:n]
	}
	wg.Wait()
	if werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if err != nil {
		t.Fatalf("read after %d bytes: %v", len(got), err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo returned %d bytes, sent %d (equal prefix: %v)", len(got), len(data), bytes.HasPrefix(data, got))
	}
}

// TestInteropTCP sends small and large (8 MiB each way, 1 MiB under
// -short; with half-close) streams through an in-process Xray VMess
// server to a loopback echo server, for every security value.
func TestInteropTCP(t *testing.T) {
	t.Parallel()
	// Xray closes a session whose downlink has been idle for downlinkOnly
	// (1 s by default) after the uplink ended. On a loaded machine the
	// reader of a large echo can be starved that long, and Xray then cuts
	// the stream; a longer timer keeps the test about the protocol.
	// Small streams, which wait for the end of stream, use the default.
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	patient := vmesstest.StartServer(t, vmesstest.ServerOptions{Policy: `{"levels":{"0":{"downlinkOnly":5}}}`})
	echo := vmesstest.StartEcho(t)
	large := make([]byte, shortSize(8<<20, 1<<20)+12345)
	rand.Read(large)
	for _, sc := range testSecurities() {
		for _, size := range []struct {
			name string
			data []byte
		}{{"small", []byte("hello through xray\n")}, {"large", large}} {
			t.Run(sc.name+"/"+size.name, func(t *testing.T) {
				// Each stream ends ~1 s after half-close (freedom's
				// downlinkOnly timer), so let the waits overlap.
				t.Parallel()
				written := make(chan struct{})
				cfg := &vmess.Config{Trace: &vmess.Trace{RequestWritten: func(time.Time) { close(written) }}}
				s := srv
				if len(size.data) > 64<<10 {
					s = patient
				}
				c := dialVMess(t, s, account(t, s.ID, sc.sec, sc.authLen), destOf(t, vmess.NetworkTCP, echo.Addr), cfg)
				echoTCP(t, c, written, size.data)
			})
		}
	}
}

// TestInteropDestinations reaches IPv4, IPv6 and domain destinations.
func TestInteropDestinations(t *testing.T) {
	t.Parallel()
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	echo4 := vmesstest.StartEcho(t)
	echo6 := vmesstest.StartEchoOn(t, "[::1]:0") // this test needs IPv6 loopback
	_, port6, _ := net.SplitHostPort(echo6.Addr)
	p6, _ := strconv.Atoi(port6)
	_, port4, _ := net.SplitHostPort(echo4.Addr)
	p4, _ := strconv.Atoi(port4)
	tests := []struct {
		name string
		dest vmess.Destination
	}{
		{"ipv4", vmess.Destination{Host: "127.0.0.1", Port: uint16(p4)}},
		{"ipv6", destOf(t, vmess.NetworkTCP, echo6.Addr)},
		{"ipv6 bracketed", vmess.Destination{Host: "[::1]", Port: uint16(p6)}},
		{"ipv4-mapped", vmess.Destination{Host: "::ffff:127.0.0.1", Port: uint16(p4)}},
		// localhost may resolve to ::1 first; Xray must still reach the
		// IPv4 echo.
		{"domain", vmess.Destination{Host: "localhost", Port: uint16(p4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialVMess(t, srv, account(t, srv.ID, vmess.SecurityAES128GCM, false), tt.dest, nil)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			msg := []byte("ping " + tt.name)
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// TestInteropHTTP fetches a page from an HTTP server behind Xray.
func TestInteropHTTP(t *testing.T) {
	t.Parallel()
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	body := bytes.Repeat([]byte("xvm "), 50000)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	defer hs.Close()
	for _, sc := range testSecurities() {
		t.Run(sc.name, func(t *testing.T) {
			var times []string
			tr := &vmess.Trace{
				RequestWritten:    func(time.Time) { times = append(times, "written") },
				FirstResponseByte: func(time.Time) { times = append(times, "first byte") },
				ResponseHeader:    func(time.Time) { times = append(times, "header") },
			}
			c := dialVMess(t, srv, account(t, srv.ID, sc.sec, sc.authLen), destOf(t, vmess.NetworkTCP, hs.Listener.Addr().String()), &vmess.Config{Trace: tr})
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.HandshakeContext(ctx); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(times) != "[written first byte header]" {
				t.Fatalf("trace order %v", times)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(got, body) || resp.StatusCode != 200 {
				t.Fatalf("status %d, %d bytes, %v", resp.StatusCode, len(got), err)
			}
		})
	}
}

// TestInteropUDP exchanges datagrams with a UDP echo server behind Xray
// (command 0x02): small ones, and over 8 MiB (1 MiB under -short) in
// lock-step max-size datagrams, both through Conn and through the
// PacketConn wrapper.
func TestInteropUDP(t *testing.T) {
	t.Parallel()
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	uecho := vmesstest.StartUDPEcho(t)
	for _, sc := range testSecurities() {
		if sc.sec == vmess.SecurityZero {
			continue // no framing: datagram boundaries are lost (checked below)
		}
		for _, size := range []string{"small", "large"} {
			t.Run(sc.name+"/"+size, func(t *testing.T) {
				t.Parallel()
				raw, err := net.Dial("tcp", srv.Addr)
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				pc, err := vmess.ClientPacket(raw, account(t, srv.ID, sc.sec, sc.authLen), destOf(t, vmess.NetworkUDP, uecho.Addr), nil)
				if err != nil {
					t.Fatal(err)
				}
				pc.SetDeadline(time.Now().Add(60 * time.Second))
				sizes := []int{1, 17, 512, 1400}
				if size == "large" {
					sizes = nil
					for total := 0; total < shortSize(8<<20, 1<<20); total += 8000 {
						sizes = append(sizes, 8000)
					}
				}
				// Half-close at the end: our end-of-stream makes Xray wind
				// the session down (about 1 s later) with its own EOS.
				echoDatagrams(t, pc, sizes, uecho.Addr)
			})
		}
	}
	t.Run("zero/stream of datagram bytes", func(t *testing.T) {
		c := dialVMess(t, srv, account(t, srv.ID, vmess.SecurityZero, false), destOf(t, vmess.NetworkUDP, uecho.Addr), nil)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("zero-udp")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 8)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "zero-udp" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("oversize datagram refused locally", func(t *testing.T) {
		c := dialVMess(t, srv, account(t, srv.ID, vmess.SecurityAES128GCM, false), destOf(t, vmess.NetworkUDP, uecho.Addr), nil)
		if _, err := c.Write(make([]byte, 9000)); err == nil {
			t.Fatal("a 9000-byte datagram was accepted; Xray would drop it silently")
		}
	})
}

// TestRejections shows what the client observes when Xray rejects it: a
// wrong user id, or a clock outside the ±120 s window. On raw TCP Xray
// drains: with a small first flight nothing comes back until its handshake
// timeout (5 s here); with a first flight of at least 3382 bytes it closes
// at once. Either way the client gets ErrNoResponse, and its own deadline
// holds when the server's timeout is longer.
func TestRejections(t *testing.T) {
	// How many bytes Xray drains before closing a rejected connection
	// depends on its user list (docs/protocol.md#drain-on-rejection: D = 54 + B + r, B seeded from
	// the users). With a random id D is sometimes below our small first
	// flight, and the "closed at the handshake timeout" cases would see an
	// immediate close instead. This id gives B = 1691, R = 19, so
	// D ∈ [1745, 1763]: above the small flights, below 4 KiB.
	const knownDrainID = "b831381d-6324-4d53-ad4f-8cda48b30811"
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{IDs: []string{knownDrainID}, Policy: `{"levels":{"0":{"handshake":5}}}`})
	slow := vmesstest.StartServer(t, vmesstest.ServerOptions{IDs: []string{knownDrainID}}) // default 60 s handshake
	echo := vmesstest.StartEcho(t)
	wrongID := account(t, vmesstest.NewUUID(), vmess.SecurityAES128GCM, false)
	skewed := func(d time.Duration) *vmess.Config {
		return &vmess.Config{Now: func() time.Time { return time.Now().Add(d) }}
	}
	// The server's handshake timeout is 5 s. "At once" means well before
	// it, "at the handshake timeout" around it; the bounds between are
	// wide, so that a loaded machine cannot blur the two (they are not
	// speed claims).
	const (
		atOnce       = 2500 * time.Millisecond
		handshakeMin = 4 * time.Second
		handshakeMax = 20 * time.Second
	)
	tests := []struct {
		name     string
		srv      *vmesstest.Server
		acct     func(*vmesstest.Server) vmess.Account
		cfg      *vmess.Config
		flight   int
		deadline time.Duration
		wantErr  error
		minT     time.Duration
		maxT     time.Duration
		wantOK   bool
	}{
		{"wrong id, small flight: closed at the handshake timeout", srv, func(*vmesstest.Server) vmess.Account { return wrongID }, nil, 10, 30 * time.Second, vmess.ErrNoResponse, handshakeMin, handshakeMax, false},
		{"wrong id, 4 KiB flight: closed at once", srv, func(*vmesstest.Server) vmess.Account { return wrongID }, nil, 4096, 30 * time.Second, vmess.ErrNoResponse, 0, atOnce, false},
		{"clock -150 s: closed at the handshake timeout", srv, nil, skewed(-150 * time.Second), 10, 30 * time.Second, vmess.ErrNoResponse, handshakeMin, handshakeMax, false},
		{"clock +150 s, 4 KiB flight: closed at once", srv, nil, skewed(150 * time.Second), 4096, 30 * time.Second, vmess.ErrNoResponse, 0, atOnce, false},
		{"clock -100 s: accepted", srv, nil, skewed(-100 * time.Second), 10, 30 * time.Second, nil, 0, 0, true},
		{"clock +100 s: accepted", srv, nil, skewed(100 * time.Second), 10, 30 * time.Second, nil, 0, 0, true},
		{"wrong id, 60 s server: our 500 ms deadline holds", slow, func(*vmesstest.Server) vmess.Account { return wrongID }, nil, 10, 500 * time.Millisecond, os.ErrDeadlineExceeded, 400 * time.Millisecond, atOnce, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the handshake-timeout cases wait 5 s each
			acct := account(t, tt.srv.ID, vmess.SecurityAES128GCM, false)
			if tt.acct != nil {
				acct = tt.acct(tt.srv)
			}
			c := dialVMess(t, tt.srv, acct, destOf(t, vmess.NetworkTCP, echo.Addr), tt.cfg)
			start := time.Now()
			c.SetDeadline(start.Add(tt.deadline))
			flight := make([]byte, tt.flight)
			if _, err := c.Write(flight); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, tt.flight)
			_, err := io.ReadFull(c, got)
			el := time.Since(start)
			t.Logf("after %v: %v", el.Round(time.Millisecond), err)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("want the echo, got %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if el < tt.minT || el > tt.maxT {
				t.Fatalf("failed after %v, want between %v and %v", el, tt.minT, tt.maxT)
			}
		})
	}
	t.Run("HandshakeContext timeout", func(t *testing.T) {
		c := dialVMess(t, slow, wrongID, destOf(t, vmess.NetworkTCP, echo.Addr), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.HandshakeContext(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > atOnce {
			t.Fatalf("err = %v after %v, want context.DeadlineExceeded after ~300ms", err, time.Since(start))
		}
	})
	t.Run("aes-128-cfb over AEAD auth: Xray closes at once", func(t *testing.T) {
		acct := account(t, srv.ID, vmess.SecurityLegacyAES128CFB, false)
		c := dialVMess(t, srv, acct, destOf(t, vmess.NetworkTCP, echo.Addr), nil)
		start := time.Now()
		c.SetDeadline(start.Add(30 * time.Second))
		c.Write([]byte("x"))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, vmess.ErrNoResponse) || time.Since(start) > atOnce {
			t.Fatalf("err = %v after %v, want ErrNoResponse at once", err, time.Since(start))
		}
	})
}

// TestInteropIDNA reaches an internationalized domain through Xray: the
// client sends its punycode form (Xray's server refuses any domain byte
// outside [A-Za-z0-9._-]), and Xray's DNS hosts entry for that form leads
// to the echo server.
//
// Not parallel: run beside other Xray instances, this one's freedom
// outbound sometimes did not resolve the name through its own hosts
// entry and the session ended at once (2 of 3 runs with -count=3).
func TestInteropIDNA(t *testing.T) {
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{
		DNS:       `{"hosts":{"xn--bcher-kva.test":"127.0.0.1"}}`,
		Outbounds: `[{"protocol":"freedom","settings":{"domainStrategy":"UseIPv4"}}]`,
	})
	echo := vmesstest.StartEcho(t)
	_, port, _ := net.SplitHostPort(echo.Addr)
	p, _ := strconv.Atoi(port)
	c := dialVMess(t, srv, account(t, srv.ID, vmess.SecurityAES128GCM, false), vmess.Destination{Host: "Bücher.test", Port: uint16(p)}, nil)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := []byte("grüße")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("got %q, %v", got, err)
	}

	raw, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := vmess.Client(raw, account(t, srv.ID, vmess.SecurityAES128GCM, false), vmess.Destination{Host: "bü cher.test", Port: uint16(p)}, nil); err == nil {
		t.Fatal("an invalid internationalized name was accepted")
	}
}
