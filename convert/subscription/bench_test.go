package subscription

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/xvmtools/xvm/convert"
)

// benchSubscription is a base64 subscription of n links in three dialects,
// every tenth one a repeat of the one before under another name (what
// Dedupe leaves out) and every seventh named "expired" (what the filter
// leaves out).
func benchSubscription(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		host := i
		if i%10 == 9 {
			host = i - 1
		}
		name := fmt.Sprintf("node %d", i)
		if i%7 == 0 {
			name += " expired"
		}
		switch host % 3 {
		case 0:
			fmt.Fprintf(&b, "vmess://%s@n%d.example.com:443?type=ws&security=tls&host=cdn.example.com&path=%%2Fws#%s", testUUID, host, fragment(name))
		case 1:
			fmt.Fprintf(&b, "vmess://%s@n%d.example.com:443?type=grpc&security=tls&serviceName=svc&sni=g.example.com#%s", testUUID, host, fragment(name))
		default:
			fmt.Fprintf(&b, "vmess://%s@n%d.example.com:8080?type=tcp&headerType=http&host=h.example.com&path=%%2F#%s", testUUID, host, fragment(name))
		}
		b.WriteByte('\n')
	}
	return []byte(base64.StdEncoding.EncodeToString([]byte(b.String())))
}

func fragment(s string) string { return strings.ReplaceAll(s, " ", "%20") }

func serveBody(b *testing.B, body []byte) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Subscription-Userinfo", "upload=1; download=2; total=3; expire=4102444800")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/sub/" + testToken
}

// BenchmarkPipeline is what 'xvm convert --dedupe --exclude expired URL'
// does before it writes: fetch over loopback HTTP, parse, filter by name,
// de-duplicate. The bar: 10,000 links in under 1 s and 200 MB
// (B/op counts every allocation of the run, the loopback server's
// included, so it bounds the peak from above). links=20000 shows the cost
// doubling with the input, not growing faster.
func BenchmarkPipeline(b *testing.B) {
	exclude := regexp.MustCompile(`expired`)
	for _, n := range []int{10000, 20000} {
		body := benchSubscription(n)
		u := serveBody(b, body)
		b.Run(fmt.Sprintf("links=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				src, err := Fetch(context.Background(), u, Options{})
				if err != nil {
					b.Fatal(err)
				}
				res, err := convert.Parse(context.Background(), src.Name(), src.Body, convert.Options{})
				if err != nil || len(res.Nodes) != n {
					b.Fatalf("parse: %v, %d nodes", err, len(res.Nodes))
				}
				nodes, _ := convert.Filter(res.Nodes, nil, exclude)
				nodes, _ = convert.Dedupe(nodes)
				if len(nodes) == 0 || len(nodes) >= n*8/10 {
					b.Fatalf("%d nodes left of %d", len(nodes), n)
				}
			}
		})
	}
}

// BenchmarkFetchVsPlainGET puts Fetch beside the floor any fetcher pays:
// net/http's GET and io.ReadAll of the same 10,000-link body, on a fresh
// connection each time as Fetch's.
func BenchmarkFetchVsPlainGET(b *testing.B) {
	body := benchSubscription(10000)
	u := serveBody(b, body)
	b.Run("xvm-fetch", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Fetch(context.Background(), u, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net-http-get", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			// A client of its own per fetch, as Fetch has: one fetch per
			// run, so no kept-alive connection to reuse.
			tr := &http.Transport{}
			client := &http.Client{Transport: tr}
			resp, err := client.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			tr.CloseIdleConnections()
		}
	})
}

// BenchmarkParseUsage, BenchmarkMaskURL and BenchmarkTitle double their
// input: time and memory must double with it (no quadratic path).
func BenchmarkParseUsage(b *testing.B) {
	for _, n := range []int{16, 32, 64, 128} {
		h := strings.Repeat("upload=1; download=2; ", n) + "total=3"
		b.Run(fmt.Sprintf("bytes=%d", len(h)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ParseUsage(h)
			}
		})
	}
}

func BenchmarkMaskURL(b *testing.B) {
	for _, n := range []int{64, 128, 256, 512} {
		u := "https://panel.example/sub/" + testToken + "?" + strings.Repeat("token="+testToken+"&flag=clash&", n)
		b.Run(fmt.Sprintf("bytes=%d", len(u)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MaskURL(u)
			}
		})
	}
}

func BenchmarkTitle(b *testing.B) {
	for _, n := range []int{1 << 10, 2 << 10, 4 << 10, 8 << 10} {
		h := http.Header{}
		h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+strings.Repeat("%E8%BF%9C", n/9))
		b.Run(fmt.Sprintf("bytes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Title(h)
			}
		})
	}
}
