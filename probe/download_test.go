package probe

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

func TestDownloadURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"1000", DownloadServer + "1000", ""},
		{"10MB", DownloadServer + "10000000", ""},
		{"10MiB", DownloadServer + "10485760", ""},
		{"1.5M", DownloadServer + "1572864", ""},
		{"256k", DownloadServer + "262144", ""},
		{"http://127.0.0.1:8080/file", "http://127.0.0.1:8080/file", ""},
		{"https://example.com/x?y=1", "https://example.com/x?y=1", ""},
		{"0", "", "between 1 byte"},
		{"20GiB", "", "between 1 byte"},
		{"lots", "", "want a size"},
		{"ftp://x/y", "", "want a size"},
		{"http://", "", `Download "http://": only http and https URLs`},
		{"http://h:0/x", "", "the port must be 1 to 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DownloadURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("DownloadURL(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DownloadURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestProbeSlowDownload: the timeout bounds each gap in a download, not
// the whole transfer. A 4 s download of 40 kB in 1 kB steps with a 2 s
// timeout succeeds with every byte (it used to be cut at the timeout and
// reported as a timeout); with -short, 2 s with a 1 s timeout. A gap
// would have to last 20 steps to fail it, which leaves room for a busy
// machine; it runs alone (not in parallel with the tests that wait out
// timeouts) for the same reason. Adopted from the review's reproduction.
func TestProbeSlowDownload(t *testing.T) {
	const steps = 40
	step := shortOr(100*time.Millisecond, 50*time.Millisecond)
	web := startSlowWeb(t, steps, step)
	srv := startServer(t, vmesstest.ServerOptions{})
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Timeout = steps / 2 * step
	opts.Download = web.URL + "/slow"
	r := runOne(t, spec{name: "dl", host: srv.Host, port: srv.Port, id: srv.ID, security: "aes-128-gcm"}.target(t), opts)
	if !r.OK || r.Download == nil || r.Download.Bytes != steps*1000 {
		t.Fatalf("a slow but steady download of %d steps with a timeout of %d failed: %s", steps, steps/2, jsonOf(r))
	}
	// The server's sleeps alone take steps-1 steps: the download
	// outlived the timeout, which is the point.
	if min := ((steps - 1) * step).Seconds(); r.Download.Seconds < min {
		t.Fatalf("download took %.3f s, want ≥ %.3f s (%d steps of %v)", r.Download.Seconds, min, steps, step)
	}
}

// startSlowWeb starts a web server whose /slow sends steps kilobytes, one
// every step, and whose /generate_204 answers at once.
func startSlowWeb(t *testing.T, steps int, step time.Duration) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/generate_204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(steps*1000))
		buf := make([]byte, 1000)
		for range steps {
			if _, err := w.Write(buf); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(step)
		}
	})
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	return web
}

// TestProbeStalledDownload: a download that stops bringing data fails
// after the idle timeout, says it stalled (naming the download URL, and
// advising another download URL or a longer timeout), and still reports
// the bytes that arrived.
func TestProbeStalledDownload(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	web := startURL(t)
	release := make(chan struct{})
	dl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "30000")
		w.Write(make([]byte, 5000))
		w.(http.Flusher).Flush()
		select { // stall until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(dl.Close)
	t.Cleanup(func() { close(release) }) // runs before dl.Close
	srv := startServer(t, vmesstest.ServerOptions{})
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Timeout = time.Second
	opts.Download = dl.URL + "/file"
	r := runOne(t, spec{name: "stall", host: srv.Host, port: srv.Port, id: srv.ID, security: "aes-128-gcm"}.target(t), opts)
	if r.OK || r.Error == nil || r.Error.Kind != KindTimeout {
		t.Fatalf("result %s, want a timeout", jsonOf(r))
	}
	for _, want := range []string{"download: ", "stalled", "no data for 1s after 5000 bytes", dl.URL + "/file"} {
		if !strings.Contains(r.Error.Message, want) {
			t.Errorf("message %q does not contain %q", r.Error.Message, want)
		}
	}
	if !slices.Equal(r.Error.Advice, []Advice{AdviceTimeout, AdviceDownload}) {
		t.Errorf("advice %v, want a longer timeout or another download URL", r.Error.Advice)
	}
	noFlags(t, r.Error.Message)
	if strings.Contains(r.Error.Message, strings.TrimPrefix(web.URL, "http://")) {
		t.Errorf("message %q names the URL's host; the download failed", r.Error.Message)
	}
	if r.Download == nil || r.Download.Bytes != 5000 || r.Download.Seconds <= 0 {
		t.Fatalf("download %s, want the 5000 bytes that arrived", jsonOf(r.Download))
	}
	if r.Download.BytesPerS != 0 || strings.Contains(jsonOf(r), "bytes_per_s") {
		t.Errorf("failed download %s reports a rate; a rate would read as the server's speed", jsonOf(r.Download))
	}
	// The stall is noticed within the idle timeout (plus slack for a busy
	// machine) after the last byte, which came at once.
	if slack := 2 * time.Second; r.Download.Seconds > (opts.Timeout + slack).Seconds() {
		t.Fatalf("the stall was noticed after %.3f s, want within the 1 s timeout (+%v slack)", r.Download.Seconds, slack)
	}
}

