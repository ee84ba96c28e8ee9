// Package subscription fetches subscriptions by URL: an http or https GET
// with a client's User-Agent (providers choose the format by it), gzip,
// a bounded number of redirects, a size cap and a deadline, and the
// provider's headers read: subscription-userinfo (Usage) and the
// subscription's name (Title). Errors name the URL with its tokens masked
// (MaskURL).
//
// It sits under convert because what it returns is convert's input: the
// body goes to convert.Parse like a file's content. It reads no
// environment: the caller passes the proxy function (xvm's command layer
// builds it from HTTP_PROXY, HTTPS_PROXY and NO_PROXY).
package subscription

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/schema/safetext"
)

// DefaultUserAgent is the User-Agent of mihomo (Clash Meta), the client
// panels serve their fullest Clash-format profile to: Marzban and
// Remnawave match "clash.meta" (and clash-verge, mihomo, FlClash),
// V2Board/Xboard pick their ClashMeta output for the "meta" in it. The
// response carries subscription-userinfo, which panels always send to
// Clash clients. A panel that ignores the User-Agent (3x-ui) sends its
// base64 link list, which convert reads as well.
const DefaultUserAgent = "clash.meta/1.19.0"

// DefaultTimeout bounds one fetch, redirects included, when
// Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// DefaultMaxBytes caps the body (after gzip is undone) when
// Options.MaxBytes is 0; it equals convert's input cap.
const DefaultMaxBytes = convert.DefaultMaxInputBytes

// MaxRedirects is how many redirects a fetch follows.
const MaxRedirects = 5

// maxHeaderBytes bounds the response headers.
const maxHeaderBytes = 64 << 10

// Options tune Fetch. The zero value fetches with DefaultUserAgent, no
// proxy, the system's roots, DefaultTimeout and DefaultMaxBytes.
type Options struct {
	// UserAgent replaces DefaultUserAgent when set.
	UserAgent string
	// Header holds extra request headers; they override UserAgent and the
	// defaults (Accept). A "Host" entry sets the request's Host.
	Header http.Header
	// Timeout bounds the whole fetch: connect, TLS, redirects, body.
	Timeout time.Duration
	// MaxBytes caps the body after decompression.
	MaxBytes int64
	// Proxy chooses a proxy per request, as http.Transport.Proxy does;
	// nil means direct.
	Proxy func(*http.Request) (*url.URL, error)
	// RootCAs are the roots trusted for https; nil means the system's.
	RootCAs *x509.CertPool
	// Resolver, when set, resolves host names instead of the system's
	// resolver (tests point it at a loopback DNS server).
	Resolver *net.Resolver
	// ShowSecrets names URLs in errors unmasked.
	ShowSecrets bool
}

// Source is one fetched subscription.
type Source struct {
	// URL is the URL as given. It holds secrets: print it through
	// Display.
	URL string
	// Title is the provider's name for the subscription (see Title); ""
	// when it gave none.
	Title string
	// Usage is the provider's subscription-userinfo; nil when the header
	// was absent. UsageErr says why a header that was present could not
	// be read.
	Usage    *Usage
	UsageErr error
	// Body is the response body, gzip undone.
	Body []byte
	// ContentType is the response's Content-Type.
	ContentType string

	showSecrets bool
}

// Display is the source's URL for messages: masked (MaskURL) unless the
// fetch was told to show secrets.
func (s *Source) Display() string {
	if s.showSecrets {
		return s.URL
	}
	return MaskURL(s.URL)
}

// Name is what messages call the source: its title when the provider gave
// one, else its URL as Display shows it.
func (s *Source) Name() string {
	if s.Title != "" {
		return s.Title
	}
	return s.Display()
}

