package transport

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// XHTTPConfig is the client side of Xray's xhttpSettings (alias
// splithttpSettings). Zero fields take Xray's defaults.
type XHTTPConfig struct {
	// Host is the Host header (HTTP/2 :authority); empty means
	// TLS.ServerName, then Address.
	Host string
	// Path is the request path; Xray makes it begin and end with "/". A
	// "?query" part is sent with every request.
	Path string
	// Mode is "auto" (or ""), "packet-up", "stream-up" or "stream-one".
	// auto is packet-up, which is what Xray's client picks without
	// REALITY.
	Mode string
	// Headers are extra request headers; a Host key is refused, as by
	// Xray.
	Headers map[string]string
	// XPaddingBytes is the length range of the x_padding carried in each
	// request's Referer header; zero means 100-1000.
	XPaddingBytes Range
	// NoGRPCHeader leaves "Content-Type: application/grpc" off the
	// streaming upload (stream-up, stream-one).
	NoGRPCHeader bool
	// ScMaxEachPostBytes bounds the body of each packet-up POST; zero
	// means 1000000.
	ScMaxEachPostBytes Range
	// ScMinPostsIntervalMs is the least time between the starts of two
	// packet-up POSTs; zero means 30.
	ScMinPostsIntervalMs Range
	// Xmux holds the connection-reuse limits; the zero value means
	// Xray's defaults.
	Xmux XmuxConfig
	// Extra is the "extra" JSON object. When it is present it replaces
	// every other field but Host, Path and Mode, as Xray's loader does
	// (a field set both outside and inside extra takes extra's value; one
	// set only outside is dropped).
	Extra json.RawMessage
	// H2C speaks HTTP/2 with prior knowledge when there is no TLS,
	// instead of HTTP/1.1. Xray's client never does this; Xray's server
	// and h2c reverse proxies in front of it accept it.
	H2C bool
}

// XmuxConfig is xhttpSettings.xmux. Dial opens fresh connections for
// every session, so the limits that act across sessions
// (MaxConcurrency, MaxConnections, CMaxReuseTimes) have nothing to act
// on; HMaxRequestTimes and HMaxReusableSecs move a long session's uploads
// to a new connection, as in Xray.
type XmuxConfig struct {
	// MaxConcurrency and MaxConnections bound the sessions sharing a
	// connection and the connections open at once (Xray refuses both
	// together); CMaxReuseTimes bounds how many sessions a connection
	// carries in its life.
	MaxConcurrency Range
	MaxConnections Range
	CMaxReuseTimes Range
	// HMaxRequestTimes bounds the requests a connection carries (Xray's
	// default 600-900); HMaxReusableSecs its age in seconds for new
	// requests (1800-3000).
	HMaxRequestTimes Range
	HMaxReusableSecs Range
	// HKeepAlivePeriod is the HTTP/2 health-check ping period in
	// seconds; 0 means 45 (Chrome's), negative means none.
	HKeepAlivePeriod int64
}

// Range is Xray's Int32Range: a value drawn from From to To (From when
// they are equal). In JSON it is a number or a string "from-to".
type Range struct {
	From, To int32
}

// isZero reports the unset range.
func (r Range) isZero() bool { return r == Range{} }

// draw picks a value as Xray's RangeConfig.rand does: From when the ends
// are equal, else uniformly in [From, To).
func (r Range) draw() int32 {
	from, to := int64(r.From), int64(r.To)
	if from == to {
		return r.From
	}
	if from > to {
		from, to = to, from
	}
	n, err := rand.Int(rand.Reader, big.NewInt(to-from))
	if err != nil {
		return int32(from)
	}
	return int32(from + n.Int64())
}

// orDefault is r, or def when r.To is 0 (Xray's GetNormalized* rule).
func (r Range) orDefault(def Range) Range {
	if r.To == 0 {
		return def
	}
	return r
}

// UnmarshalJSON reads a number or a "from-to" string (negative ends
// allowed), as Xray's Int32Range does; the ends are put in order.
func (r *Range) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		from, to, err := parseRange(s)
		if err != nil {
			return err
		}
		*r = Range{From: from, To: to}
	} else {
		var n int32
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New(`invalid integer range, expected either string of form "1-2" or plain integer`)
		}
		*r = Range{From: n, To: n}
	}
	if r.From > r.To {
		r.From, r.To = r.To, r.From
	}
	return nil
}

