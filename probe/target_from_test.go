package probe

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/schema/conf"
	"github.com/xvmtools/xvm/vmess/transport"
)

func TestTargetFromOutbound(t *testing.T) {
	const id = "b831381d-6324-4d53-ad4f-8cda48b30811"
	tests := []struct {
		name    string
		json    string
		want    Target
		wantErr string
	}{
		{"vnext raw", `{"protocol":"vmess","tag":"a","settings":{"vnext":[{"address":"h","port":1,"users":[{"id":"` + id + `","alterId":2,"security":"zero","experiments":"AuthenticatedLength"}]}]}}`,
			Target{Name: "a", ID: id, AlterID: 2, Security: "zero", Experiments: "AuthenticatedLength", Stream: transport.Config{Address: "h", Port: 1}}, ""},
		{"flat form", `{"protocol":"vmess","settings":{"address":"h","port":2,"id":"` + id + `","security":"none"}}`,
			Target{ID: id, Security: "none", Stream: transport.Config{Address: "h", Port: 2}}, ""},
		{"tcpSettings http header", `{"protocol":"vmess","settings":{"address":"h","port":3,"id":"x"},"streamSettings":{"network":"tcp","tcpSettings":{"header":{"type":"http","request":{"path":["/a","/b"],"headers":{"Host":["x.com","y.com"]}}}}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 3, Network: "tcp", Raw: transport.RawConfig{HeaderType: "http",
				Request: transport.HTTPRequest{Path: []string{"/a", "/b"}, Headers: map[string][]string{"Host": {"x.com", "y.com"}}}}}}, ""},
		{"grpc tls pins", `{"protocol":"vmess","settings":{"address":"h","port":4,"id":"x"},"streamSettings":{"network":"grpc","security":"tls","grpcSettings":{"serviceName":"gun","multiMode":true,"authority":"a.com","user_agent":"firefox"},"tlsSettings":{"serverName":"s","alpn":"h2,http/1.1","fingerprint":"safari","pinnedPeerCertSha256":"aa:bb, cc","verifyPeerCertByName":"n1,n2","allowInsecure":true}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 4, Network: "grpc", Security: "tls",
				GRPC: transport.GRPCConfig{ServiceName: "gun", MultiMode: true, Authority: "a.com", UserAgent: "firefox"},
				TLS: transport.TLSConfig{ServerName: "s", ALPN: []string{"h2", "http/1.1"}, Fingerprint: "safari", PinnedPeerCertSHA256: []string{"aa:bb", "cc"},
					VerifyPeerCertByName: []string{"n1", "n2"}, AllowInsecure: true}}}, ""},
		{"httpupgrade", `{"protocol":"vmess","settings":{"address":"h","port":5,"id":"x"},"streamSettings":{"network":"httpupgrade","httpupgradeSettings":{"path":"/u?ed=1","host":"c.com","headers":{"X":"1"}}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 5, Network: "httpupgrade", HTTPUpgrade: transport.HTTPUpgradeConfig{Path: "/u?ed=1", Host: "c.com", Headers: map[string]string{"X": "1"}}}}, ""},
		{"unsupported kept", `{"protocol":"vmess","settings":{"address":"h","port":6,"id":"x"},"streamSettings":{"network":"xhttp","security":"reality"}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 6, Network: "xhttp", Security: "reality"}}, ""},
		{"xhttp with extra", `{"protocol":"vmess","settings":{"address":"h","port":8,"id":"x"},"streamSettings":{"network":"splithttp","splithttpSettings":{"host":"c.com","path":"/x","mode":"stream-one","headers":{"A":"1"},"extra":{"noGRPCHeader":true}}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 8, Network: "splithttp",
				XHTTP: transport.XHTTPConfig{Host: "c.com", Path: "/x", Mode: "stream-one", Headers: map[string]string{"A": "1"}, Extra: []byte(`{"noGRPCHeader":true}`)}}}, ""},
		{"kcp with finalmask", `{"protocol":"vmess","settings":{"address":"h","port":9,"id":"x"},"streamSettings":{"network":"mkcp","kcpSettings":{"mtu":1400,"tti":20,"uplinkCapacity":8,"downlinkCapacity":40,"congestion":true},"finalmask":{"udp":[{"type":"mkcp-original"}]}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 9, Network: "mkcp",
				KCP:       transport.KCPConfig{MTU: 1400, TTI: 20, UplinkCapacity: 8, DownlinkCapacity: 40, Congestion: true},
				FinalMask: []byte(`{"udp":[{"type":"mkcp-original"}]}`)}}, ""},
		{"kcp legacy header and seed", `{"protocol":"vmess","settings":{"address":"h","port":10,"id":"x"},"streamSettings":{"network":"kcp","kcpSettings":{"header":{"type":"dns","domain":"q.example"},"seed":"s"}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 10, Network: "kcp",
				KCP: transport.KCPConfig{HeaderType: "dns", HeaderDomain: "q.example", Seed: "s"}}}, ""},
		{"h2", `{"protocol":"vmess","settings":{"address":"h","port":11,"id":"x"},"streamSettings":{"network":"http","security":"tls","httpSettings":{"host":["a.com","b.com"],"path":"/h"}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 11, Network: "http", Security: "tls",
				HTTP: transport.HTTPConfig{Host: []string{"a.com", "b.com"}, Path: "/h"}}}, ""},
		{"ech and dialerProxy carried", `{"protocol":"vmess","settings":{"address":"h","port":7,"id":"x"},"streamSettings":{"security":"tls","tlsSettings":{"echConfigList":"AEX+DQ"},"sockopt":{"dialerProxy":"chain"}}}`,
			Target{ID: "x", Stream: transport.Config{Address: "h", Port: 7, Security: "tls", TLS: transport.TLSConfig{ECHConfigList: "AEX+DQ"}, Sockopt: transport.SockoptConfig{DialerProxy: "chain"}}}, ""},
		{"not vmess", `{"protocol":"vless","tag":"v"}`, Target{}, "not VMess"},
		{"two users", `{"protocol":"vmess","tag":"t","settings":{"vnext":[{"address":"h","port":1,"users":[{"id":"a"},{"id":"b"}]}]}}`, Target{}, "exactly one server with one user"},
		{"bad port", `{"protocol":"vmess","settings":{"address":"h","port":70000,"id":"x"}}`, Target{}, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o conf.Outbound
			if err := json.Unmarshal([]byte(tt.json), &o); err != nil {
				t.Fatal(err)
			}
			got, err := TargetFromOutbound(&o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(transport.Config{}, "NetDialer", "Resolver"), cmpopts.IgnoreUnexported(transport.TLSConfig{})); d != "" {
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

func TestTargetFromNode(t *testing.T) {
	const id = "b831381d-6324-4d53-ad4f-8cda48b30811"
	tests := []struct {
		name string
		node *convert.Node
		want Target
	}{
		{"nil", nil, Target{}},
		{"raw, alterId kept for the legacy header",
			&convert.Node{Name: "a", Server: "h", Port: 1, UUID: id, AlterID: 4, Cipher: "zero"},
			Target{Name: "a", ID: id, AlterID: 4, Security: "zero", Stream: transport.Config{Address: "h", Port: 1, Network: "raw"}}},
		{"ws tls, allowInsecure kept",
			&convert.Node{Name: "w", Server: "h", Port: 443, UUID: id, Network: "ws", Path: "/p", Host: "c.com", Security: "tls", SNI: "s.com", Insecure: true},
			Target{Name: "w", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "ws", Security: "tls",
				WS: transport.WSConfig{Path: "/p", Host: "c.com"}, TLS: transport.TLSConfig{ServerName: "s.com", AllowInsecure: true}}}},
		{"allowInsecure without tls is not carried",
			&convert.Node{Name: "i", Server: "h", Port: 80, UUID: id, Insecure: true},
			Target{Name: "i", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 80, Network: "raw"}}},
		{"node Xray cannot express kept as it is",
			&convert.Node{Name: "k", Server: "h", Port: 2, UUID: id, Network: "xhttp", XHTTPMode: "bogus", Cipher: "none"},
			Target{Name: "k", ID: id, Security: "none", Stream: transport.Config{Address: "h", Port: 2, Network: "xhttp", XHTTP: transport.XHTTPConfig{Mode: "bogus"}}}},
		{"xhttp with extra",
			&convert.Node{Name: "x", Server: "h", Port: 443, UUID: id, Network: "splithttp", Host: "c.com", Path: "/x?q=1", XHTTPMode: "stream-up",
				Headers: map[string]string{"A": "1"}, XHTTPExtra: []byte(`{"xPaddingBytes":"10-20"}`), Security: "tls"},
			Target{Name: "x", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "xhttp", Security: "tls",
				XHTTP: transport.XHTTPConfig{Host: "c.com", Path: "/x?q=1", Mode: "stream-up", Headers: map[string]string{"A": "1"}, Extra: []byte(`{"xPaddingBytes":"10-20"}`)},
				TLS:   transport.TLSConfig{ServerName: "c.com"}}}},
		{"h2 keeps its own name and settings, not xhttp",
			&convert.Node{Name: "h", Server: "h", Port: 443, UUID: id, Network: "h2", Host: "a.com,b.com", Path: "/p", Security: "tls"},
			Target{Name: "h", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "h2", Security: "tls",
				HTTP: transport.HTTPConfig{Host: []string{"a.com", "b.com"}, Path: "/p"},
				TLS:  transport.TLSConfig{ServerName: "a.com"}}}},
		{"kcp link without header or seed is the legacy mkcp-original",
			&convert.Node{Name: "m", Server: "h", Port: 9, UUID: id, Network: "mkcp", MTU: 1400},
			Target{Name: "m", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 9, Network: "kcp",
				KCP: transport.KCPConfig{MTU: 1400, HeaderType: "none"}}}},
		{"kcp header and seed",
			&convert.Node{Name: "m", Server: "h", Port: 9, UUID: id, Network: "kcp", HeaderType: "dns", Host: "q.example", Seed: "s"},
			Target{Name: "m", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 9, Network: "kcp",
				KCP: transport.KCPConfig{HeaderType: "dns", HeaderDomain: "q.example", Seed: "s"}}}},
		{"kcp finalmask kept",
			&convert.Node{Name: "m", Server: "h", Port: 9, UUID: id, Network: "kcp", FinalMask: []byte(`{"udp":[{"type":"header-utp"}]}`)},
			Target{Name: "m", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 9, Network: "kcp",
				FinalMask: []byte(`{"udp":[{"type":"header-utp"}]}`)}}},
		{"ws early data given outside the path",
			&convert.Node{Name: "e", Server: "h", Port: 80, UUID: id, Network: "ws", Path: "/w", EarlyData: 2048, EarlyDataHeader: "Sec-WebSocket-Protocol"},
			Target{Name: "e", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 80, Network: "ws", WS: transport.WSConfig{Path: "/w?ed=2048"}}}},
		{"grpc multi, sni from the authority, fingerprint and pins",
			&convert.Node{Name: "g", Server: "h", Port: 443, UUID: id, Network: "grpc", ServiceName: "gun", GRPCMode: "multi", Authority: "a.com",
				Security: "tls", Fingerprint: "Firefox", PCS: "aa, bb", ALPN: []string{"h2"}},
			Target{Name: "g", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "grpc", Security: "tls",
				GRPC: transport.GRPCConfig{ServiceName: "gun", MultiMode: true, Authority: "a.com"},
				TLS:  transport.TLSConfig{ServerName: "a.com", Fingerprint: "firefox", PinnedPeerCertSHA256: []string{"aa", "bb"}, ALPN: []string{"h2"}}}}},
		{"raw http disguise",
			&convert.Node{Name: "d", Server: "h", Port: 80, UUID: id, HeaderType: "http", Host: "x.com", Path: "/a,/b"},
			Target{Name: "d", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 80, Network: "raw",
				Raw: transport.RawConfig{HeaderType: "http", Request: transport.HTTPRequest{Path: []string{"/a", "/b"}, Headers: map[string][]string{"Host": {"x.com"}}}}}}},
		{"port out of range is no port, not a clamped one",
			&convert.Node{Name: "p", Server: "h", Port: 70000, UUID: id, AlterID: 1},
			Target{Name: "p", ID: id, AlterID: 1, Security: "auto", Stream: transport.Config{Address: "h", Network: "raw"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TargetFromNode(tt.node)
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(transport.Config{}, "NetDialer", "Resolver"), cmpopts.IgnoreUnexported(transport.TLSConfig{})); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
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
