package subscription

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

const (
	testUUID = "b831381d-6324-4d53-ad4f-8cda48b30811"
	// testToken stands for a provider's secret; no message may show it.
	testToken = "Zq8xL2mN4pR7sT9vW1yB"
)

var testLinks = "vmess://" + testUUID + "@a.example:443?type=ws&security=tls#A\n" +
	"vmess://" + testUUID + "@b.example:443?type=ws&security=tls#B\n"

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// locations are the Location headers /to/NAME answers with: ways a
// provider's redirect can go wrong, each carrying the token.
var locations = map[string]string{
	"bad-escape": "/sub/" + testToken + "%zz",
	"bad-host":   "http://[127.0.0.1:1/sub/" + testToken,
	"ftp":        "ftp://files.example/sub/" + testToken,
	"file":       "file:///etc/sub/" + testToken,
	"token-host": "http://" + testToken + ".invalid/sub",
}

// subServer serves subscriptions the ways providers do, on loopback.
func subServer(t *testing.T) (*httptest.Server, *atomic.Value) {
	t.Helper()
	lastUA := &atomic.Value{}
	lastUA.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		lastUA.Store(r.UserAgent() + "|" + r.Header.Get("X-Extra") + "|" + r.Host + "|" + user + ":" + pass)
		w.Header().Set("Subscription-Userinfo", "upload=1073741824; download=12079595520; total=53687091200; expire=1798675200")
		w.Header().Set("Profile-Title", "base64:"+base64.StdEncoding.EncodeToString([]byte("Airport ✈ Premium")))
		fmt.Fprint(w, testLinks)
	})
	mux.HandleFunc("/base64", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="plain.txt"; filename*=UTF-8''%E8%BF%9C%E7%A8%8B.txt`)
		fmt.Fprint(w, base64.StdEncoding.EncodeToString([]byte(testLinks)))
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "want gzip", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipped(t, testLinks))
	})
	mux.HandleFunc("/sub.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(gzipped(t, testLinks))
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/redirect/"), "%d", &n)
		if n == 0 {
			http.Redirect(w, r, "/plain", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/redirect/%d?token=%s", n-1, testToken), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Account unavailable"}`)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2048")
		w.Write(bytes.Repeat([]byte("a"), 2048))
	})
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, r *http.Request) {
		// 1 MiB of zeros gzips to about 1 KiB: the cap must apply to what
		// comes out, and no Content-Length announces it.
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipped(t, strings.Repeat("\x00", 1<<20)))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "vmess://")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // never finishes; the client must give up
	})
	mux.HandleFunc("/broken-gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("not gzip at all"))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		// A login page with 200 and no type: the body says what it is.
		w.Header()["Content-Type"] = nil
		fmt.Fprint(w, "\n  <HTML><body><form action=\"https://panel.example/login\"></form></body></HTML>")
	})
	mux.HandleFunc("/bot-check", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		fmt.Fprint(w, "<head><title>Just a moment...</title></head>")
	})
	mux.HandleFunc("/php", func(w http.ResponseWriter, r *http.Request) {
		// PHP's default type on a base64 list.
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		fmt.Fprint(w, base64.StdEncoding.EncodeToString([]byte(testLinks)))
	})
	mux.HandleFunc("/disabled", func(w http.ResponseWriter, r *http.Request) {
		// A panel that repeats the token in its refusal.
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "token %s is disabled", testToken)
	})
	mux.HandleFunc("/to/", func(w http.ResponseWriter, r *http.Request) {
		// Redirects to whatever Location the test names, written as is.
		loc, ok := locations[strings.TrimPrefix(r.URL.Path, "/to/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header()["Location"] = []string{loc}
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/raw-location", func(w http.ResponseWriter, r *http.Request) {
		// A Location with a control byte, which net/http's server would
		// not write.
		writeRaw(w, fmt.Sprintf("HTTP/1.1 302 Found\r\nLocation: /plain?token=%s\x7f\r\nContent-Length: 0\r\n\r\n", testToken))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, lastUA
}

// writeRaw answers with resp written by hand on the connection, for
// responses net/http's server would not write, and closes it.
func writeRaw(w http.ResponseWriter, resp string) {
	conn, bw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	bw.WriteString(resp)
	bw.Flush()
}

func TestFetch(t *testing.T) {
	srv, _ := subServer(t)
	wantBody := func(t *testing.T, src *Source) {
		t.Helper()
		body := string(src.Body)
		if body != testLinks {
			if dec, err := base64.StdEncoding.DecodeString(body); err != nil || string(dec) != testLinks {
				t.Fatalf("body %q", body)
			}
		}
	}
	type spec struct {
		name  string
		path  string
		opts  Options
		check func(t *testing.T, src *Source)
		kind  Kind
		// in is text the error must hold; never is text it must not.
		in, never []string
	}
	for _, c := range []spec{
		{name: "plain", path: "/plain", check: func(t *testing.T, src *Source) {
			wantBody(t, src)
			if src.Title != "Airport ✈ Premium" {
				t.Errorf("title %q", src.Title)
			}
			if src.Usage == nil || src.Usage.Total != 50<<30 || src.Usage.Used() != 1073741824+12079595520 {
				t.Fatalf("usage %+v", src.Usage)
			}
			if got := src.Usage.String(); got != "12.2 GiB of 50 GiB used, expires 2026-12-31" {
				t.Errorf("usage %q", got)
			}
		}},
		{name: "base64", path: "/base64", check: func(t *testing.T, src *Source) {
			wantBody(t, src)
			if src.Title != "远程.txt" || src.Usage != nil {
				t.Errorf("title %q usage %+v", src.Title, src.Usage)
			}
		}},
		{name: "gzip", path: "/gzip", check: wantBody},
		{name: "gzip file", path: "/sub.gz", check: wantBody},
		{name: "a list served as text/html", path: "/php", check: wantBody},
		{name: "login page", path: "/login", kind: KindWebPage, in: []string{"answered with a web page"}},
		{name: "bot check", path: "/bot-check", kind: KindWebPage, in: []string{"a bot check or a login page"}},
		{name: "redirects", path: fmt.Sprintf("/redirect/%d", MaxRedirects-1), check: func(t *testing.T, src *Source) {
			wantBody(t, src)
			if src.Title != "Airport ✈ Premium" {
				t.Errorf("title %q: want /plain's, where the redirects end", src.Title)
			}
		}},
		{name: "too many redirects", path: fmt.Sprintf("/redirect/%d?token=%s", MaxRedirects, testToken), kind: KindRedirects,
			in: []string{"more than 5 redirects"}, never: []string{testToken}},
		{name: "404", path: "/sub/" + testToken + "?token=" + testToken + "&flag=clash", kind: KindStatus,
			in: []string{"HTTP 404 Not Found", "/sub/Z…B", "token=Z…B", "flag=clash", "copy the URL again"}, never: []string{testToken}},
		{name: "403 with message", path: "/forbidden", kind: KindStatus,
			in: []string{"HTTP 403 Forbidden", `"{\"message\":\"Account unavailable\"}"`, "token was refused"}},
		{name: "403 repeating the token", path: "/disabled?token=" + testToken, kind: KindStatus,
			in: []string{"HTTP 403 Forbidden", "is disabled"}, never: []string{testToken}},
		{name: "Location that does not parse (escape)", path: "/to/bad-escape", kind: KindRedirects,
			in: []string{"redirected to a URL that does not parse"}, never: []string{testToken}},
		{name: "Location that does not parse (host)", path: "/to/bad-host", kind: KindRedirects,
			in: []string{"redirected to a URL that does not parse"}, never: []string{testToken}},
		{name: "Location with a control byte", path: "/raw-location?token=" + testToken, kind: "any", never: []string{testToken}},
		{name: "redirect to ftp", path: "/to/ftp", kind: KindRedirects,
			in: []string{"redirected to a non-http URL", "ftp://files.example/sub/"}, never: []string{testToken}},
		{name: "redirect to file", path: "/to/file", kind: KindRedirects,
			in: []string{"redirected to a non-http URL"}, never: []string{testToken}},
		{name: "redirect to a host named by the token", path: "/to/token-host", kind: KindDNS,
			opts: Options{Resolver: vmesstest.StartDNS(t).Resolver()}, in: []string{"did not resolve"}, never: []string{testToken, strings.ToLower(testToken)}},
		{name: "over the cap", path: "/big", opts: Options{MaxBytes: 1024}, kind: KindTooLarge,
			in: []string{"2048 bytes, over the 1024-byte limit"}},
		{name: "gzip bomb", path: "/bomb", opts: Options{MaxBytes: 64 << 10}, kind: KindTooLarge,
			in: []string{"over the 65536-byte limit"}},
		{name: "broken gzip", path: "/broken-gzip", kind: KindBody, in: []string{"gzip"}},
		{name: "slow", path: "/slow?token=" + testToken, opts: Options{Timeout: 300 * time.Millisecond}, kind: KindTimeout,
			in: []string{"no complete answer in time"}, never: []string{testToken}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := Fetch(context.Background(), srv.URL+c.path, c.opts)
			if c.kind == "" {
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, src)
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || (c.kind != "any" && fe.Kind != c.kind) {
				t.Fatalf("error %v (%T), want kind %s", err, err, c.kind)
			}
			msg := err.Error()
			for _, s := range c.in {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q lacks %q", msg, s)
				}
			}
			for _, s := range c.never {
				if strings.Contains(msg, s) {
					t.Errorf("error %q shows %q", msg, s)
				}
			}
		})
	}
}

// TestFetchAnnouncedLengthNotAllocated: a Content-Length at the cap with
// one byte behind it costs what arrives, not what was announced.
func TestFetchAnnouncedLengthNotAllocated(t *testing.T) {
	const announced = 64 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nv", announced))
	}))
	t.Cleanup(srv.Close)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Fetch(context.Background(), srv.URL+"/", Options{MaxBytes: announced})
	runtime.ReadMemStats(&after)
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != KindBody {
		t.Fatalf("a body cut short: %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Fatalf("fetching 1 byte of an announced %d allocated %d bytes", announced, got)
	}
}

