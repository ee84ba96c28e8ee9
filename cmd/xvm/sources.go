package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/net/http/httpproxy"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/convert/subscription"
	"github.com/xvmtools/xvm/probe/serve"
)

// sourceOptions are the flags of every verb that reads servers: how URL
// inputs are fetched and which servers are kept by name.
type sourceOptions struct {
	UserAgent    string
	Headers      []string
	FetchTimeout time.Duration
	Include      string
	Exclude      string

	include, exclude *regexp.Regexp
	header           http.Header
}

func addSourceFlags(f *pflag.FlagSet, o *sourceOptions) {
	addFetchFlags(f, o)
	f.StringVar(&o.Include, "include", "", "keep only servers whose name matches this regular expression (RE2; (?i) ignores case)")
	f.StringVar(&o.Exclude, "exclude", "", "leave out servers whose name matches this regular expression")
}

// addFetchFlags adds the flags of fetching subscription URLs only (serve
// has no name filters).
func addFetchFlags(f *pflag.FlagSet, o *sourceOptions) {
	f.StringVar(&o.UserAgent, "user-agent", subscription.DefaultUserAgent, "User-Agent of subscription requests (providers choose the format by it)")
	f.StringArrayVar(&o.Headers, "header", nil, "extra header of subscription requests, 'Name: value' (repeatable)")
	f.DurationVar(&o.FetchTimeout, "fetch-timeout", subscription.DefaultTimeout, "time limit of fetching one subscription URL, redirects and body included")
}

// check validates the flags and compiles what they hold.
func (o *sourceOptions) check(verb string) error {
	var err error
	if o.Include != "" {
		if o.include, err = regexp.Compile(o.Include); err != nil {
			return usageErrorf("%s: --include %q: %s", verb, o.Include, regexpProblem(err))
		}
	}
	if o.Exclude != "" {
		if o.exclude, err = regexp.Compile(o.Exclude); err != nil {
			return usageErrorf("%s: --exclude %q: %s", verb, o.Exclude, regexpProblem(err))
		}
	}
	if o.FetchTimeout <= 0 {
		return usageErrorf("%s: --fetch-timeout must be positive, such as 30s", verb)
	}
	if strings.ContainsAny(o.UserAgent, "\r\n") {
		return usageErrorf("%s: --user-agent must be one line", verb)
	}
	o.header = http.Header{}
	for _, h := range o.Headers {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !validHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return usageErrorf("%s: --header %q: want 'Name: value', such as 'Authorization: Bearer …'", verb, headerShown(h))
		}
		o.header.Add(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	return nil
}

// headerShown is a --header value as an error may show it: what precedes
// the first space or colon, since the rest may be a credential written
// without its colon ("Authorization Bearer …").
func headerShown(h string) string {
	if i := strings.IndexAny(h, " \t:"); i >= 0 {
		return h[:i] + "…"
	}
	return h
}

// regexpProblem words a regexp compile error without regexp's "error
// parsing regexp" prefix: what is wrong and where.
func regexpProblem(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: `%s`", se.Code, se.Expr)
	}
	return err.Error()
}

// validHeaderName reports an RFC 9110 field name (a token).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// fetchOptions are the subscription fetch options for a verb's run. The
// error is a usage error for a malformed proxy variable, which matters
// only when a URL is fetched.
func (o *sourceOptions) fetchOptions(a *app, maxBytes int64, showSecrets bool) (subscription.Options, error) {
	proxy, err := proxyFromEnv(a.IO.getenv)
	return subscription.Options{
		UserAgent:   o.UserAgent,
		Header:      o.header,
		Timeout:     o.FetchTimeout,
		MaxBytes:    maxBytes,
		Proxy:       proxy,
		ShowSecrets: showSecrets,
	}, err
}

