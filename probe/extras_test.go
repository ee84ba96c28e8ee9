package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// traceServer answers like Cloudflare's /cdn-cgi/trace, with a fixed
// address: through Xray on loopback the real client address would be
// 127.0.0.1 either way.
func traceServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/cdn-cgi/trace", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "fl=12f34\nh=%s\nip=%s\nts=1767139200.123\nvisit_scheme=http\nuag=%s\ncolo=AMS\nsliver=none\nhttp=http/1.1\nloc=NL\ntls=off\nsni=off\nwarp=off\ngateway=off\n",
			r.Host, host, r.UserAgent())
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>\x1b[31mhello</html>") })
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// uploadServer reads POST bodies to the end and counts the bytes; /nope
// answers 404 without reading.
func uploadServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var got atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/__up", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		got.Add(n)
		w.WriteHeader(http.StatusOK)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, &got
}

// TestExtrasThroughXray: the exit IP, a DNS query over VMess UDP and an
// upload, each through an in-process Xray server whose freedom outbound
// reaches loopback servers.
func TestExtrasThroughXray(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	trace := traceServer(t)
	dns := vmesstest.StartDNS(t, [4]byte{192, 0, 2, 1})
	up, received := uploadServer(t)

	opts := testOptions(web.URL)
	opts.Count = 1
	opts.TraceURL = trace.URL + "/cdn-cgi/trace"
	opts.DNSServer = dns.Addr
	opts.UploadBytes = 3<<20 + 123
	opts.UploadURL = up.URL + "/__up"
	r := runOne(t, spec{name: "x", host: srv.Host, port: srv.Port, id: srv.ID}.target(t), opts)
	wantOK(t, r)
	if r.Exit == nil || r.Exit.IP != "127.0.0.1" || r.Exit.Country != "NL" || r.Exit.Colo != "AMS" || r.Exit.Error != "" {
		t.Errorf("exit %s", jsonOf(r.Exit))
	}
	if r.UDP == nil || !r.UDP.OK || r.UDP.RTTMs == nil || *r.UDP.RTTMs <= 0 || dns.Answered.Load() != 1 {
		t.Errorf("udp %s, %d queries answered", jsonOf(r.UDP), dns.Answered.Load())
	}
	if r.Upload == nil || r.Upload.Bytes != opts.UploadBytes || received.Load() != opts.UploadBytes || r.Upload.BytesPerS <= 0 || r.Upload.Seconds <= 0 {
		t.Errorf("upload %s, server read %d bytes", jsonOf(r.Upload), received.Load())
	}
	for _, field := range []string{`"exit":{"ip":"127.0.0.1","country":"NL","colo":"AMS"}`, `"udp":{"ok":true,"rtt_ms":`, `"upload":{"bytes":3145851,`} {
		if !strings.Contains(jsonOf(r), field) {
			t.Errorf("JSON lacks %s: %s", field, jsonOf(r))
		}
	}
}

// TestExtrasFailures: a trace page that is not one, a DNS server that
// never answers and an upload URL that refuses: the server still passed
// its probe, except for the upload, which fails it (as a download does).
func TestExtrasFailures(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	trace := traceServer(t)
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	up, _ := uploadServer(t)
	tg := spec{name: "x", host: srv.Host, port: srv.Port, id: srv.ID}.target(t)

	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Timeout = time.Second
	opts.TraceURL = trace.URL + "/garbage"
	opts.DNSServer = silent.LocalAddr().String()
	r := runOne(t, tg, opts)
	if !r.OK || r.Exit == nil || r.Exit.IP != "" || !strings.Contains(r.Exit.Error, "no ip= line") {
		t.Errorf("garbage trace: ok %v exit %s", r.OK, jsonOf(r.Exit))
	}
	if r.UDP == nil || r.UDP.OK || r.UDP.RTTMs != nil || !strings.Contains(r.UDP.Error, "does not relay UDP") {
		t.Errorf("silent DNS server: %s", jsonOf(r.UDP))
	}

	opts.TraceURL = trace.URL + "/missing"
	opts.DNSServer = ""
	opts.UploadBytes, opts.UploadURL = 1000, up.URL+"/nope"
	r = runOne(t, tg, opts)
	if r.OK || r.Error == nil || !strings.HasPrefix(r.Error.Message, "upload: ") || !strings.Contains(r.Error.Message, "404") {
		t.Errorf("refused upload: %s", jsonOf(r))
	}
	if r.Exit == nil || !strings.Contains(r.Exit.Error, "answered 404") {
		t.Errorf("missing trace: %s", jsonOf(r.Exit))
	}
}

func TestParseTrace(t *testing.T) {
	for _, c := range []struct {
		body string
		want Exit
		err  bool
	}{
		{"fl=1\nip=203.0.113.7\nloc=nl\ncolo=ams\n", Exit{IP: "203.0.113.7", Country: "NL", Colo: "AMS"}, false},
		{"ip=2001:db8::1\r\nloc=US\r\n", Exit{IP: "2001:db8::1", Country: "US"}, false},
		{"ip=::ffff:192.0.2.1\n", Exit{IP: "192.0.2.1"}, false},
		{"ip=203.0.113.7\nloc=\x1b[31m\ncolo=toolongcolo\n", Exit{IP: "203.0.113.7"}, false},
		{"ip=not-an-ip\nloc=NL\n", Exit{}, true},
		{"<html>hello</html>", Exit{}, true},
		{"", Exit{}, true},
	} {
		e, err := parseTrace([]byte(c.body))
		if c.err != (err != nil) || (err == nil && *e != c.want) {
			t.Errorf("parseTrace(%q) = %+v, %v; want %+v", c.body, e, err, c.want)
		}
	}
}

