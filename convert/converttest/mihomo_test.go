package converttest

import (
	"strings"
	"testing"
)

func TestMihomoVMessProblems(t *testing.T) {
	good := "proxies:\n  - {name: a, type: vmess, server: h, port: 443, uuid: u, alterId: 0, cipher: auto, network: ws, ws-opts: {path: /}}\n"
	if ps, problems, err := MihomoVMessProblems([]byte(good)); err != nil || len(ps) != 1 || len(problems) != 0 {
		t.Fatalf("good document: %d proxies, %v, %v", len(ps), problems, err)
	}
	for _, c := range []struct{ doc, want string }{
		{"proxies:\n  - {name: a, type: vmess, server: h, port: 443, uuid: u, cipher: auto}\n", `required key "alterId" missing`},
		{"proxies:\n  - {name: a, type: vmess, server: h, port: 443, uuid: u, alterId: 0, cipher: auto, sni: x}\n", `key "sni" is not a documented field`},
		{"proxies:\n  - {name: a, type: vmess, server: h, port: 443, uuid: u, alterId: 0, cipher: auto, ws-opts: {host: x}}\n", `ws-opts: key "host"`},
		{"proxies:\n  - {name: a, type: vmess, server: h, port: '443', uuid: u, alterId: 0, cipher: auto}\n", "not an integer"},
		{"proxies:\n  - {name: a, type: vmess, server: h, port: 443, uuid: u, alterId: 0, cipher: auto, network: xhttp}\n", `network "xhttp"`},
		{"proxies:\n  - {name: a, type: vmess, server: h, port: 443, uuid: u, alterId: 0, cipher: auto}\n  - {name: a, type: vmess, server: h, port: 443, uuid: u, alterId: 0, cipher: auto}\n", "duplicate name"},
	} {
		_, problems, err := MihomoVMessProblems([]byte(c.doc))
		if err != nil || !strings.Contains(strings.Join(problems, "\n"), c.want) {
			t.Errorf("%q: %v %v, want %q", c.doc, problems, err, c.want)
		}
	}
	if _, _, err := MihomoVMessProblems([]byte("port: 7890\n")); err == nil {
		t.Error("a document without proxies passed")
	}
}