// serveFetch is serve's FetchFunc: a subscription URL's body, fetched as
// convert and probe fetch it, at most max bytes. It fails for a malformed
// proxy variable: serve fetches for as long as it runs.
func (o *sourceOptions) serveFetch(a *app, showSecrets bool) (serve.FetchFunc, error) {
	if _, err := o.fetchOptions(a, 0, showSecrets); err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("serve: %w", err)}
	}
	return func(ctx context.Context, url string, max int64) ([]byte, error) {
		fo, _ := o.fetchOptions(a, max, showSecrets)
		src, err := subscription.Fetch(ctx, url, fo)
		if err != nil {
			return nil, err
		}
		return src.Body, nil
	}, nil
}

// proxyFromEnv is the proxy choice of curl and Go: HTTPS_PROXY for https
// URLs, HTTP_PROXY for http (upper or lower case), NO_PROXY's hosts
// direct; loopback is never proxied. It is read here because only cmd/xvm
// reads the environment. A value that is not a proxy URL is an error
// naming the variable (x/net's httpproxy, which does the choosing, would
// drop it and connect directly).
func proxyFromEnv(getenv func(string) string) (func(*http.Request) (*url.URL, error), error) {
	either := func(k string) (string, string) {
		if v := getenv(k); v != "" {
			return k, v
		}
		return strings.ToLower(k), getenv(strings.ToLower(k))
	}
	var cfg httpproxy.Config
	for _, p := range []struct {
		key string
		to  *string
	}{{"HTTP_PROXY", &cfg.HTTPProxy}, {"HTTPS_PROXY", &cfg.HTTPSProxy}} {
		name, v := either(p.key)
		if v == "" {
			continue
		}
		if err := checkProxyURL(v); err != nil {
			return nil, fmt.Errorf("%s=%q: %v; fix or unset it", name, maskProxyPassword(v), err)
		}
		*p.to = v
	}
	_, cfg.NoProxy = either("NO_PROXY")
	if cfg.HTTPProxy == "" && cfg.HTTPSProxy == "" {
		return nil, nil
	}
	choose := cfg.ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return choose(r.URL) }, nil
}

// checkProxyURL accepts a proxy URL with a host and a scheme net/http
// can use, or host:port (http:// is added, as x/net's httpproxy does).
// httpproxy's own fallback of adding http:// to anything that does not
// parse would read "http://u:p@[::1" as the host "http:", so a value with
// a scheme must parse as it is.
func checkProxyURL(v string) error {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return errors.New("not a proxy URL such as http://proxy.example:3128")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "socks5", "socks5h":
		return nil
	}
	return fmt.Errorf("proxy scheme %q: want http, https, socks5 or socks5h", u.Scheme)
}

// maskProxyPassword hides the password of a proxy URL's user:password@,
// whether or not the rest parses.
func maskProxyPassword(v string) string {
	rest, scheme := v, ""
	if i := strings.Index(v, "://"); i >= 0 {
		scheme, rest = v[:i+3], v[i+3:]
	}
	at := strings.LastIndex(rest, "@")
	if end := strings.IndexAny(rest, "/?#"); end >= 0 && end < at {
		at = strings.LastIndex(rest[:end], "@")
	}
	if at < 0 {
		return v
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return v
	}
	return scheme + user + ":…" + rest[at:]
}

// filterNodes applies --include and --exclude. It returns the kept nodes
// and how many were left out.
func (o *sourceOptions) filterNodes(nodes []*convert.Node) ([]*convert.Node, int) {
	return convert.Filter(nodes, o.include, o.exclude)
}

// filterNote says how many servers --include/--exclude left out; "" when
// none.
func (o *sourceOptions) filterNote(left, of int) string {
	if left == 0 {
		return ""
	}
	var by []string
	if o.include != nil {
		by = append(by, fmt.Sprintf("--include %q", o.Include))
	}
	if o.exclude != nil {
		by = append(by, fmt.Sprintf("--exclude %q", o.Exclude))
	}
	return fmt.Sprintf("%d of %d servers left out by %s", left, of, strings.Join(by, " and "))
}

// inputReader reads the INPUT/TARGET arguments of a verb: files, '-',
// inline share links and subscription URLs. It keeps the subscriptions it
// fetched, for their provider notes.
type inputReader struct {
	a     *app
	verb  string
	max   int64
	fetch subscription.Options
	// fetchErr is fetchOptions' error, reported at the first URL.
	fetchErr  error
	usedStdin bool
	sources   []*subscription.Source
}