// IsURL reports whether arg is an http or https URL (what Fetch takes),
// as opposed to a file name or a share link.
func IsURL(arg string) bool {
	l := strings.ToLower(strings.TrimSpace(arg))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// Fetch GETs a subscription. Any failure is an *Error, whose Kind says
// what went wrong; a 2xx answer that is a web page is one (KindWebPage),
// an empty body is not (convert.Parse reports it).
func Fetch(ctx context.Context, rawURL string, opts Options) (*Source, error) {
	display := rawURL
	// hidden holds the secrets of every URL the fetch visits, to hide
	// them wherever an error repeats one; nil shows them.
	var hidden *safetext.Masker
	if !opts.ShowSecrets {
		display = MaskURL(rawURL)
		hidden = &safetext.Masker{}
		addURLSecrets(hidden, rawURL)
	}
	fail := func(kind Kind, err error) *Error { return &Error{Kind: kind, URL: display, Err: err, hidden: hidden} }

	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fail(KindURL, errors.New("not an http or https URL with a host"))
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	tr := &http.Transport{
		Proxy:                  opts.Proxy,
		DialContext:            (&net.Dialer{Resolver: opts.Resolver}).DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: opts.RootCAs},
		ForceAttemptHTTP2:      true,
		DisableCompression:     true, // gzip is undone below, under the cap
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: redirectGuard{tr},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// Before anything is sent to it, the target's secrets join
			// those that errors hide.
			if hidden != nil {
				addURLSecrets(hidden, req.URL.String())
				addHostSecrets(hidden, req.URL.Hostname())
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &RedirectError{Target: req.URL.String(), NotHTTP: true}
			}
			if len(via) > MaxRedirects {
				return errTooManyRedirects
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fail(KindURL, err)
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	// Not text/html: panels answer browsers with a web page.
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Accept-Encoding", "gzip")
	for k, vs := range opts.Header {
		if strings.EqualFold(k, "Host") {
			if len(vs) > 0 {
				req.Host = vs[len(vs)-1]
			}
			continue
		}
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}

	resp, err := client.Do(req)
	if err != nil {
		kind, cause := classify(ctx, err)
		e := fail(kind, cause)
		var re *RedirectError
		if errors.As(cause, &re) {
			e.Target = re.Target
			if !opts.ShowSecrets {
				e.Target = MaskURL(re.Target)
			}
		}
		return nil, e
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := fail(KindStatus, nil)
		e.Status, e.StatusText = resp.StatusCode, http.StatusText(resp.StatusCode)
		e.Said = e.hide(errorText(resp.Body))
		return nil, e
	}
	if resp.ContentLength > limit && !isGzip(resp) {
		e := fail(KindTooLarge, nil)
		e.Limit, e.Size = limit, resp.ContentLength
		return nil, e
	}
	body, err := readBody(resp, limit)
	if err != nil {
		var tl *tooLarge
		if errors.As(err, &tl) {
			e := fail(KindTooLarge, nil)
			e.Limit = limit
			return nil, e
		}
		kind, cause := classify(ctx, err)
		if kind == KindNetwork {
			kind = KindBody
		}
		return nil, fail(kind, cause)
	}
	if isWebPage(resp.Header.Get("Content-Type"), body) {
		return nil, fail(KindWebPage, nil)
	}
	src := &Source{
		URL:         rawURL,
		Title:       Title(resp.Header),
		Body:        body,
		ContentType: resp.Header.Get("Content-Type"),
		showSecrets: opts.ShowSecrets,
	}
	if h := resp.Header.Get("Subscription-Userinfo"); h != "" {
		if us, err := ParseUsage(h); err == nil {
			src.Usage = &us
		} else {
			src.UsageErr = err
		}
	}
	return src, nil
}

var errTooManyRedirects = fmt.Errorf("more than %d redirects", MaxRedirects)

// errBadHeader stands for textproto's error about a malformed header
// line, which quotes the line: a Location header carries the token.
var errBadHeader = errors.New("the answer has a malformed header line")

// RedirectError is a redirect a fetch did not follow: to a URL that does
// not parse (Malformed) or that is not http or https (NotHTTP). Target is
// the Location as the server sent it, secrets and all.
type RedirectError struct {
	Target             string
	Malformed, NotHTTP bool
}

func (e *RedirectError) Error() string {
	if e.Malformed {
		return "redirected to a URL that does not parse"
	}
	return "redirected to a non-http URL"
}

// redirectGuard refuses a redirect whose Location does not parse, with a
// RedirectError, before net/http's client reports it in words that quote
// the Location (and the token in it).
type redirectGuard struct{ next http.RoundTripper }

func (g redirectGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// The statuses net/http follows.
	default:
		return resp, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return resp, nil
	}
	if _, err := req.URL.Parse(loc); err != nil {
		resp.Body.Close()
		return nil, &RedirectError{Target: loc, Malformed: true}
	}
	return resp, nil
}

type tooLarge struct{}

func (*tooLarge) Error() string { return "body over the limit" }

func isGzip(resp *http.Response) bool {
	return strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip")
}

// preGrow bounds what readBody sets aside for an announced length before
// the body arrives.
const preGrow = 1 << 20

// readBody reads the body, undoing gzip when the response says so or the
// body starts with gzip's magic bytes (a .gz file served as is), and
// fails once more than limit bytes came out. Memory grows with what
// arrives: of what a header announces, at most preGrow is set aside.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	var r io.Reader = resp.Body
	br := newPeekReader(resp.Body)
	r = br
	if isGzip(resp) || br.startsWith(0x1f, 0x8b) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= limit && !isGzip(resp) {
		// Room for the body, as announced, and for ReadFrom's last read,
		// which would otherwise grow (copy) the whole buffer to find the
		// end; but no more than preGrow: a server may announce the cap
		// and send one byte, and memory must grow with what arrives.
		buf.Grow(int(min(n, preGrow)) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, &tooLarge{}
	}
	return buf.Bytes(), nil
}

// peekReader lets readBody look at the first two bytes without losing
// them.
type peekReader struct {
	r    io.Reader
	head []byte
}

func newPeekReader(r io.Reader) *peekReader {
	p := &peekReader{r: r}
	var b [2]byte
	n, _ := io.ReadFull(r, b[:])
	p.head = b[:n]
	return p
}

func (p *peekReader) startsWith(a, b byte) bool {
	return len(p.head) == 2 && p.head[0] == a && p.head[1] == b
}

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// isWebPage reports a body that is an HTML page: one that starts with
// <!doctype or <html, or any body that starts with a tag under a text/html
// Content-Type. No subscription format starts with "<"; a text/html type
// alone says nothing (PHP panels send their lists with PHP's default).
func isWebPage(contentType string, body []byte) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(b) == 0 || b[0] != '<' {
		return false
	}
	head := strings.ToLower(string(b[:min(len(b), 9)]))
	if strings.HasPrefix(head, "<!doctype") || strings.HasPrefix(head, "<html") {
		return true
	}
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/html")
}

