package transport_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// capturedRequest is what a capture server saw of a client's HTTP
// request. Values that are random or version-dependent are reduced to
// their shape.
type capturedRequest struct {
	Method, URI, Host string
	HeaderNames       []string
	Upgrade           string
	Connection        string
	EarlyDataLen      int // decoded Sec-WebSocket-Protocol, -1 when absent
	UserAgentPrefix   string
	ContentType, TE   string
}

func shape(r *http.Request) capturedRequest {
	c := capturedRequest{Method: r.Method, URI: r.RequestURI, Host: r.Host, EarlyDataLen: -1,
		Upgrade: r.Header.Get("Upgrade"), Connection: r.Header.Get("Connection"),
		ContentType: r.Header.Get("Content-Type"), TE: r.Header.Get("Te")}
	if _, port, err := net.SplitHostPort(c.Host); err == nil {
		c.Host = strings.TrimSuffix(c.Host, port) + "PORT" // capture ports differ
	}
	for k := range r.Header {
		c.HeaderNames = append(c.HeaderNames, k)
	}
	sort.Strings(c.HeaderNames)
	if p := r.Header.Get("Sec-WebSocket-Protocol"); p != "" {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err == nil {
			c.EarlyDataLen = len(b)
		}
	}
	if ua := r.Header.Get("User-Agent"); ua != "" {
		c.UserAgentPrefix, _, _ = strings.Cut(ua, " ")
	}
	return c
}

// captureHTTP1 accepts one connection and returns the parsed request.
func captureHTTP1(t *testing.T) (*net.TCPAddr, <-chan capturedRequest) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan capturedRequest, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			t.Errorf("capture: %v", err)
			close(ch)
			return
		}
		ch <- shape(r)
	}()
	return l.Addr().(*net.TCPAddr), ch
}

// captureH2C serves h2c and returns the first request's shape.
func captureH2C(t *testing.T) (*net.TCPAddr, <-chan capturedRequest) {
	t.Helper()
	ch := make(chan capturedRequest, 4)
	addr := vmesstest.StartTCP(t, func(c net.Conn) {
		(&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case ch <- shape(r):
			default:
			}
			w.WriteHeader(http.StatusNotFound)
		})})
	})
	return loopbackAddr(t, addr), ch
}

// loopbackAddr is the *net.TCPAddr of a 127.0.0.1 host:port that
// vmesstest.StartTCP or StartBlackhole returned.
func loopbackAddr(t *testing.T, addr string) *net.TCPAddr {
	t.Helper()
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: vmesstest.Port(t, addr)}
}

