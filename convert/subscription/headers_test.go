package subscription

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseUsage(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	now := day("2026-06-01")
	type spec struct {
		name, header    string
		want            Usage
		err             bool
		expired, usedUp bool
		text            string
	}
	for _, c := range []spec{
		{name: "xboard", header: "upload=1073741824; download=12079595520; total=53687091200; expire=1798675200",
			want: Usage{Upload: 1 << 30, Download: 12079595520, Total: 50 << 30, Expire: day("2026-12-31")},
			text: "12.2 GiB of 50 GiB used, expires 2026-12-31"},
		{name: "marzban no limit no expiry", header: "upload=0; download=3221225472; total=0; expire=0",
			want: Usage{Download: 3 << 30}, text: "3 GiB used (no data limit)"},
		{name: "expired", header: "upload=0;download=1024;total=1073741824;expire=1767139200",
			want:    Usage{Download: 1024, Total: 1 << 30, Expire: day("2025-12-31")},
			expired: true, text: "1 KiB of 1 GiB used, expired 2025-12-31"},
		{name: "used up", header: "upload=536870912; download=536870912; total=1073741824",
			want: Usage{Upload: 1 << 29, Download: 1 << 29, Total: 1 << 30}, usedUp: true, text: "1 GiB of 1 GiB used"},
		{name: "over the limit", header: "download=64424509440; total=53687091200",
			want: Usage{Download: 60 << 30, Total: 50 << 30}, usedUp: true, text: "60 GiB of 50 GiB used"},
		{name: "floats, case, commas, spaces", header: " Upload = 1.5E3 , DOWNLOAD=512 ,total=1e10",
			want: Usage{Upload: 1500, Download: 512, Total: 10000000000}, text: "1.9 KiB of 9.3 GiB used"},
		{name: "empty and bad values skipped", header: "upload=; download=abc; total=-5; expire=; download=7",
			want: Usage{Download: 7}, text: "7 B used (no data limit)"},
		{name: "huge expire clamped", header: "expire=99999999999999",
			want: Usage{Expire: day("9999-12-31").Add(24*time.Hour - time.Second)}, text: "0 B used (no data limit), expires 9999-12-31"},
		{name: "overflowing sum", header: "upload=9223372036854775807; download=9223372036854775807; total=1",
			want: Usage{Upload: 1<<63 - 1, Download: 1<<63 - 1, Total: 1}, usedUp: true, text: "8 EiB of 1 B used"},
		{name: "nothing", header: "hello=1; world", err: true},
		{name: "empty", header: "", err: true},
		{name: "too long", header: "upload=1;" + strings.Repeat(" ", maxUsageHeader), err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := ParseUsage(c.header)
			if c.err {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u != c.want {
				t.Fatalf("got %+v\nwant %+v", u, c.want)
			}
			if u.Expired(now) != c.expired || u.UsedUp() != c.usedUp {
				t.Errorf("expired %v used up %v", u.Expired(now), u.UsedUp())
			}
			if got := u.Summary(now); got != c.text {
				t.Errorf("summary %q, want %q", got, c.text)
			}
		})
	}
	if _, err := ParseUsage("x=1"); !errors.Is(err, ErrNoUsage) {
		t.Errorf("no fields: %v", err)
	}
}