func TestFetchShowSecrets(t *testing.T) {
	srv, _ := subServer(t)
	_, err := Fetch(context.Background(), srv.URL+"/sub/"+testToken, Options{ShowSecrets: true})
	if err == nil || !strings.Contains(err.Error(), "/sub/"+testToken) {
		t.Fatalf("error %v: want the URL unmasked", err)
	}
}

func TestFetchHeaders(t *testing.T) {
	srv, lastUA := subServer(t)
	if _, err := Fetch(context.Background(), srv.URL+"/plain", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := lastUA.Load().(string); !strings.HasPrefix(got, DefaultUserAgent+"||127.0.0.1:") || !strings.HasSuffix(got, "|:") {
		t.Fatalf("default request: %q", got)
	}
	h := http.Header{}
	h.Set("X-Extra", "1")
	h.Set("Host", "sub.example")
	if _, err := Fetch(context.Background(), srv.URL+"/plain", Options{UserAgent: "v2rayN/7.24.4", Header: h}); err != nil {
		t.Fatal(err)
	}
	if got := lastUA.Load().(string); got != "v2rayN/7.24.4|1|sub.example|:" {
		t.Fatalf("request with options: %q", got)
	}
	// Credentials in the URL are sent as basic auth, as v2rayN and mihomo do.
	u := strings.Replace(srv.URL, "http://", "http://me:"+testToken+"@", 1)
	_, err := Fetch(context.Background(), u+"/plain", Options{})
	if got := lastUA.Load().(string); err != nil || !strings.HasSuffix(got, "|me:"+testToken) {
		t.Fatalf("basic auth: %v, %q", err, got)
	}
	if _, err := Fetch(context.Background(), u+"/missing", Options{}); err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "me:") {
		t.Fatalf("credentials in an error: %v", err)
	}
}

func TestFetchTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, testLinks) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, err := Fetch(context.Background(), srv.URL+"/?token="+testToken, Options{})
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != KindTLS || strings.Contains(err.Error(), testToken) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	src, err := Fetch(context.Background(), srv.URL+"/", Options{RootCAs: pool})
	if err != nil || string(src.Body) != testLinks {
		t.Fatalf("trusted: %v", err)
	}
}

func TestFetchRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Fetch(context.Background(), "http://"+addr+"/sub?token="+testToken, Options{})
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != KindRefused || strings.Contains(err.Error(), testToken) {
		t.Fatalf("closed port: %v", err)
	}
}

// TestFetchDNS resolves through a loopback DNS server that knows no name.
func TestFetchDNS(t *testing.T) {
	res := vmesstest.StartDNS(t).Resolver()
	_, err := Fetch(context.Background(), "http://sub.example.test/sub/"+testToken, Options{Resolver: res})
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != KindDNS {
		t.Fatalf("unknown name: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, testToken) || !strings.Contains(msg, "sub.example.test") || !strings.Contains(msg, "did not resolve") {
		t.Fatalf("message %q", msg)
	}
}

// TestFetchProxy fetches a URL whose host exists nowhere through a
// loopback HTTP proxy, which must be the one that answers.
func TestFetchProxy(t *testing.T) {
	var asked atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.String())
		fmt.Fprint(w, testLinks)
	}))
	t.Cleanup(proxy.Close)
	pu, _ := url.Parse(proxy.URL)
	src, err := Fetch(context.Background(), "http://sub.example.test/sub", Options{Proxy: http.ProxyURL(pu)})
	if err != nil || string(src.Body) != testLinks {
		t.Fatalf("through the proxy: %v", err)
	}
	if got, _ := asked.Load().(string); got != "http://sub.example.test/sub" {
		t.Fatalf("proxy was asked for %q", got)
	}
}

func TestFetchBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x/y", "http://", "http:///path", "://"} {
		_, err := Fetch(context.Background(), u, Options{})
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != KindURL {
			t.Errorf("%q: %v", u, err)
		}
	}
}

func TestFetchCanceled(t *testing.T) {
	srv, _ := subServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := Fetch(ctx, srv.URL+"/slow", Options{})
	var fe *Error
	if !errors.As(err, &fe) || fe.Kind != KindCanceled {
		t.Fatalf("canceled: %v", err)
	}
}