// parseRange is Xray's ParseRangeString: "114", "" (0), "114-514",
// "-114-514", "-1919--810".
func parseRange(s string) (int32, int32, error) {
	if v, err := strconv.Atoi(s); err == nil {
		return int32(v), int32(v), nil
	}
	if s == "" {
		return 0, 0, nil
	}
	var pair []string
	if strings.HasPrefix(s, "-") {
		if parts := strings.SplitN(s, "-", 3); len(parts) == 3 {
			pair = []string{"-" + parts[1], parts[2]}
		}
	} else {
		pair = strings.SplitN(s, "-", 2)
	}
	if len(pair) == 2 {
		a, err1 := strconv.Atoi(pair[0])
		b, err2 := strconv.Atoi(pair[1])
		if err1 == nil && err2 == nil {
			return int32(a), int32(b), nil
		}
	}
	return 0, 0, fmt.Errorf("invalid range string: %q", s)
}

// xhttpJSON is xhttpSettings as Xray's loader reads it (infra/conf
// SplitHTTPConfig), for "extra". encoding/json matches keys without
// regard to case, as Xray's does.
type xhttpJSON struct {
	// Host, Path, Mode and Extra are read (so that a value of the wrong
	// type is refused, as by Xray) and then ignored: Xray takes them from
	// outside "extra".
	Host                 string            `json:"host"`
	Path                 string            `json:"path"`
	Mode                 string            `json:"mode"`
	Extra                json.RawMessage   `json:"extra"`
	Headers              map[string]string `json:"headers"`
	XPaddingBytes        Range             `json:"xPaddingBytes"`
	XPaddingObfsMode     bool              `json:"xPaddingObfsMode"`
	XPaddingKey          string            `json:"xPaddingKey"`
	XPaddingHeader       string            `json:"xPaddingHeader"`
	XPaddingPlacement    string            `json:"xPaddingPlacement"`
	XPaddingMethod       string            `json:"xPaddingMethod"`
	UplinkHTTPMethod     string            `json:"uplinkHTTPMethod"`
	SessionPlacement     string            `json:"sessionPlacement"`
	SessionKey           string            `json:"sessionKey"`
	SeqPlacement         string            `json:"seqPlacement"`
	SeqKey               string            `json:"seqKey"`
	UplinkDataPlacement  string            `json:"uplinkDataPlacement"`
	UplinkDataKey        string            `json:"uplinkDataKey"`
	UplinkChunkSize      Range             `json:"uplinkChunkSize"`
	NoGRPCHeader         bool              `json:"noGRPCHeader"`
	NoSSEHeader          bool              `json:"noSSEHeader"`
	ScMaxEachPostBytes   Range             `json:"scMaxEachPostBytes"`
	ScMinPostsIntervalMs Range             `json:"scMinPostsIntervalMs"`
	ScMaxBufferedPosts   int64             `json:"scMaxBufferedPosts"`
	ScStreamUpServerSecs Range             `json:"scStreamUpServerSecs"`
	ServerMaxHeaderBytes int32             `json:"serverMaxHeaderBytes"`
	Xmux                 struct {
		MaxConcurrency   Range `json:"maxConcurrency"`
		MaxConnections   Range `json:"maxConnections"`
		CMaxReuseTimes   Range `json:"cMaxReuseTimes"`
		HMaxRequestTimes Range `json:"hMaxRequestTimes"`
		HMaxReusableSecs Range `json:"hMaxReusableSecs"`
		HKeepAlivePeriod int64 `json:"hKeepAlivePeriod"`
	} `json:"xmux"`
	DownloadSettings json.RawMessage `json:"downloadSettings"`
}

