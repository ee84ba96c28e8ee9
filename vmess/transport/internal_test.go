package transport

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The vectors of these three tests are Xray-core v1.260327.0's own
// (transport/internet/grpc/config_test.go); the functions they test are
// unexported there, so they are copied rather than called.
func TestGRPCServiceName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		{"hello/world!", "hello%2Fworld%21"},
		{"/my/sample/path/a|b", "my/sample/path"},
		{"/hello /world!/a|b", "hello%20/world%21"},
		{"/foo", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := grpcServiceName(tt.in); got != tt.want {
				t.Errorf("grpcServiceName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestGRPCTunName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"hello", "Tun"},
		{"/my/sample/path/tun_service|multi_service", "tun_service"},
		{"/my/sample/path/tun_service", "tun_service"},
		{"/m y/sa !mple/pa\\th/tun\\_serv!ice", "tun%5C_serv%21ice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := grpcTunName(tt.in); got != tt.want {
				t.Errorf("grpcTunName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestGRPCTunMultiName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"hello", "TunMulti"},
		{"/my/sample/path/tun_service|multi_service", "multi_service"},
		{"/my/sample/path/multi_service", "multi_service"},
		{"/m y/sa !mple/pa\\th/mu%lti\\_serv!ice", "mu%25lti%5C_serv%21ice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := grpcTunMultiName(tt.in); got != tt.want {
				t.Errorf("grpcTunMultiName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSplitEarlyData follows infra/conf WebSocketConfig.Build.
func TestSplitEarlyData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		path string
		ed   int
	}{
		{"/ws", "/ws", 0},
		{"/ws?ed=2048", "/ws", 2048},
		{"/ws?ed=2048&a=b", "/ws?a=b", 2048},
		{"/ws?ed=abc", "/ws", 0},
		{"ws?x=1", "ws?x=1", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, ed := splitEarlyData(tt.in)
			if p != tt.path || ed != tt.ed {
				t.Errorf("splitEarlyData(%q) = %q, %d; want %q, %d", tt.in, p, ed, tt.path, tt.ed)
			}
		})
	}
}

func TestParseHunks(t *testing.T) {
	t.Parallel()
	hunk := func(b ...[]byte) []byte {
		var out []byte
		for _, x := range b {
			out = append(out, appendHunk(nil, x)[5:]...) // one field each
		}
		return out
	}
	tests := []struct {
		name  string
		msg   []byte
		multi bool
		want  [][]byte
		err   bool
	}{
		{"one", hunk([]byte("abc")), false, [][]byte{[]byte("abc")}, false},
		{"empty-message", nil, false, nil, false},
		{"hunk-last-wins", hunk([]byte("a"), []byte("b")), false, [][]byte{[]byte("b")}, false},
		{"multi", hunk([]byte("a"), []byte("bc")), true, [][]byte{[]byte("a"), []byte("bc")}, false},
		{"unknown-fields-skipped", append([]byte{0x10, 0x05, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3, 4, 0x12, 1, 'x'}, hunk([]byte("z"))...), false, [][]byte{[]byte("z")}, false},
		{"truncated-length", []byte{0x0a, 5, 'a'}, false, nil, true},
		{"bad-wire-type", []byte{0x0b}, false, nil, true},
		{"field-zero", []byte{0x02, 0}, false, nil, true},
		{"truncated-varint", []byte{0x0a, 0x80}, false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHunks(tt.msg, tt.multi, nil)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err != nil && !errors.Is(err, ErrGRPCFraming) {
				t.Errorf("error %v is not ErrGRPCFraming", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestReadGRPCMessage(t *testing.T) {
	t.Parallel()
	msg := appendHunk(nil, []byte("payload"))
	got, err := readGRPCMessage(bytes.NewReader(msg), nil)
	if err != nil || !bytes.Equal(got, msg[5:]) {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := readGRPCMessage(bytes.NewReader(nil), nil); err != io.EOF {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
	// Every truncated prefix (except the empty one) is a framing error.
	for i := 1; i < len(msg); i++ {
		if _, err := readGRPCMessage(bytes.NewReader(msg[:i]), nil); !errors.Is(err, ErrGRPCFraming) {
			t.Errorf("prefix %d: %v, want ErrGRPCFraming", i, err)
		}
	}
	big := []byte{0, 0xff, 0xff, 0xff, 0xff}
	if _, err := readGRPCMessage(bytes.NewReader(big), nil); !errors.Is(err, ErrGRPCFraming) {
		t.Errorf("oversized: %v", err)
	}
	compressed := append([]byte{1}, msg[1:]...)
	if _, err := readGRPCMessage(bytes.NewReader(compressed), nil); !errors.Is(err, ErrGRPCFraming) {
		t.Errorf("compressed: %v", err)
	}
}

func upgradeReq() *http.Request {
	return &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: "h", Path: "/"}, Header: http.Header{}}
}

func TestReadUpgradeResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		rest string
		err  bool
	}{
		{"xray", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "", false},
		{"with-data", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: WebSocket\r\n\r\nDATA", "DATA", false},
		{"not-found", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "", true},
		{"no-upgrade-header", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", "", true},
		{"custom-reason", "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "", true},
		{"eof", "", "", true},
		{"garbage", "\x16\x03\x01\x00", "", true},
		{"huge", "HTTP/1.1 101 Switching Protocols\r\nX: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest, err := readUpgradeResponse(strings.NewReader(tt.in), upgradeReq())
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if string(rest) != tt.rest {
				t.Errorf("rest %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestReadHTTPHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, rest string
		err            bool
	}{
		{"xray-default", "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nDate: x\r\n\r\nBODY", "BODY", false},
		{"no-body", "HTTP/1.1 200 OK\r\n\r\n", "", false},
		{"eof", "HTTP/1.1 200 OK\r\n", "", true},
		{"too-long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 10000), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := strings.NewReader(tt.in)
			rest, err := new(headerReader).read(iotestOneByte(r))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err == nil {
				after, _ := io.ReadAll(r) // what the reader has not consumed yet
				rest = append(rest, after...)
			}
			if string(rest) != tt.rest {
				t.Errorf("rest %q, want %q", rest, tt.rest)
			}
		})
	}
}

// TestHTTPRequestHeaderLayout checks the disguise request against the
// layout Xray's Authenticator.GetClientWriter produces.
func TestHTTPRequestHeaderLayout(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	got := string(httpRequestHeader(&HTTPRequest{Version: "1.0", Method: "PUT", Path: []string{"/only"},
		Headers: map[string][]string{"b": {"2"}, "A": {"1"}}}, now))
	want := "PUT /only HTTP/1.0\r\nA: 1\r\nb: 2\r\n\r\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	def := string(httpRequestHeader(&HTTPRequest{}, now))
	if !strings.HasPrefix(def, "GET / HTTP/1.1\r\nHost: www.") || !strings.HasSuffix(def, "\r\n\r\n") {
		t.Errorf("default request %q", def)
	}
	if _, err := http.ReadRequest(bufio.NewReader(strings.NewReader(def))); err != nil {
		t.Errorf("default request does not parse: %v", err)
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	return o.r.Read(b[:1])
}

func iotestOneByte(r io.Reader) io.Reader { return oneByteReader{r} }
