package probe

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/vmess/transport"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestTargetFromXrayOutbound: an Xray outbound reaches probe as the CLI
// reads it — convert's Xray reader makes a node, TargetFromNode the
// target — with every setting probing uses. alterId reads as 0, as
// current Xray reads it (it ignores the field; convert warns).
func TestTargetFromXrayOutbound(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	const (
		id   = "b831381d-6324-4d53-ad4f-8cda48b30811"
		pinA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		pinB = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	)
	tests := []struct {
		name string
		json string
		want Target
	}{
		{"vnext raw", `{"protocol":"vmess","tag":"a","settings":{"vnext":[{"address":"h","port":1,"users":[{"id":"` + id + `","alterId":2,"security":"zero","experiments":"AuthenticatedLength"}]}]}}`,
			Target{Name: "a", ID: id, Security: "zero", Experiments: "AuthenticatedLength", Stream: transport.Config{Address: "h", Port: 1, Network: "raw"}}},
		{"flat form", `{"protocol":"vmess","settings":{"address":"h","port":2,"id":"` + id + `","security":"none"}}`,
			Target{Name: "h:2", ID: id, Security: "none", Stream: transport.Config{Address: "h", Port: 2, Network: "raw"}}},
		{"tcpSettings http header", `{"protocol":"vmess","settings":{"address":"h","port":3,"id":"` + id + `"},"streamSettings":{"network":"tcp","tcpSettings":{"header":{"type":"http","request":{"path":["/a","/b"],"headers":{"Host":["x.com","y.com"]}}}}}}`,
			Target{Name: "h:3", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 3, Network: "raw", Raw: transport.RawConfig{HeaderType: "http",
				Request: transport.HTTPRequest{Path: []string{"/a", "/b"}, Headers: map[string][]string{"Host": {"x.com", "y.com"}}}}}}},
		{"grpc tls pins", `{"protocol":"vmess","settings":{"address":"h","port":4,"id":"` + id + `"},"streamSettings":{"network":"grpc","security":"tls","grpcSettings":{"serviceName":"gun","multiMode":true,"authority":"a.com"},"tlsSettings":{"serverName":"s","alpn":"h2,http/1.1","fingerprint":"safari","pinnedPeerCertSha256":"` + pinA + `, ` + pinB + `","verifyPeerCertByName":"n1,n2"}}}`,
			Target{Name: "h:4", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 4, Network: "grpc", Security: "tls",
				GRPC: transport.GRPCConfig{ServiceName: "gun", MultiMode: true, Authority: "a.com"},
				TLS: transport.TLSConfig{ServerName: "s", ALPN: []string{"h2", "http/1.1"}, Fingerprint: "safari", PinnedPeerCertSHA256: []string{pinA, pinB},
					VerifyPeerCertByName: []string{"n1", "n2"}}}}},
		{"httpupgrade", `{"protocol":"vmess","settings":{"address":"h","port":5,"id":"` + id + `"},"streamSettings":{"network":"httpupgrade","httpupgradeSettings":{"path":"/u?ed=1","host":"c.com","headers":{"X":"1"}}}}`,
			Target{Name: "h:5", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 5, Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/u?ed=1", Host: "c.com", Headers: map[string]string{"X": "1"}},
				TLS: transport.TLSConfig{}}}},
		{"xhttp with extra", `{"protocol":"vmess","settings":{"address":"h","port":8,"id":"` + id + `"},"streamSettings":{"network":"splithttp","splithttpSettings":{"host":"c.com","path":"/x","mode":"stream-one","headers":{"A":"1"},"extra":{"noGRPCHeader":true}}}}`,
			Target{Name: "h:8", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 8, Network: "xhttp",
				XHTTP: transport.XHTTPConfig{Host: "c.com", Path: "/x", Mode: "stream-one", Headers: map[string]string{"A": "1"}, Extra: []byte(`{"noGRPCHeader":true}`)}}}},
		// Plain mkcp-original is mKCP as a link without a header means
		// it; convert keeps no mask for it.
		{"kcp with mkcp-original", `{"protocol":"vmess","settings":{"address":"h","port":9,"id":"` + id + `"},"streamSettings":{"network":"mkcp","kcpSettings":{"mtu":1400,"tti":20},"finalmask":{"udp":[{"type":"mkcp-original"}]}}}`,
			Target{Name: "h:9", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 9, Network: "kcp",
				KCP: transport.KCPConfig{MTU: 1400, TTI: 20, HeaderType: "none"}}}},
		{"kcp with a dns header and a seed", `{"protocol":"vmess","settings":{"address":"h","port":10,"id":"` + id + `"},"streamSettings":{"network":"kcp","finalmask":{"udp":[{"type":"header-dns","settings":{"domain":"q.example"}},{"type":"mkcp-aes128gcm","settings":{"password":"s"}}]}}}`,
			Target{Name: "h:10", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 10, Network: "kcp",
				KCP: transport.KCPConfig{HeaderType: "dns", HeaderDomain: "q.example", Seed: "s"}}}},
		{"h2", `{"protocol":"vmess","settings":{"address":"h","port":11,"id":"` + id + `"},"streamSettings":{"network":"http","security":"tls","httpSettings":{"host":["a.com","b.com"],"path":"/h"}}}`,
			Target{Name: "h:11", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 11, Network: "h2", Security: "tls",
				HTTP: transport.HTTPConfig{Host: []string{"a.com", "b.com"}, Path: "/h"}, TLS: transport.TLSConfig{ServerName: "h"}}}},
		// Members beside host, path and mode are what Xray reads as
		// extra when there is none (SplitHTTPConfig.Build).
		{"xhttp settings without extra", `{"protocol":"vmess","settings":{"address":"h","port":12,"id":"` + id + `"},"streamSettings":{"network":"xhttp","xhttpSettings":{"path":"/x","mode":"packet-up","headers":{"A":"1"},"xPaddingBytes":"2000-3000","scMaxEachPostBytes":50000,"noGRPCHeader":true,"xmux":{"hMaxRequestTimes":10}}}}`,
			Target{Name: "h:12", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 12, Network: "xhttp",
				XHTTP: transport.XHTTPConfig{Path: "/x", Mode: "packet-up", Headers: map[string]string{"A": "1"},
					Extra: []byte(`{"headers":{"A":"1"},"noGRPCHeader":true,"scMaxEachPostBytes":50000,"xPaddingBytes":"2000-3000","xmux":{"hMaxRequestTimes":10}}`)}}}},
		{"kcp tuning", `{"protocol":"vmess","settings":{"address":"h","port":13,"id":"` + id + `"},"streamSettings":{"network":"kcp","kcpSettings":{"uplinkCapacity":0,"downlinkCapacity":100,"congestion":true,"writeBufferSize":4}}}`,
			Target{Name: "h:13", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 13, Network: "kcp",
				KCP: transport.KCPConfig{HeaderType: "none", UplinkCapacity: u32(0), DownlinkCapacity: u32(100), Congestion: true, WriteBufferSize: u32(4)}}}},
		{"h2 method and headers", `{"protocol":"vmess","settings":{"address":"h","port":14,"id":"` + id + `"},"streamSettings":{"network":"h2","httpSettings":{"host":["a.com"],"path":"/h","method":"POST","headers":{"X":["1","2"]}}}}`,
			Target{Name: "h:14", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 14, Network: "h2",
				HTTP: transport.HTTPConfig{Host: []string{"a.com"}, Path: "/h", Method: "POST", Headers: map[string][]string{"X": {"2"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := targetFromXray(t, `{"outbounds":[`+tt.json+`]}`)
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(transport.Config{}, "NetDialer", "Resolver"), cmpopts.IgnoreUnexported(transport.TLSConfig{}, Target{})); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestTargetValidate(t *testing.T) {
	tests := []struct {
		name string
		t    Target
		want string
	}{
		{"ok", Target{ID: "b831381d-6324-4d53-ad4f-8cda48b30811", Stream: transport.Config{Address: "h", Port: 1}}, ""},
		{"name id", Target{ID: "alice", Stream: transport.Config{Address: "h", Port: 1}}, ""},
		{"no id", Target{Name: "n", Stream: transport.Config{Address: "h", Port: 1}}, "has no user id"},
		{"bad id", Target{ID: strings.Repeat("z", 31), Stream: transport.Config{Address: "h", Port: 1}}, "vmess"},
		{"bad security", Target{ID: "alice", Security: "rc4", Stream: transport.Config{Address: "h", Port: 1}}, "rc4"},
		{"no address", Target{ID: "alice", Stream: transport.Config{Port: 1}}, "no server address"},
		{"no port", Target{ID: "alice", Stream: transport.Config{Address: "h"}}, "no server port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.t.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), tt.t.ID) && tt.t.ID != "" {
				t.Fatalf("error repeats the id: %v", err)
			}
		})
	}
}

// TestTargetFromNode: the one mapping the CLI and serve use, per
// transport (every network probe knows is in the table) and per setting;
// warnings says what the mapping itself could not carry.
func TestTargetFromNode(t *testing.T) {
	const id = "b831381d-6324-4d53-ad4f-8cda48b30811"
	tests := []struct {
		name     string
		node     *convert.Node
		want     Target
		warnings []string
	}{
		{"nil", nil, Target{}, nil},
		{"raw, alterId kept for the legacy header",
			&convert.Node{Name: "a", Server: "h", Port: 1, UUID: id, AlterID: 4, Cipher: "zero"},
			Target{Name: "a", ID: id, AlterID: 4, Security: "zero", Stream: transport.Config{Address: "h", Port: 1, Network: "raw"}}, nil},
		{"ws tls, allowInsecure kept",
			&convert.Node{Name: "w", Server: "h", Port: 443, UUID: id, Network: "ws", Path: "/p", Host: "c.com", Security: "tls", SNI: "s.com", Insecure: true},
			Target{Name: "w", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "ws", Security: "tls",
				WS: transport.WSConfig{Path: "/p", Host: "c.com"}, TLS: transport.TLSConfig{ServerName: "s.com", AllowInsecure: true}}}, nil},
		{"allowInsecure without tls is not carried",
			&convert.Node{Name: "i", Server: "h", Port: 80, UUID: id, Insecure: true},
			Target{Name: "i", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 80, Network: "raw"}}, nil},
		{"node Xray cannot express kept as it is",
			&convert.Node{Name: "k", Server: "h", Port: 2, UUID: id, Network: "xhttp", Cipher: "none", Extra: &convert.NodeExtra{XHTTPMode: "bogus"}},
			Target{Name: "k", ID: id, Security: "none", Stream: transport.Config{Address: "h", Port: 2, Network: "xhttp", XHTTP: transport.XHTTPConfig{Mode: "bogus"}}}, nil},
		{"xhttp with extra",
			&convert.Node{Name: "x", Server: "h", Port: 443, UUID: id, Network: "splithttp", Host: "c.com", Path: "/x?q=1", Security: "tls", Extra: &convert.NodeExtra{XHTTPMode: "stream-up", Headers: map[string]string{"A": "1"}, XHTTPExtra: []byte(`{"xPaddingBytes":"10-20"}`)}},
			Target{Name: "x", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "xhttp", Security: "tls",
				XHTTP: transport.XHTTPConfig{Host: "c.com", Path: "/x?q=1", Mode: "stream-up", Headers: map[string]string{"A": "1"}, Extra: []byte(`{"xPaddingBytes":"10-20"}`)},
				TLS:   transport.TLSConfig{ServerName: "c.com"}}}, nil},
		{"h2 keeps its own name and settings, not xhttp",
			&convert.Node{Name: "h", Server: "h", Port: 443, UUID: id, Network: "h2", Host: "a.com,b.com", Path: "/p", Security: "tls"},
			Target{Name: "h", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "h2", Security: "tls",
				HTTP: transport.HTTPConfig{Host: []string{"a.com", "b.com"}, Path: "/p"},
				TLS:  transport.TLSConfig{ServerName: "a.com"}}}, nil},
		{"kcp link without header or seed is the legacy mkcp-original",
			&convert.Node{Name: "m", Server: "h", Port: 9, UUID: id, Network: "mkcp", Extra: &convert.NodeExtra{MTU: 1400}},
			Target{Name: "m", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 9, Network: "kcp",
				KCP: transport.KCPConfig{MTU: 1400, HeaderType: "none"}}}, nil},
		{"kcp header and seed",
			&convert.Node{Name: "m", Server: "h", Port: 9, UUID: id, Network: "kcp", HeaderType: "dns", Host: "q.example", Extra: &convert.NodeExtra{Seed: "s"}},
			Target{Name: "m", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 9, Network: "kcp",
				KCP: transport.KCPConfig{HeaderType: "dns", HeaderDomain: "q.example", Seed: "s"}}}, nil},
		{"kcp finalmask kept",
			&convert.Node{Name: "m", Server: "h", Port: 9, UUID: id, Network: "kcp", Extra: &convert.NodeExtra{FinalMask: []byte(`{"udp":[{"type":"header-utp"}]}`)}},
			Target{Name: "m", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 9, Network: "kcp",
				FinalMask: []byte(`{"udp":[{"type":"header-utp"}]}`)}}, nil},
		{"ws early data given outside the path",
			&convert.Node{Name: "e", Server: "h", Port: 80, UUID: id, Network: "ws", Path: "/w", Extra: &convert.NodeExtra{EarlyData: 2048, EarlyDataHeader: "Sec-WebSocket-Protocol"}},
			Target{Name: "e", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 80, Network: "ws", WS: transport.WSConfig{Path: "/w?ed=2048"}}}, nil},
		{"ws early data in another header: Xray sends it only in Sec-WebSocket-Protocol",
			&convert.Node{Name: "e", Server: "h", Port: 80, UUID: id, Network: "websocket", Path: "/w?x=1", Extra: &convert.NodeExtra{EarlyData: 2048, EarlyDataHeader: "X-Early"}},
			Target{Name: "e", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 80, Network: "ws", WS: transport.WSConfig{Path: "/w?x=1&ed=2048"}}},
			[]string{`Xray sends early data only in Sec-WebSocket-Protocol; "X-Early" not carried`}},
		{"httpupgrade, host, headers and early data in the path",
			&convert.Node{Name: "u", Server: "h", Port: 443, UUID: id, Network: "httpupgrade", Host: "c.com", Path: "", Security: "tls", Extra: &convert.NodeExtra{EarlyData: 64, Headers: map[string]string{"X": "1"}}},
			Target{Name: "u", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "httpupgrade", Security: "tls",
				HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/?ed=64", Host: "c.com", Headers: map[string]string{"X": "1"}},
				TLS:         transport.TLSConfig{ServerName: "c.com"}}}, nil},
		{"h2 headers, and sni from the first host",
			&convert.Node{Name: "h", Server: "h", Port: 443, UUID: id, Network: "http", Host: " b.com ", Security: "tls", Extra: &convert.NodeExtra{Headers: map[string]string{"A": "1"}}},
			Target{Name: "h", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "h2", Security: "tls",
				HTTP: transport.HTTPConfig{Host: []string{"b.com"}, Headers: map[string][]string{"A": {"1"}}},
				TLS:  transport.TLSConfig{ServerName: "b.com"}}}, nil},
		{"grpc multi, sni from the authority, fingerprint and pins",
			&convert.Node{Name: "g", Server: "h", Port: 443, UUID: id, Network: "grpc", ServiceName: "gun", Security: "tls", Fingerprint: "Firefox", ALPN: []string{"h2"}, Extra: &convert.NodeExtra{GRPCMode: "multi", Authority: "a.com", PCS: "aa, bb"}},
			Target{Name: "g", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "grpc", Security: "tls",
				GRPC: transport.GRPCConfig{ServiceName: "gun", MultiMode: true, Authority: "a.com"},
				TLS:  transport.TLSConfig{ServerName: "a.com", Fingerprint: "firefox", PinnedPeerCertSHA256: []string{"aa", "bb"}, ALPN: []string{"h2"}}}}, nil},
		{"raw http disguise",
			&convert.Node{Name: "d", Server: "h", Port: 80, UUID: id, HeaderType: "http", Host: "x.com", Path: "/a,/b"},
			Target{Name: "d", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 80, Network: "raw",
				Raw: transport.RawConfig{HeaderType: "http", Request: transport.HTTPRequest{Path: []string{"/a", "/b"}, Headers: map[string][]string{"Host": {"x.com"}}}}}}, nil},
		{"port out of range is no port, not a clamped one",
			&convert.Node{Name: "p", Server: "h", Port: 70000, UUID: id, AlterID: 1},
			Target{Name: "p", ID: id, AlterID: 1, Security: "auto", Stream: transport.Config{Address: "h", Network: "raw"}}, nil},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TargetFromNode(tt.node)
			covered[got.Stream.Network] = true
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(transport.Config{}, "NetDialer", "Resolver"), cmpopts.IgnoreUnexported(transport.TLSConfig{}, Target{})); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.warnings, got.warnings, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("mapping warnings (-want +got):\n%s", d)
			}
		})
	}
	for nw := range networks {
		if !covered[nw] {
			t.Errorf("network %s has no case", nw)
		}
	}
}