// applyExtra replaces c's fields (but Host, Path and Mode) with those of
// c.Extra, refusing the settings xvm does not speak by name.
func (c *XHTTPConfig) applyExtra() error {
	var x xhttpJSON
	if err := json.Unmarshal(c.Extra, &x); err != nil {
		return fmt.Errorf(`transport: xhttpSettings.extra does not load as Xray reads it ("Failed to unmarshal \"extra\""): %w`, err)
	}
	// Values Xray's loader refuses (SplitHTTPConfig.Build), though
	// only the obfuscated padding xvm refuses below would use them.
	switch x.XPaddingPlacement {
	case "", "cookie", "header", "query", "queryInHeader":
	default:
		return fmt.Errorf("transport: xhttpSettings.extra.xPaddingPlacement %q is not one of Xray's (cookie, header, query, queryInHeader)", x.XPaddingPlacement)
	}
	switch x.XPaddingMethod {
	case "", "repeat-x", "tokenish":
	default:
		return fmt.Errorf("transport: xhttpSettings.extra.xPaddingMethod %q is not one of Xray's (repeat-x, tokenish)", x.XPaddingMethod)
	}
	if x.ServerMaxHeaderBytes < 0 {
		return errors.New("transport: xhttpSettings.extra.serverMaxHeaderBytes is negative (Xray refuses it)")
	}
	// Settings that change the requests in ways xvm does not reproduce.
	// A value equal to Xray's default is accepted.
	for _, u := range []struct {
		name  string
		isSet bool
	}{
		{"downloadSettings (download from another server)", len(x.DownloadSettings) > 0 && string(x.DownloadSettings) != "null"},
		{"xPaddingObfsMode", x.XPaddingObfsMode},
		{"uplinkHTTPMethod " + strconv.Quote(x.UplinkHTTPMethod), x.UplinkHTTPMethod != "" && !strings.EqualFold(x.UplinkHTTPMethod, "POST")},
		{"sessionPlacement " + strconv.Quote(x.SessionPlacement), x.SessionPlacement != "" && x.SessionPlacement != "path"},
		{"seqPlacement " + strconv.Quote(x.SeqPlacement), x.SeqPlacement != "" && x.SeqPlacement != "path"},
		{"uplinkDataPlacement " + strconv.Quote(x.UplinkDataPlacement), x.UplinkDataPlacement != "" && x.UplinkDataPlacement != "auto" && x.UplinkDataPlacement != "body"},
	} {
		if u.isSet {
			return &UnsupportedError{What: "xhttpSettings.extra." + u.name,
				Hint: "xvm speaks XHTTP with Xray's default padding, method and placements; probe this server with Xray's own client"}
		}
	}
	*c = XHTTPConfig{
		Host: c.Host, Path: c.Path, Mode: c.Mode, H2C: c.H2C,
		Headers:              x.Headers,
		XPaddingBytes:        x.XPaddingBytes,
		NoGRPCHeader:         x.NoGRPCHeader,
		ScMaxEachPostBytes:   x.ScMaxEachPostBytes,
		ScMinPostsIntervalMs: x.ScMinPostsIntervalMs,
		Xmux: XmuxConfig{
			MaxConcurrency:   x.Xmux.MaxConcurrency,
			MaxConnections:   x.Xmux.MaxConnections,
			CMaxReuseTimes:   x.Xmux.CMaxReuseTimes,
			HMaxRequestTimes: x.Xmux.HMaxRequestTimes,
			HMaxReusableSecs: x.Xmux.HMaxReusableSecs,
			HKeepAlivePeriod: x.Xmux.HKeepAlivePeriod,
		},
	}
	return nil
}

// HTTP versions XHTTP runs over.
const (
	httpVersion1 = "1.1"
	httpVersion2 = "2"   // over TLS
	httpVersionC = "h2c" // HTTP/2 without TLS
)

// xhttpPlan is XHTTPConfig checked once, with Xray's defaults filled in.
type xhttpPlan struct {
	mode         string
	version      string
	host         string
	path, query  string
	headers      map[string]string
	padding      Range
	noGRPCHeader bool
	maxPost      Range
	minInterval  Range
	maxRequests  Range
	maxReusable  Range
	keepAlive    time.Duration
}

