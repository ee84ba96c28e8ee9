package probe

import (
	"encoding/json"
	"strings"
	"testing"

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
		{"node Xray cannot express kept by name",
			&convert.Node{Name: "k", Server: "h", Port: 2, UUID: id, Network: "xhttp", XHTTPMode: "bogus", Cipher: "none"},
			Target{Name: "k", ID: id, Security: "none", Stream: transport.Config{Address: "h", Port: 2, Network: "xhttp"}}},
		{"h2 keeps its own name, not xhttp",
			&convert.Node{Name: "h", Server: "h", Port: 443, UUID: id, Network: "h2", Host: "a.com,b.com", Path: "/p", Security: "tls"},
			Target{Name: "h", ID: id, Security: "auto", Stream: transport.Config{Address: "h", Port: 443, Network: "h2", Security: "tls",
				TLS: transport.TLSConfig{ServerName: "a.com"}}}},
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