// errorText is the body of an error response when it is one short line of
// text or JSON, not a web page; "" otherwise.
func errorText(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 257))
	t := strings.TrimSpace(string(b))
	if len(b) > 256 || t == "" || strings.ContainsAny(t, "<\n") {
		return ""
	}
	return cleanTitle(t)
}

// classify turns a client error into a Kind and the cause without the
// URL (net/http's *url.Error repeats the URL, token and all).
func classify(ctx context.Context, err error) (Kind, error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		netErr   net.Error
	)
	var (
		redirErr *RedirectError
		protoErr textproto.ProtocolError
	)
	switch {
	case errors.Is(err, errTooManyRedirects), errors.As(err, &redirErr):
		return KindRedirects, err
	case errors.As(err, &protoErr):
		return KindNetwork, errBadHeader
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return KindTimeout, err
	case errors.Is(err, context.Canceled):
		return KindCanceled, err
	case errors.As(err, &dnsErr):
		return KindDNS, err
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.As(err, &recErr), errors.As(err, &alertErr):
		return KindTLS, err
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused, err
	case errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout, err
	}
	return KindNetwork, err
}

// Kind says why a fetch failed.
type Kind string

// The ways a fetch fails.
const (
	KindURL       Kind = "url"       // not an http(s) URL with a host
	KindDNS       Kind = "dns"       // the host name did not resolve
	KindRefused   Kind = "refused"   // nothing listens on the port
	KindTLS       Kind = "tls"       // the TLS handshake or certificate failed
	KindTimeout   Kind = "timeout"   // the fetch took longer than its timeout
	KindCanceled  Kind = "canceled"  // the caller gave up (Ctrl-C)
	KindRedirects Kind = "redirects" // more than MaxRedirects redirects, or one to a bad URL
	KindStatus    Kind = "status"    // the server answered outside 2xx
	KindTooLarge  Kind = "too_large" // the body is over the cap
	KindBody      Kind = "body"      // the body could not be read (or un-gzipped)
	KindWebPage   Kind = "web_page"  // the answer is an HTML page, not a subscription
	KindNetwork   Kind = "network"   // any other connection failure
)