// TestEveryConvertNetworkDialsOrIsNamed: for every transport a convert
// node can carry, probe dials what the node says, or transport.Dial
// refuses it by that name before any I/O (issue: probe, convert and lint
// agree on names).
func TestEveryConvertNetworkDialsOrIsNamed(t *testing.T) {
	const id = "b831381d-6324-4d53-ad4f-8cda48b30811"
	refusing := closedPort(t)
	for _, nw := range []string{"tcp", "kcp", "ws", "h2", "quic", "grpc", "httpupgrade", "xhttp"} {
		t.Run(nw, func(t *testing.T) {
			tg := TargetFromNode(&convert.Node{Name: nw, Server: "127.0.0.1", Port: refusing, UUID: id, Network: nw})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := transport.Dial(ctx, &tg.Stream, nil)
			if conn != nil {
				conn.Close() // mKCP: no packet is sent to open it
			}
			var ue *transport.UnsupportedError
			switch {
			case errors.As(err, &ue):
				if !strings.Contains(err.Error(), `"`+nw+`"`) {
					t.Errorf("%s refused without its name: %v", nw, err)
				}
				if nw != "quic" {
					t.Errorf("%s is refused: %v", nw, err)
				}
			case nw == "quic":
				t.Errorf("quic was dialed: %v", err)
			case err != nil && !errors.As(err, new(*transport.Error)):
				t.Errorf("%s: untyped error %v", nw, err)
			}
		})
	}
}

