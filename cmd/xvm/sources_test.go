package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// subToken stands for a provider's secret token; no message may show it.
const subToken = "Zq8xL2mN4pR7sT9vW1yB"

// providerLinks is a subscription with a repeated server (the same server
// under three names, as panels list "traffic left" and "expires" entries)
// and one other.
var providerLinks = strings.Join([]string{
	"vmess://" + convertUUID + "@hk.example:443?type=ws&security=tls&path=%2Fws#HK%2001",
	"vmess://" + convertUUID + "@hk.example:443?type=ws&security=tls&path=%2Fws#Traffic%20left%3A%2037%20GB",
	"vmess://" + convertUUID + "@jp.example:443?type=grpc&security=tls&serviceName=g#JP%2001",
	"vmess://" + convertUUID + "@HK.example:443?type=ws&security=tls&path=%2Fws&sni=hk.example#Expires%202026-12-31",
}, "\n")

// provider is a loopback subscription server; it records the last
// request's User-Agent and X-Test header.
type provider struct {
	*httptest.Server
	mu      sync.Mutex
	lastReq string
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("/sub/"+subToken, func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.lastReq = r.UserAgent() + "|" + r.Header.Get("X-Test") + "|" + r.URL.Host
		p.mu.Unlock()
		w.Header().Set("Subscription-Userinfo", "upload=1073741824; download=12079595520; total=53687091200; expire=4102444800")
		w.Header().Set("Profile-Title", "base64:"+base64.StdEncoding.EncodeToString([]byte("Airport ✈")))
		fmt.Fprint(w, base64.StdEncoding.EncodeToString([]byte(providerLinks)))
	})
	mux.HandleFunc("/expired/"+subToken, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Subscription-Userinfo", "upload=0; download=53687091200; total=53687091200; expire=1767139200")
		fmt.Fprint(w, providerLinks)
	})
	mux.HandleFunc("/big/"+subToken, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat(providerLinks+"\n", 100))
	})
	mux.HandleFunc("/badinfo/"+subToken, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Subscription-Userinfo", "traffic=lots")
		fmt.Fprint(w, providerLinks)
	})
	mux.HandleFunc("/challenge/"+subToken, func(w http.ResponseWriter, r *http.Request) {
		// A bot check answered with 200, as Cloudflare's is to some clients.
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		fmt.Fprint(w, "<!DOCTYPE html>\n<html lang=\"en-US\"><head><title>Just a moment...</title>\n"+
			"<script src=\"https://challenges.example/orchestrate/jsch/v1\"></script></head>\n<body>Checking your browser</body></html>\n")
	})
	mux.HandleFunc("/php/"+subToken, func(w http.ResponseWriter, r *http.Request) {
		// A panel that serves its base64 list with PHP's default type.
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		fmt.Fprint(w, base64.StdEncoding.EncodeToString([]byte(providerLinks)))
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

func (p *provider) last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastReq
}

func TestConvertURL(t *testing.T) {
	prov := startProvider(t)
	sub := prov.URL + "/sub/" + subToken
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantCode  int
		wantOut   []string
		wantNoOut []string
		wantErr   []string
		wantNoErr []string
		lastReq   string
	}{
		{name: "fetched, usage noted with the title", args: []string{"convert", "--to", "uri", sub},
			wantOut: []string{"#HK%2001", "#JP%2001", "#Expires%202026-12-31"},
			wantErr: []string{"Airport ✈: info: subscription: 12.2 GiB of 50 GiB used, expires 2100-01-01 (" + prov.URL + "/sub/Z…B)"},
			lastReq: "clash.meta/1.19.0||"},
		{name: "user agent and headers", args: []string{"convert", "--to", "uri", "--user-agent", "v2rayN/7.24.4", "--header", "X-Test: yes", sub},
			lastReq: "v2rayN/7.24.4|yes|"},
		{name: "expired and used up is a warning", args: []string{"convert", "--to", "uri", prov.URL + "/expired/" + subToken},
			wantErr: []string{"/expired/Z…B: warning: subscription: 50 GiB of 50 GiB used, expired 2025-12-31 — the subscription has expired and has used up its data, so its servers will likely reject us (auth_rejected)"}},
		{name: "include and exclude", args: []string{"convert", "--to", "uri", "--include", "(?i)hk|expires", "--exclude", "Expires", sub},
			wantOut: []string{"#HK%2001"}, wantNoOut: []string{"JP", "Expires"},
			wantErr: []string{"info: 3 of 4 servers left out by --include \"(?i)hk|expires\" and --exclude \"Expires\""}},
		{name: "nothing left", args: []string{"convert", "--include", "^nothing$", sub}, wantCode: 2,
			wantErr: []string{"convert: none of the 4 servers is left after --include/--exclude"}},
		{name: "dedupe names both", args: []string{"convert", "--to", "uri", "--dedupe", sub},
			wantOut: []string{"#HK%2001", "#JP%2001"}, wantNoOut: []string{"Traffic", "Expires"},
			wantErr: []string{
				`Airport ✈:2: info: Traffic left: 37 GB: same server as "HK 01" (hk.example:443, Airport ✈:1); left out, the first listed is kept`,
				`Airport ✈:4: info: Expires 2026-12-31: same server as "HK 01" (hk.example:443, Airport ✈:1); left out, the first listed is kept`,
			}},
		{name: "404 names the URL masked", args: []string{"convert", prov.URL + "/sub/" + subToken + "x?token=" + subToken}, wantCode: 2,
			wantErr: []string{"xvm: convert: subscription: " + prov.URL + "/sub/Z…x?token=Z…B: HTTP 404 Not Found"}},
		{name: "show-secrets shows the URL", args: []string{"convert", "--show-secrets", prov.URL + "/gone/" + subToken}, wantCode: 2,
			wantErr: []string{prov.URL + "/gone/" + subToken + ": HTTP 404"}},
		{name: "over the cap names the flag", args: []string{"convert", "--max-input-size", "1000", prov.URL + "/big/" + subToken}, wantCode: 2,
			wantErr: []string{"over the 1000-byte limit; raise the limit if this is really a subscription (--max-input-size)"}},
		{name: "proxy from the environment", args: []string{"convert", "--to", "uri", "http://sub.example.test/sub/" + subToken},
			env: map[string]string{"http_proxy": prov.URL}, wantOut: []string{"#JP%2001"}, lastReq: "clash.meta/1.19.0||sub.example.test"},
		{name: "a web page with 200", args: []string{"convert", prov.URL + "/challenge/" + subToken}, wantCode: 2,
			wantErr: []string{"answered with a web page", "bot check or a login page"}},
		{name: "a list served as text/html", args: []string{"convert", "--to", "uri", prov.URL + "/php/" + subToken},
			wantOut: []string{"#JP%2001"}},
		{name: "a malformed proxy variable is named, its password masked", args: []string{"convert", sub},
			env: map[string]string{"HTTP_PROXY": "http://me:Pr0xyPassw0rd@[::1"}, wantCode: 2,
			wantErr: []string{`xvm: convert: HTTP_PROXY="http://me:…@[::1": not a proxy URL such as http://proxy.example:3128; fix or unset it`}, wantNoErr: []string{"Pr0xyPassw0rd"}},
		{name: "a proxy scheme net/http cannot use", args: []string{"convert", sub},
			env: map[string]string{"https_proxy": "ftp://proxy.example:21"}, wantCode: 2,
			wantErr: []string{`https_proxy="ftp://proxy.example:21": proxy scheme "ftp": want http, https, socks5 or socks5h`}},
		{name: "a malformed proxy variable does not matter to a file", args: []string{"convert", "--to", "uri", "vmess://" + convertUUID + "@a.example:443#A"},
			env: map[string]string{"HTTP_PROXY": "http://[::1"}, wantOut: []string{"#A"}},
		{name: "bad include", args: []string{"convert", "--include", "(", sub}, wantCode: 2, wantErr: []string{"xvm: convert: --include \"(\": missing closing ): `(`\n"}},
		{name: "bad exclude", args: []string{"convert", "--exclude", "a**", sub}, wantCode: 2, wantErr: []string{"xvm: convert: --exclude \"a**\": invalid nested repetition operator: `**`\n"}},
		{name: "a usage header not understood", args: []string{"convert", "--to", "uri", prov.URL + "/badinfo/" + subToken},
			wantErr: []string{"/badinfo/Z…B: warning: subscription-userinfo header not understood: it holds none of upload, download, total, expire\n"}},
		{name: "bad header", args: []string{"convert", "--header", "nocolon", sub}, wantCode: 2, wantErr: []string{"--header \"nocolon\": want 'Name: value'"}},
		{name: "bad header hides what may be a credential", args: []string{"convert", "--header", "Authorization Bearer S3cr3tT0ken", sub}, wantCode: 2,
			wantErr: []string{"--header \"Authorization…\": want 'Name: value'"}, wantNoErr: []string{"S3cr3tT0ken"}},
		{name: "bad header name", args: []string{"convert", "--header", "a b: c", sub}, wantCode: 2, wantErr: []string{"want 'Name: value'"}},
		{name: "bad fetch timeout", args: []string{"convert", "--fetch-timeout", "0s", sub}, wantCode: 2, wantErr: []string{"--fetch-timeout must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVMEnv(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.wantNoOut {
				if strings.Contains(out, s) {
					t.Errorf("stdout holds %q:\n%s", s, out)
				}
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			for _, s := range tt.wantNoErr {
				if strings.Contains(errOut, s) {
					t.Errorf("stderr holds %q:\n%s", s, errOut)
				}
			}
			if !strings.Contains(strings.Join(tt.args, " "), "--show-secrets") && strings.Contains(errOut, subToken) {
				t.Errorf("stderr shows the token:\n%s", errOut)
			}
			if tt.lastReq != "" && prov.last() != tt.lastReq {
				t.Errorf("request %q, want %q", prov.last(), tt.lastReq)
			}
		})
	}
}