// xhttpPlan checks c.XHTTP as Xray's loader (SplitHTTPConfig.Build) and
// dialer (decideHTTPVersion, Dial) do.
func (c *Config) xhttpPlan(tls bool) (*xhttpPlan, error) {
	x := c.XHTTP
	if len(x.Extra) > 0 {
		if err := x.applyExtra(); err != nil {
			return nil, err
		}
	}
	p := &xhttpPlan{headers: x.Headers, noGRPCHeader: x.NoGRPCHeader}
	switch x.Mode {
	case "", "auto", "packet-up":
		p.mode = "packet-up"
	case "stream-up", "stream-one":
		p.mode = x.Mode
	default:
		return nil, fmt.Errorf("transport: xhttpSettings.mode %q is not one of Xray's (auto, packet-up, stream-up, stream-one)", x.Mode)
	}
	for k := range x.Headers {
		if strings.EqualFold(k, "host") {
			return nil, errors.New(`transport: xhttpSettings.headers can't contain "host" (Xray's rule); set xhttpSettings.host instead`)
		}
	}
	if !x.XPaddingBytes.isZero() && (x.XPaddingBytes.From <= 0 || x.XPaddingBytes.To <= 0) {
		return nil, errors.New("transport: xhttpSettings.xPaddingBytes cannot be disabled (Xray's rule); give a positive range such as 100-1000")
	}
	if x.Xmux.MaxConnections.To > 0 && x.Xmux.MaxConcurrency.To > 0 {
		return nil, errors.New("transport: xhttpSettings.xmux: maxConnections cannot be specified together with maxConcurrency (Xray's rule)")
	}
	p.padding = x.XPaddingBytes.orDefault(Range{100, 1000})
	p.maxPost = x.ScMaxEachPostBytes.orDefault(Range{1000000, 1000000})
	if p.mode == "packet-up" && p.maxPost.From <= 0 {
		return nil, errors.New("transport: xhttpSettings.scMaxEachPostBytes must be bigger than 0")
	}
	p.minInterval = x.ScMinPostsIntervalMs.orDefault(Range{30, 30})
	xm := x.Xmux
	if xm.MaxConcurrency.isZero() && xm.MaxConnections.isZero() && xm.CMaxReuseTimes.isZero() &&
		xm.HMaxRequestTimes.isZero() && xm.HMaxReusableSecs.isZero() && xm.HKeepAlivePeriod == 0 {
		// Xray's defaults when xmux is absent.
		xm.HMaxRequestTimes = Range{600, 900}
		xm.HMaxReusableSecs = Range{1800, 3000}
	}
	p.maxRequests, p.maxReusable = xm.HMaxRequestTimes, xm.HMaxReusableSecs
	switch {
	case xm.HKeepAlivePeriod == 0:
		p.keepAlive = 45 * time.Second // Chrome's HTTP/2 keep-alive, Xray's default
	case xm.HKeepAlivePeriod > 0:
		p.keepAlive = time.Duration(min(xm.HKeepAlivePeriod, math.MaxInt64/int64(time.Second))) * time.Second
	}

	p.version = httpVersion1
	switch {
	case tls:
		p.version = httpVersion2
		if alpn := c.TLS.ALPN; len(alpn) == 1 {
			switch alpn[0] {
			case "http/1.1":
				p.version = httpVersion1
			case "h3":
				return nil, &UnsupportedError{What: `XHTTP over HTTP/3 (tlsSettings.alpn ["h3"])`,
					Hint: "xvm speaks XHTTP over HTTP/1.1 and HTTP/2; probe with alpn h2 if the server also listens on TCP"}
			}
		}
	case x.H2C:
		p.version = httpVersionC
	}
	p.host = x.Host
	if p.host == "" && tls {
		p.host = c.TLS.ServerName
	}
	if p.host == "" {
		p.host = c.Address
		if strings.Contains(p.host, ":") && !strings.HasPrefix(p.host, "[") {
			p.host = "[" + p.host + "]"
		}
	}
	p.path, p.query = xhttpPath(x.Path)
	return p, nil
}

// xhttpPath is Xray's GetNormalizedPath and GetNormalizedQuery: the part
// before "?" made to begin and end with "/", and the part after it.
func xhttpPath(s string) (path, query string) {
	path, query, _ = strings.Cut(s, "?")
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	if path[len(path)-1] != '/' {
		path += "/"
	}
	return path, query
}