// TestProbeH2Link: an h2 link is dialed as h2, and not as xhttp (which it
// used to be, through a conversion to Xray's outbound): here the port is
// closed, so the verdict is that of the connect.
func TestProbeH2Link(t *testing.T) {
	link := v2rayNLink(t, map[string]string{"ps": "h2", "add": "127.0.0.1", "port": strconv.Itoa(closedPort(t)), "id": vmesstest.NewUUID(), "net": "h2", "path": "/h", "host": "a.example", "tls": "tls"})
	res, err := convert.Parse(context.Background(), "link", []byte(link), convert.Options{})
	if err != nil || len(res.Nodes) != 1 {
		t.Fatalf("parse: %v, %d nodes", err, len(res.Nodes))
	}
	tg := TargetFromNode(res.Nodes[0])
	r := runOne(t, tg, farOptions("http://127.0.0.1:1"))
	if r.OK || r.Error.Kind != KindRefused || r.Network != "h2" || strings.Contains(r.Error.Message, "xhttp") || tg.Stream.HTTP.Path != "/h" {
		t.Fatalf("result %s, want the h2 link dialed (a refused connect)", jsonOf(r))
	}
}

// v2rayNLink makes a v2rayN share link (base64 JSON) of the given fields.
func v2rayNLink(t testing.TB, fields map[string]string) string {
	t.Helper()
	m := map[string]string{"v": "2", "aid": "0", "scy": "auto", "type": "none"}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return "vmess://" + base64.StdEncoding.EncodeToString(b)
}
