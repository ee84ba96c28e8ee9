package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
)

// DefaultTraceURL is Cloudflare's trace page, which answers with the
// client's address as Cloudflare sees it: through a server, the server's
// exit address.
const DefaultTraceURL = "https://www.cloudflare.com/cdn-cgi/trace"

// maxTrace bounds a trace answer; Cloudflare's is about 300 bytes.
const maxTrace = 16 << 10

// Exit is where traffic through a server comes out, as a trace URL saw
// it: ip= (the exit address), loc= (its country, ISO 3166-1 alpha-2, as
// Cloudflare geolocates it) and colo= (the Cloudflare data centre that
// answered, an IATA airport code). Error says why it could not be read;
// then the other fields are empty.
type Exit struct {
	IP      string `json:"ip,omitempty"`
	Country string `json:"country,omitempty"`
	Colo    string `json:"colo,omitempty"`
	Error   string `json:"error,omitempty"`
	// NotMeasured says why the trace was not fetched.
	NotMeasured NotMeasured `json:"not_measured,omitempty"`
}

// parseTrace reads a trace answer: "key=value" lines. ip must be an IP
// address; loc and colo are kept only when they are short words of
// letters and digits (the answer comes from whatever the server reached,
// so it is not trusted to be printable).
func parseTrace(body []byte) (*Exit, error) {
	e := &Exit{}
	for _, line := range bytes.Split(body, []byte("\n")) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte("="))
		if !ok {
			continue
		}
		val := string(bytes.TrimSpace(v))
		switch string(k) {
		case "ip":
			if a, err := netip.ParseAddr(val); err == nil {
				e.IP = a.Unmap().String()
			}
		case "loc":
			if word(val, 2, 3) {
				e.Country = strings.ToUpper(val)
			}
		case "colo":
			if word(val, 2, 8) {
				e.Colo = strings.ToUpper(val)
			}
		}
	}
	if e.IP == "" {
		return nil, errors.New("the trace answer has no ip= line with an address")
	}
	return e, nil
}

// word reports s of min to max ASCII letters and digits.
func word(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// exit fetches the trace URL through e's server: one GET, its body read
// (at most maxTrace bytes) within one attempt's Timeout.
func (p *prober) exit(ctx context.Context, e *entry, sl *slot) *Exit {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	body, err := p.getBody(ctx, e, sl, p.trace, maxTrace)
	if isBudget(err) {
		return &Exit{NotMeasured: NotMeasuredBudget}
	}
	if err == nil {
		var ex *Exit
		if ex, err = parseTrace(body); err == nil {
			return ex
		}
	}
	return &Exit{Error: fmt.Sprintf("%s: %v", p.trace.Redacted(), err)}
}

// getBody GETs u through e's server and returns its body, at most max
// bytes; a status outside 2xx is an error.
func (p *prober) getBody(ctx context.Context, e *entry, sl *slot, u *url.URL, max int64) ([]byte, error) {
	tn, _, err := p.openTunnel(ctx, e, sl, u, sealing{})
	if err != nil {
		return nil, err
	}
	defer tn.close()
	resp, _, _, _, err := p.get(ctx, e, tn, u)
	if err != nil {
		return nil, err
	}
	if resp.status/100 != 2 {
		return nil, &statusError{status: resp.status, reason: resp.reason}
	}
	return readCapped(resp.body, max)
}

// readCapped reads r to the end, failing past max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the answer is over %d bytes", max)
	}
	return b, nil
}
