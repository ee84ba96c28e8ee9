package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestServeSubscriptionURL: xvm serve takes a subscription URL, fetched
// with --user-agent and --header like convert's, and probes its servers;
// the log names the URL with its token masked.
func TestServeSubscriptionURL(t *testing.T) {
	web := probeWeb(t)
	srv := vmesstest.StartServer(t, vmesstest.ServerOptions{})
	waitListen(t, srv.Addr)
	var lastReq atomic.Value
	lastReq.Store("")
	body := base64.StdEncoding.EncodeToString([]byte(v2rayNLink("from-sub", srv.Host, srv.Port, srv.ID, "tcp", nil)))
	prov := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastReq.Store(r.UserAgent() + "|" + r.Header.Get("X-Test"))
		fmt.Fprint(w, body)
	}))
	t.Cleanup(prov.Close)

	var out, errOut syncBuffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--watch", "0", "--url", web, "--interval", "1s",
			"--count", "1", "--timeout", "3s", "--skew-every", "0", "--log-format", "json",
			"--user-agent", "v2rayN/7.24.4", "--header", "X-Test: 1", prov.URL + "/sub/" + subToken}, ios)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down")
		}
	}()
	addr := serveListening(t, &errOut)
	waitUntil(t, "the subscription's server in /metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `xvm_probe_success{group="default",name="from-sub",server="`+srv.Addr+`",transport="raw"} 1`)
	})
	if got := lastReq.Load().(string); got != "v2rayN/7.24.4|1" {
		t.Errorf("request %q", got)
	}
	if strings.Contains(errOut.String(), subToken) {
		t.Errorf("the log shows the token:\n%s", errOut.String())
	}
}