func TestTitle(t *testing.T) {
	for _, c := range []struct {
		name string
		h    map[string]string
		want string
	}{
		{"profile-title plain", map[string]string{"Profile-Title": "My Airport"}, "My Airport"},
		{"profile-title base64", map[string]string{"Profile-Title": "base64:0JzQvtC5IFZQTg=="}, "Мой VPN"},
		{"profile-title base64 unpadded", map[string]string{"Profile-Title": "BASE64:0JzQvtC5IFZQTg"}, "Мой VPN"},
		{"profile-title bad base64 kept", map[string]string{"Profile-Title": "base64:***"}, "base64:***"},
		{"profile-title before disposition", map[string]string{"Profile-Title": "T", "Content-Disposition": `attachment; filename="f"`}, "T"},
		{"disposition", map[string]string{"Content-Disposition": `attachment; filename="user42"`}, "user42"},
		{"disposition rfc 5987", map[string]string{"Content-Disposition": `attachment; filename=plain.yaml; filename*=UTF-8''%E8%BF%9C%E7%A8%8B.yaml`}, "远程.yaml"},
		{"disposition as xboard writes it", map[string]string{"Content-Disposition": `attachment;filename*=UTF-8''XBoard%20%E2%9C%88`}, "XBoard ✈"},
		{"disposition unparseable", map[string]string{"Content-Disposition": `attachment; filename="`}, ""},
		{"escape sequences dropped", map[string]string{"Profile-Title": "evil\x1b[31mred\x1b[0m\u202etxt"}, "evil[31mred[0mtxt"},
		{"spaces collapsed", map[string]string{"Profile-Title": "  a \t  b  "}, "a b"},
		{"long clipped", map[string]string{"Profile-Title": strings.Repeat("x", 200)}, strings.Repeat("x", maxTitle) + "…"},
		{"none", map[string]string{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.h {
				h.Set(k, v)
			}
			if got := Title(h); got != c.want {
				t.Errorf("Title = %q, want %q", got, c.want)
			}
		})
	}
}

func TestMaskURL(t *testing.T) {
	const tok = "a1b2c3d4e5f6a7b8c9d0"
	for _, c := range []struct{ in, want string }{
		// V2Board / Xboard
		{"https://panel.example/api/v1/client/subscribe?token=" + tok, "https://panel.example/api/v1/client/subscribe?token=a…0"},
		// harmless keys stay readable
		{"https://panel.example/api/v1/client/subscribe?token=" + tok + "&flag=clash", "https://panel.example/api/v1/client/subscribe?token=a…0&flag=clash"},
		// SSPanel
		{"https://panel.example/link/AbCdEfGh12345678?sub=3", "https://panel.example/link/A…8?sub=3"},
		// Marzban: /sub/TOKEN/FORMAT
		{"https://panel.example:8443/sub/dXNlcjEsMTcwMDAwMDAwMAzq3/clash-meta", "https://panel.example:8443/sub/d…3/clash-meta"},
		// 3x-ui with a short, chosen sub id: masked after "sub" anyway
		{"http://1.2.3.4:2096/sub/john", "http://1.2.3.4:2096/sub/…"},
		// a token-looking segment anywhere
		{"https://gist.example/u/0123456789abcdef0123456789abcdef/raw/sub.txt", "https://gist.example/u/0123…cdef/raw/sub.txt"},
		// unknown keys are masked even when short
		{"https://x.example/s?key=abc&target=clash", "https://x.example/s?key=…&target=clash"},
		// a harmless key with a secret-looking value
		{"https://x.example/?flag=" + tok, "https://x.example/?flag=a…0"},
		// a converter's url= parameter
		{"https://conv.example/sub?target=clash&url=https%3A%2F%2Fpanel.example%2Flink%2FAbCdEfGh12345678", "https://conv.example/sub?target=clash&url=https://panel.example/link/A…8"},
		// userinfo
		{"https://user:secretpass@x.example/sub.txt", "https://…:…@x.example/sub.txt"},
		// bare token query
		{"https://x.example/sub?" + tok, "https://x.example/sub?a…0"},
		// fragment dropped, empty values kept
		{"https://x.example/list.txt?empty=#frag", "https://x.example/list.txt?empty="},
		// nothing secret
		{"https://raw.example/user/repo/main/sub.txt", "https://raw.example/user/repo/main/sub.txt"},
		// not a URL at all
		{"::not a url " + tok, "::no…" + tok[len(tok)-4:]},
		// Location headers that do not parse: masked by their shape
		{"http://[127.0.0.1:1/sub/" + tok, "http://[127.0.0.1:1/sub/a…0"},
		{"/sub/" + tok + "%zz?token=" + tok, "/sub/a…z?token=a…0"},
		{"http://u:" + tok + "@h%zz.example/", "http://…:…@h…e/"},
		{"http://" + tok + ".example:8080/x%zz", "http://a…0.example:8080/x%zz"},
		{"file:///etc/sub/" + tok, "file:///etc/sub/a…0"},
	} {
		if got := MaskURL(c.in); got != c.want {
			t.Errorf("MaskURL(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