// TestRequestsMatchXray sends the same stream settings through Xray's
// own VMess outbound and through Dial to capture servers and compares
// the requests they make.
func TestRequestsMatchXray(t *testing.T) {
	t.Parallel()
	id := vmesstest.NewUUID()
	tests := []struct {
		name    string
		stream  string // Xray outbound streamSettings
		cfg     transport.Config
		capture func(*testing.T) (*net.TCPAddr, <-chan capturedRequest)
	}{
		{"ws", `{"network":"ws","wsSettings":{"path":"/p/ws","host":"cdn.example","headers":{"X-Custom":"v"}}}`,
			transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/p/ws", Host: "cdn.example", Headers: map[string]string{"X-Custom": "v"}}},
			captureHTTP1},
		{"ws-early-data", `{"network":"ws","wsSettings":{"path":"/ws?ed=2560&x=1"}}`,
			transport.Config{Network: "ws", WS: transport.WSConfig{Path: "/ws?ed=2560&x=1"}},
			captureHTTP1},
		{"ws-header-host", `{"network":"ws","wsSettings":{"path":"ws","headers":{"Host":"h.example"}}}`,
			transport.Config{Network: "ws", WS: transport.WSConfig{Path: "ws", Headers: map[string]string{"Host": "h.example"}}},
			captureHTTP1},
		{"httpupgrade", `{"network":"httpupgrade","httpupgradeSettings":{"path":"/up","host":"cdn.example","headers":{"X-Custom":"v"}}}`,
			transport.Config{Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/up", Host: "cdn.example", Headers: map[string]string{"X-Custom": "v"}}},
			captureHTTP1},
		{"raw-http-header", `{"network":"raw","rawSettings":{"header":{"type":"http","request":{"method":"POST","path":["/x"],"headers":{"Host":["a.example"],"X-A":["1"]}}}}}`,
			transport.Config{Raw: transport.RawConfig{HeaderType: "http", Request: transport.HTTPRequest{Method: "POST", Path: []string{"/x"},
				Headers: map[string][]string{"Host": {"a.example"}, "X-A": {"1"}}}}},
			captureHTTP1},
		{"grpc", `{"network":"grpc","grpcSettings":{"serviceName":"my svc"}}`,
			transport.Config{Network: "grpc", GRPC: transport.GRPCConfig{ServiceName: "my svc"}},
			captureH2C},
		{"grpc-multi-custom", `{"network":"grpc","grpcSettings":{"serviceName":"/a b/c/t1|t2","multiMode":true,"authority":"auth.example","user_agent":"firefox"}}`,
			transport.Config{Network: "grpc", GRPC: transport.GRPCConfig{ServiceName: "/a b/c/t1|t2", MultiMode: true, Authority: "auth.example", UserAgent: "firefox"}},
			captureH2C},
	}
	echo := vmesstest.StartEcho(t)
	compared := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.stream, "?ed=") && !vmesstest.XrayRaceFree {
				t.Log("not compared under -race: Xray-core's own ws early-data client (websocket delayDialConn) reads and writes its Conn field from two goroutines unsynchronised, so the race detector would fail this test on Xray's code, not ours; the default run (without -race) compares it")
				return
			}
			// Xray's client.
			xaddr, xch := tt.capture(t)
			xc := vmesstest.StartClient(t, vmesstest.ClientOptions{
				Server:         &vmesstest.Server{Host: "127.0.0.1", Port: xaddr.Port, ID: id},
				Security:       "aes-128-gcm",
				StreamSettings: tt.stream,
				Forward:        echo.Addr,
			})
			in, err := net.Dial("tcp", xc.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			in.Write([]byte("hello"))
			var want capturedRequest
			select {
			case want = <-xch:
			case <-time.After(10 * time.Second):
				t.Fatal("xray client sent no request")
			}

			// Ours.
			oaddr, och := tt.capture(t)
			cfg := tt.cfg
			cfg.Address, cfg.Port = "127.0.0.1", uint16(oaddr.Port)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := transport.Dial(ctx, &cfg, nil)
			if err == nil {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				// Xray's VMess request is larger than "hello"; what
				// matters is that both first payloads fit the early data.
				conn.Write(make([]byte, 100))
			}
			var got capturedRequest
			select {
			case got = <-och:
			case <-time.After(10 * time.Second):
				t.Fatalf("Dial sent no request (Dial error: %v)", err)
			}
			if want.EarlyDataLen > 0 && got.EarlyDataLen > 0 {
				want.EarlyDataLen, got.EarlyDataLen = 1, 1 // both carried early data
			}
			t.Logf("xray: %+v", want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request differs from Xray's (-xray +ours):\n%s", diff)
			}
			compared[tt.name] = true
		})
	}
	if vmesstest.XrayRaceFree && !compared["ws-early-data"] && !t.Failed() {
		t.Error("the ws early-data request was not compared in a run without -race")
	}
}

// TestRaceConstantMatchesBuild: vmesstest.XrayRaceFree (which leaves the ws
// early-data comparison out) is false only in a -race build, so the
// default `go test` run compares it.
func TestRaceConstantMatchesBuild(t *testing.T) {
	t.Parallel()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info in the test binary")
	}
	race := false
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			race = s.Value == "true"
		}
	}
	if vmesstest.XrayRaceFree == race {
		t.Errorf("vmesstest.XrayRaceFree = %v in a build with -race=%v; race_on_test.go/race_off_test.go build tags are wrong", vmesstest.XrayRaceFree, race)
	}
	t.Logf("-race=%v: ws early-data capture comparison included: %v", race, vmesstest.XrayRaceFree)
}
