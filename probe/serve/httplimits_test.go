package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// testListener is a listener whose connections have small send buffers,
// so that a client that stops reading blocks the server's writes after a
// few kilobytes rather than after the megabytes loopback buffers hold. It
// records the connections the server closed.
type testListener struct {
	net.Listener
	mu     sync.Mutex
	closed map[string]bool // by the client's address
}

func (l *testListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	c.(*net.TCPConn).SetWriteBuffer(4 << 10)
	return &recordedConn{Conn: c, l: l}, nil
}

type recordedConn struct {
	net.Conn
	l *testListener
}

func (c *recordedConn) Close() error {
	c.l.mu.Lock()
	c.l.closed[c.RemoteAddr().String()] = true
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// closedByServer reports whether the server closed the client's
// connection c.
func (l *testListener) closedByServer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed[c.LocalAddr().String()]
}

// serveOn runs s on a loopback testListener and returns it; the server
// stops when the test ends.
func serveOn(t *testing.T, s *Server) (addr string, l *testListener) {
	t.Helper()
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l = &testListener{Listener: nl, closed: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return nl.Addr().String(), l
}

// stuckClient sends a GET for path and never reads the answer.
func stuckClient(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	return c
}

// watchedServer is a test server with n targets that each have a result,
// and short HTTP limits.
func watchedServer(t *testing.T, n int) *Server {
	t.Helper()
	s, clock := newTestServer(t, Options{Sources: []string{writeLinks(t, t.TempDir(), "l.txt", n)}})
	s.dispatch(context.Background(), clock.add(time.Minute))
	s.cycles.Wait()
	s.limits.write, s.limits.stream, s.limits.read = time.Second, time.Second, time.Second
	s.limits.renders, s.limits.renderWait = 2, 10*time.Second
	s.pageSlots, s.metricsSlots = make(renderSlots, 2), make(renderSlots, 2)
	return s
}

// TestSlowReadersBounded: clients that ask for the status page or
// /metrics and never read hold at most two answers in the making at a
// time, each for the write limit, after which the server drops them; a
// client that reads gets its answer meanwhile.
func TestSlowReadersBounded(t *testing.T) {
	// Not in parallel: the reading client's answer must be made and
	// written within the write limit of 1 s, which other tests' load
	// (under -race) can take from it.
	for _, tc := range []struct {
		path string
		// inFlight: the answers in the making show in /metrics' own
		// in-flight gauge (the page's renders do not).
		inFlight bool
	}{{"/metrics", true}, {"/", false}} {
		path := tc.path
		t.Run(path, func(t *testing.T) {
			s := watchedServer(t, 300) // about 1 MB of /metrics, 0.6 MB of page
			addr, l := serveOn(t, s)
			var stuck []net.Conn
			for range 6 {
				stuck = append(stuck, stuckClient(t, addr, path))
			}
			client := &http.Client{Timeout: 30 * time.Second}
			worst := 0
			for range 5 {
				resp, err := client.Get("http://" + addr + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("a client that reads got %d: %s", resp.StatusCode, body)
				}
				if v, ok := seriesValue(string(body), "promhttp_metric_handler_requests_in_flight"); ok {
					worst = max(worst, int(v))
				}
			}
			if tc.inFlight && worst > 2 {
				t.Errorf("%d scrapes were in the making at once, want at most 2", worst)
			}
			for i, c := range stuck {
				waitFor(t, fmt.Sprintf("the server to drop stuck client %d", i), func() bool { return l.closedByServer(c) })
			}
		})
	}
}

// TestEventsSlowConsumer: an /events client that stops reading loses the
// events its buffer cannot hold (counted), never slows the probes, and is
// dropped once a line cannot be written within the stream's limit.
func TestEventsSlowConsumer(t *testing.T) {
	t.Parallel() // it waits for the stream limit; the others need not
	s := watchedServer(t, 2)
	addr, l := serveOn(t, s)
	c := stuckClient(t, addr, "/events")
	waitFor(t, "the stream to open", func() bool { n, _ := s.events.stats(); return n == 1 })
	line := []byte(`{"name":"` + strings.Repeat("x", 8<<10) + "\"}\n")
	for range 3 * subscriberBuffer {
		s.events.publish(line) // never blocks
	}
	waitFor(t, "the stuck stream to be dropped", func() bool { n, _ := s.events.stats(); return n == 0 })
	if _, dropped := s.events.stats(); dropped == 0 {
		t.Error("no event counted as dropped")
	}
	waitFor(t, "the server to drop the stuck stream", func() bool { return l.closedByServer(c) })
}

// TestEventsStreamCap: at most maxSubscribers streams are open; one more
// is refused with 503 until another ends.
func TestEventsStreamCap(t *testing.T) {
	s := watchedServer(t, 1)
	addr, _ := serveOn(t, s)
	var conns []net.Conn
	for range maxSubscribers {
		conns = append(conns, stuckClient(t, addr, "/events"))
	}
	waitFor(t, "every stream to open", func() bool { n, _ := s.events.stats(); return n == maxSubscribers })
	status := func() int {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusServiceUnavailable {
		t.Fatalf("stream %d: %d, want 503", maxSubscribers+1, got)
	}
	conns[0].Close()
	waitFor(t, "a stream to end", func() bool { n, _ := s.events.stats(); return n < maxSubscribers })
	if got := status(); got != http.StatusOK {
		t.Fatalf("after a stream ended: %d, want 200", got)
	}
}

// TestRequestLimits: a header over the limit is refused (431), and a
// client that sends a body slower than the read limit is cut off.
func TestRequestLimits(t *testing.T) {
	t.Parallel() // it waits for the read limit; the others need not
	s := watchedServer(t, 1)
	addr, l := serveOn(t, s)

	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Filler", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 64 KiB header: %d, want 431", resp.StatusCode)
	}

	// A body announced and never finished: the connection ends after the
	// read limit instead of waiting for it.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
	waitFor(t, "the server to drop a client that never finished its body", func() bool { return l.closedByServer(c) })
}
