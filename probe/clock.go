package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/xvmtools/xvm/vmess/transport"
)

// LocalClockTolerance is how far our clock may be from the run's reference
// before a rejection's diagnosis says so first: well inside VMess's ±120 s
// window, and far beyond what a Date header's one-second resolution and a
// round trip blur.
const LocalClockTolerance = 30 * time.Second

// clockSpan bounds another clock against ours: it is offset ± uncertainty
// seconds ahead of ours.
type clockSpan struct {
	offset, uncertainty float64
}

// clockFromDate reads another clock from a Date header: the peer stamped
// date (its clock truncated to the second) at some moment between sent and
// received on our clock.
func clockFromDate(date, sent, received time.Time) *clockSpan {
	lo := date.Sub(received).Seconds()              // stamped at the last moment, at the start of its second
	hi := date.Add(time.Second).Sub(sent).Seconds() // stamped at the first moment, at the end of its second
	return &clockSpan{offset: round2((lo + hi) / 2), uncertainty: round2((hi - lo) / 2)}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// localClock is the run's one check of our own clock against a reference:
// the Date of the first response fetched through a working server, or,
// when no server has worked by the time a rejection needs it, one direct
// request to Options.ClockReference.
type localClock struct {
	mu      sync.Mutex
	reading *ClockReading
	direct  chan struct{} // closed when the direct request is done; nil before it starts
}

// note keeps the first reference reading of the run; it reports whether
// this was it.
func (lc *localClock) note(span *clockSpan, reference, through string) bool {
	if span == nil {
		return false
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.reading != nil {
		return false
	}
	lc.reading = &ClockReading{OffsetS: span.offset, UncertaintyS: span.uncertainty, Reference: reference, Through: through}
	return true
}

// known reports whether the run has a reading of our clock.
func (lc *localClock) known() bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.reading != nil
}

// check returns the reading of our clock, making the direct request once
// per run when there is none yet; nil when there is no reference.
func (p *prober) checkClock(ctx context.Context) *ClockReading {
	lc := &p.clock
	lc.mu.Lock()
	if lc.reading != nil || p.reference == nil {
		defer lc.mu.Unlock()
		return lc.reading
	}
	wait := lc.direct
	if wait == nil {
		lc.direct = make(chan struct{})
		wait = lc.direct
		lc.mu.Unlock()
		span := p.fetchReference(ctx)
		lc.note(span, p.reference.Hostname(), "")
		close(wait)
	} else {
		lc.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil
		}
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.reading
}

// fetchReference reads the Date of a direct request to the reference URL;
// nil when it fails or has none.
func (p *prober) fetchReference(ctx context.Context) *clockSpan {
	var d transport.ContextDialer = p.opts.NetDialer
	if d == nil {
		d = &net.Dialer{Resolver: p.opts.Resolver}
	}
	tr := &http.Transport{
		DialContext:     d.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: p.opts.URLRootCAs},
		Proxy:           nil,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.reference.String(), nil)
	if err != nil {
		return nil
	}
	req.Header.Set("User-Agent", "xvm-probe")
	sent := p.opts.Now()
	start := time.Now()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil
	}
	received := sent.Add(time.Since(start))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || fromCache(resp.Header) {
		return nil
	}
	return clockFromDate(date, sent, received)
}

// fromCache reports a response a cache may have served: its Date is when
// the origin made it, which may be long ago (RFC 9110 §6.6.1, RFC 9111
// §4.2.3), so it says nothing about the clock now. An Age header is what
// a cache must add (RFC 9111 §5.1); caches that do not add one say "HIT"
// in a header of their own (Squid's and Varnish's X-Cache, nginx's
// X-Cache-Status, Cloudflare's CF-Cache-Status, Fastly's X-Served-By
// beside X-Cache).
func fromCache(h http.Header) bool {
	if h.Get("Age") != "" {
		return true
	}
	for _, k := range []string{"X-Cache", "X-Cache-Status", "Cf-Cache-Status", "X-Proxy-Cache", "X-Cache-Lookup"} {
		if strings.Contains(strings.ToUpper(h.Get(k)), "HIT") {
			return true
		}
	}
	return false
}

// serverDate reads the clock of the web server behind an HTTP-based
// transport: one plain HTTP/1.1 GET for the transport's path over the
// entry's TCP (and TLS) connection, whose answer — an error page, an
// upgrade refusal — carries a Date header. Xray's WebSocket and XHTTP
// servers answer it themselves; its HTTPUpgrade and gRPC servers answer
// nothing, so for those it is asked only over TLS, where a front that
// answers is plausible. nil when the transport is not HTTP-based or the
// answer has no Date; made says whether a connection was made (it counts
// against the budget).
func (p *prober) serverDate(ctx context.Context, e *entry, sl *slot) (_ *DateReading, made bool) {
	nw, ok := networks[e.t.network()]
	if !ok || nw.httpTarget == nil || nw.dateFromFront && !e.t.tls() {
		return nil, false
	}
	path, host := nw.httpTarget(&e.t.Stream)
	cfg := e.t.Stream
	cfg.Network, cfg.Raw = "raw", transport.RawConfig{}
	if e.t.tls() {
		// Xray's RAW dialer offers exactly http/1.1 when that is the whole
		// list, so the server answers HTTP/1.1.
		cfg.TLS.ALPN = []string{"http/1.1"}
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	conn, done, err := p.connect(ctx, e, sl, cfg, nil)
	if err != nil {
		return nil, !errors.Is(err, errBudget)
	}
	defer done()
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	u := &url.URL{Scheme: "http", Host: host, Path: path}
	sent, start := p.opts.Now(), time.Now()
	if _, err := conn.Write(httpRequest(u, 0)); err != nil {
		return nil, true
	}
	resp, _, err := readResponse(conn)
	if err != nil || resp.date.IsZero() {
		return nil, true
	}
	span := clockFromDate(resp.date, sent, sent.Add(time.Since(start)))
	return &DateReading{OffsetS: span.offset, UncertaintyS: span.uncertainty, Front: frontOf(resp.header)}, true
}

// frontOf names the first header that shows a CDN or proxy answered rather
// than the VMess server itself (Xray's own HTTP answers carry no Server
// header), or "".
func frontOf(h http.Header) string {
	for _, k := range []string{"Server", "Via", "Cf-Ray", "X-Cache", "X-Served-By", "X-Amz-Cf-Id", "X-Azure-Ref", "X-Powered-By"} {
		if v := h.Get(k); v != "" {
			return k + ": " + printable(v, 40)
		}
	}
	return ""
}

// printable is s cut to at most n bytes with everything but printable
// ASCII replaced, for text a server chose that goes into messages.
func printable(s string, n int) string {
	b := []byte(s)
	if len(b) > n {
		b = b[:n]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