// TestProbeDownloadFailureNamesDownloadURL: when the download fails, the
// message names the download URL (or its host) and the advice is another
// download URL, not another URL: that one worked.
func TestProbeDownloadFailureNamesDownloadURL(t *testing.T) {
	t.Parallel() // it waits out timeouts; the others need not wait for it
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	garbageHost, garbagePort := listen(t, func(c net.Conn) {
		c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
		io.Copy(io.Discard, c)
	})
	silentHost, silentPort := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	tests := []struct {
		name, url string
		kind      Kind
		want      string // what of the URL the message names
	}{
		{"not HTTP", fmt.Sprintf("http://%s:%d/file", garbageHost, garbagePort), KindDestination, fmt.Sprintf("http://%s:%d/file", garbageHost, garbagePort)},
		{"never answers", fmt.Sprintf("http://%s:%d/file", silentHost, silentPort), KindTimeout, fmt.Sprintf("%s:%d", silentHost, silentPort)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(web.URL)
			opts.Count = 1
			opts.Timeout = shortOr(2*time.Second, time.Second)
			opts.Download = tt.url
			r := runOne(t, spec{name: "dl", host: srv.Host, port: srv.Port, id: srv.ID}.target(t), opts)
			if r.OK || r.Error == nil || r.Error.Kind != tt.kind {
				t.Fatalf("result %s, want %s", jsonOf(r), tt.kind)
			}
			msg := r.Error.Message
			if !strings.HasPrefix(msg, "download: ") || !strings.Contains(msg, tt.want) || !slices.Contains(r.Error.Advice, AdviceDownload) {
				t.Fatalf("message %q, advice %v; want it to name %s and advise another download URL", msg, r.Error.Advice, tt.want)
			}
			if slices.Contains(r.Error.Advice, AdviceURL) || strings.Contains(msg, strings.TrimPrefix(web.URL, "http://")) {
				t.Fatalf("message %q (advice %v) points at the URL, which worked", msg, r.Error.Advice)
			}
			noFlags(t, msg)
		})
	}
}

// TestProbeDownloadTimeLimit: a download is cut at DownloadTime after its
// request; what arrived by then is the measurement (with a rate), the
// server stays ok, and a note says the download was cut, with the advice
// to allow longer. Here the server needs at least 4 s for the whole body.
func TestProbeDownloadTimeLimit(t *testing.T) {
	const steps = 40
	web := startSlowWeb(t, steps, 100*time.Millisecond)
	srv := startServer(t, vmesstest.ServerOptions{})
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Download = web.URL + "/slow"
	opts.DownloadTime = shortOr(time.Second, 300*time.Millisecond)
	r := runOne(t, spec{name: "dl", host: srv.Host, port: srv.Port, id: srv.ID}.target(t), opts)
	if !r.OK || r.Download == nil || r.Download.Bytes >= steps*1000 || len(r.Notes) != 1 {
		t.Fatalf("result %s, want ok with part of the body and a note", jsonOf(r))
	}
	if n := r.Notes[0]; !strings.Contains(n.Message, "download stopped at its "+opts.DownloadTime.String()+" limit") || !slices.Equal(n.Advice, []Advice{AdviceDownloadTime}) {
		t.Fatalf("note %s, want the limit named and its advice", jsonOf(n))
	}
	if r.Download.Bytes > 0 && r.Download.BytesPerS <= 0 {
		t.Fatalf("download %s: a cut download is still a rate", jsonOf(r.Download))
	}
	noFlags(t, r.Notes[0].Message)
}