// newInputReader reads a verb's inputs with its source options.
func newInputReader(a *app, verb string, maxInput int64, o *sourceOptions, showSecrets bool) *inputReader {
	fo, err := o.fetchOptions(a, maxInput, showSecrets)
	return &inputReader{a: a, verb: verb, max: maxInput, fetch: fo, fetchErr: err}
}

// read reads argument i. A URL is fetched; its name is the provider's
// title, else the URL masked.
func (r *inputReader) read(ctx context.Context, arg string, i int) (string, []byte, error) {
	if !subscription.IsURL(arg) {
		return readInput(r.a, r.verb, arg, i, r.max, &r.usedStdin)
	}
	if r.fetchErr != nil {
		return "", nil, fmt.Errorf("%s: %w", r.verb, r.fetchErr)
	}
	src, err := subscription.Fetch(ctx, strings.TrimSpace(arg), r.fetch)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w%s", r.verb, err, fetchHint(err))
	}
	r.sources = append(r.sources, src)
	return src.Name(), src.Body, nil
}

// fetchHint names the flag that helps with a failed fetch.
func fetchHint(err error) string {
	var fe *subscription.Error
	if !errors.As(err, &fe) {
		return ""
	}
	switch fe.Kind {
	case subscription.KindTimeout:
		return " (--fetch-timeout)"
	case subscription.KindTooLarge:
		return " (--max-input-size)"
	case subscription.KindStatus:
		if fe.Status == http.StatusNotAcceptable || fe.Status == http.StatusForbidden {
			return "; some providers answer only known clients: try --user-agent"
		}
	case subscription.KindWebPage:
		return " (--user-agent)"
	}
	return ""
}

// sourceNotes are the provider's notes about the subscriptions read:
// usage and expiry as an Info, or a Warning when the subscription has
// expired or its data is used up — which makes a provider's servers
// reject every user (auth_rejected) — and a Warning for a
// subscription-userinfo header that could not be read.
func sourceNotes(sources []*subscription.Source, now time.Time) []convert.Diagnostic {
	var out []convert.Diagnostic
	for _, s := range sources {
		d := convert.Diagnostic{Severity: convert.Info, Input: s.Name()}
		switch {
		case s.Usage != nil:
			d.Message = "subscription: " + s.Usage.Summary(now)
			var why []string
			if s.Usage.Expired(now) {
				why = append(why, "has expired")
			}
			if s.Usage.UsedUp() {
				why = append(why, "has used up its data")
			}
			if len(why) > 0 {
				d.Severity = convert.Warning
				d.Message += fmt.Sprintf(" — the subscription %s, so its servers will likely reject us (auth_rejected)", strings.Join(why, " and "))
			}
		case s.UsageErr != nil:
			d.Severity = convert.Warning
			d.Message = "subscription-userinfo header not understood"
			var ue *subscription.UsageError
			if errors.As(s.UsageErr, &ue) {
				d.Message += ": it " + ue.Reason
			}
		default:
			continue
		}
		if s.Title != "" {
			d.Message = fmt.Sprintf("%s (%s)", d.Message, s.Display())
		}
		out = append(out, d)
	}
	return out
}

// selectNodes applies --include/--exclude and, with dedupe, leaves out
// repeated servers, printing a note for each. It fails when no server is
// left.
func selectNodes(pr diagPrinter, o *sourceOptions, nodes []*convert.Node, dedupe bool) ([]*convert.Node, error) {
	all := len(nodes)
	nodes, left := o.filterNodes(nodes)
	if note := o.filterNote(left, all); note != "" {
		pr.print([]convert.Diagnostic{{Severity: convert.Info, Message: note}})
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("none of the %d servers is left after --include/--exclude", all)
	}
	if dedupe {
		var notes []convert.Diagnostic
		nodes, notes = convert.Dedupe(nodes)
		pr.print(notes)
	}
	return nodes, nil
}