// Error is a failed fetch. URL is masked unless Options.ShowSecrets.
type Error struct {
	Kind Kind
	URL  string
	// Status and StatusText are the HTTP status of a KindStatus error.
	Status     int
	StatusText string
	// Said is what the server's error body said, when it was a short line
	// of text (panels answer {"message":"Account unavailable"} and the
	// like); "" otherwise. It is cleaned for printing.
	Said string
	// Limit is the cap of a KindTooLarge error, and Size the announced
	// size when the server gave one (0 when it did not).
	Limit, Size int64
	// Target is where a KindRedirects error was sent (a *RedirectError's
	// target), masked like URL.
	Target string
	// Err is the cause, when there is one. Its text may repeat a URL of
	// the fetch; Error hides the secrets in it.
	Err error

	// hidden holds the secrets of the URLs the fetch visited; nil when
	// secrets are shown.
	hidden *safetext.Masker
}

// hide masks the fetch's secrets in text meant for messages.
func (e *Error) hide(text string) string {
	if e.hidden == nil {
		return text
	}
	return e.hidden.Mask(text)
}

func (e *Error) Unwrap() error { return e.Err }

// Error words the failure with what to try next. It names the limit as a
// number, not as a flag: the flag is the caller's business.
func (e *Error) Error() string {
	var what string
	switch e.Kind {
	case KindURL:
		what = fmt.Sprintf("%v; want http:// or https://", e.Err)
	case KindDNS:
		what = fmt.Sprintf("the host name did not resolve (%v); check the URL and your DNS", e.Err)
	case KindRefused:
		what = "connection refused; check the host and port, or whether the provider is down"
	case KindTLS:
		what = fmt.Sprintf("TLS failed (%v); check the URL's host name, the system clock, or an intercepting proxy", e.Err)
	case KindTimeout:
		what = "no complete answer in time; the provider is slow or unreachable — retry, or allow longer"
	case KindCanceled:
		what = "canceled"
	case KindRedirects:
		var re *RedirectError
		switch {
		case errors.As(e.Err, &re) && re.Malformed:
			what = fmt.Sprintf("redirected to a URL that does not parse (%s); the provider's redirect is broken — ask the provider for the current URL", e.Target)
		case errors.As(e.Err, &re):
			what = fmt.Sprintf("redirected to a non-http URL (%s), which is not fetched", e.Target)
		default:
			what = fmt.Sprintf("more than %d redirects; the provider's URL loops", MaxRedirects)
		}
	case KindStatus:
		what = fmt.Sprintf("HTTP %d %s", e.Status, e.StatusText)
		if e.Said != "" {
			what += fmt.Sprintf(" (the server said %q)", e.Said)
		}
		switch {
		case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
			what += "; the token was refused or the account is disabled — copy the URL again from the provider"
		case e.Status == http.StatusNotFound || e.Status == http.StatusGone:
			what += "; the subscription does not exist (a reset token?) — copy the URL again from the provider"
		case e.Status == http.StatusTooManyRequests:
			what += "; the provider limits how often it may be fetched — wait and retry"
		case e.Status >= 500:
			what += "; the provider's server failed — retry later"
		}
	case KindTooLarge:
		if e.Size > 0 {
			what = fmt.Sprintf("the body is %d bytes, over the %d-byte limit; raise the limit if this is really a subscription", e.Size, e.Limit)
		} else {
			what = fmt.Sprintf("the body is over the %d-byte limit; raise the limit if this is really a subscription", e.Limit)
		}
	case KindBody:
		what = fmt.Sprintf("reading the body failed: %v", e.Err)
	case KindWebPage:
		what = "the provider answered with a web page, not a subscription: a bot check or a login page, or the panel's own site — open the URL in a browser to see it; some providers answer only known clients"
	default:
		what = fmt.Sprintf("%v", e.Err)
	}
	return "subscription: " + e.URL + ": " + e.hide(what)
}