func TestDNSAnswers(t *testing.T) {
	q, err := dnsQuery(0x1234, "www.example.com")
	if err != nil {
		t.Fatal(err)
	}
	reply := append([]byte(nil), q...)
	reply[2] |= 0x80 // QR
	if err := dnsAnswers(reply, 0x1234, "www.example.com"); err != nil {
		t.Errorf("our own answer: %v", err)
	}
	for name, r := range map[string][]byte{"the query itself": q, "short": q[:5], "other id": append([]byte{0x43, 0x21}, reply[2:]...)} {
		if dnsAnswers(r, 0x1234, "www.example.com") == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if dnsAnswers(reply, 0x1234, "other.example") == nil {
		t.Error("an answer to another name accepted")
	}
}

func TestExtrasOptions(t *testing.T) {
	for _, c := range []struct {
		opts   Options
		option string
	}{
		{Options{TraceURL: "ftp://x"}, "TraceURL"},
		{Options{DNSServer: "1.1.1.1"}, "DNSServer"},
		{Options{DNSServer: "1.1.1.1:0"}, "DNSServer"},
		{Options{UploadBytes: 1, UploadURL: "nope"}, "UploadURL"},
		{Options{UploadBytes: 11 << 30}, "UploadBytes"},
	} {
		var oe *OptionError
		if err := c.opts.Validate(); !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%+v: %v, want an OptionError about %s", c.opts, err, c.option)
		}
	}
	if n, err := UploadSize("10MB"); err != nil || n != 10e6 {
		t.Errorf("UploadSize(10MB) = %d, %v", n, err)
	}
	for _, s := range []string{"0", "-1", "11GiB", "lots"} {
		var oe *OptionError
		if _, err := UploadSize(s); !errors.As(err, &oe) || oe.Option != "UploadBytes" {
			t.Errorf("UploadSize(%q): %v", s, err)
		}
	}
}

// TestExtrasWithinBudget: the extra checks are connections to the server
// like any other, so they come out of its budget; one the budget does not
// allow is not run, and does not fail a server that passed.
func TestExtrasWithinBudget(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	relay := probetest.StartRelay(t, srv.Addr, 0)
	trace := traceServer(t)
	up, received := uploadServer(t)
	dns := vmesstest.StartDNS(t)
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Budget = 2 // the sample and the upload; nothing left for the trace and UDP
	opts.TraceURL = trace.URL + "/cdn-cgi/trace"
	opts.DNSServer = dns.Addr
	opts.UploadBytes, opts.UploadURL = 1000, up.URL+"/__up"
	r := runOne(t, spec{name: "x", host: relay.Host, port: relay.Port, id: srv.ID}.target(t), opts)
	if !r.OK || r.Upload == nil || r.Upload.NotMeasured != "" || received.Load() != 1000 {
		t.Fatalf("result %s, server read %d", jsonOf(r), received.Load())
	}
	if n := relay.Conns(); n != 2 {
		t.Errorf("the server saw %d connections, want 2 (its budget)", n)
	}
	wantNotMeasured(t, r, "exit", "udp")

	opts.Budget = 1 // the sample only: no upload, and still ok
	r = runOne(t, spec{name: "x", host: relay.Host, port: relay.Port, id: srv.ID}.target(t), opts)
	if !r.OK || received.Load() != 1000 {
		t.Fatalf("result %s, want ok without an upload", jsonOf(r))
	}
	wantNotMeasured(t, r, "upload", "exit", "udp")
}

// wantNotMeasured checks that each named extra check of r is marked not
// measured for the budget, alike in the result, its JSON and the table.
func wantNotMeasured(t *testing.T, r Result, checks ...string) {
	t.Helper()
	var js bytes.Buffer
	if err := WriteNDJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var parsed map[string]map[string]any
	json.Unmarshal(js.Bytes(), &parsed) // the non-object fields fail to fit; the checks' objects are read
	detail := Table([]Result{r})[0].Cells[len(TableColumns())-1]
	for _, c := range checks {
		var got NotMeasured
		switch c {
		case "exit":
			if r.Exit != nil {
				got = r.Exit.NotMeasured
			}
		case "udp":
			if r.UDP != nil {
				got = r.UDP.NotMeasured
			}
		case "upload":
			if r.Upload != nil {
				got = r.Upload.NotMeasured
			}
		}
		if got != NotMeasuredBudget {
			t.Errorf("%s: not measured %q, want %q: %s", c, got, NotMeasuredBudget, jsonOf(r))
		}
		if parsed[c]["not_measured"] != "budget" {
			t.Errorf("%s: JSON %s lacks not_measured: budget", c, js.Bytes())
		}
		if want := c + " not measured: the connection budget was spent"; !strings.Contains(detail, want) {
			t.Errorf("table detail %q lacks %q", detail, want)
		}
	}
}
