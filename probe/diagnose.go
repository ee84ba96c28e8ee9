package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/transport"
)

// isTimeout reports a deadline or context timeout anywhere in err's chain.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// isRejection reports an attempt the server closed without a response
// byte: how VMess servers reject an id or a timestamp.
func isRejection(err error) bool {
	var se *stageError
	if errors.As(err, &se) && se.stage != stageHandshake {
		return false
	}
	return errors.Is(err, vmess.ErrNoResponse) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// classify maps an attempt's error to a failure kind and a message that
// says what to do next. u is the URL the attempt fetched and flag the
// option that set it (--url or --download), for messages. Rejections are
// classified as auth_rejected here; diagnose refines them with a skew
// search.
func (p *prober) classify(t *Target, err error, u *url.URL, flag string) *Failure {
	server := t.server()
	timeout := p.opts.Timeout
	var te *transport.Error
	if errors.As(err, &te) {
		var ue *transport.UnsupportedError
		switch {
		case errors.As(err, &ue) && ue.Hint != "":
			// The transport already says what to do instead.
			return &Failure{KindTransport, ue.Error()}
		case errors.As(err, &ue):
			return &Failure{KindTransport, fmt.Sprintf("%s; xvm cannot probe this server yet (use Xray's own client for it)", ue.Error())}
		case te.Phase == transport.PhaseConfig:
			return &Failure{KindTransport, fmt.Sprintf("the transport settings are unusable: %v; fix the server entry", te.Err)}
		case te.Timeout() && te.Phase == transport.PhaseTLS:
			return &Failure{KindTimeout, fmt.Sprintf("%s took the connection but gave no TLS answer within %s; if the server does not use TLS, set security to none; otherwise raise --timeout", server, timeout)}
		case te.Timeout():
			return &Failure{KindTimeout, fmt.Sprintf("%s did not finish within %s (%s phase); the server is down, blackholed or too slow; check the address, or raise --timeout", server, timeout, te.Phase)}
		case te.Phase == transport.PhaseDNS:
			return &Failure{KindDNS, fmt.Sprintf("cannot resolve %q: %v; check the server address and your DNS", t.Stream.Address, te.Err)}
		case te.Phase == transport.PhaseConnect:
			if te.Refused() {
				return &Failure{KindRefused, fmt.Sprintf("%s refused the connection: nothing listens on port %d; check the port, or whether the server is running", server, t.Stream.Port)}
			}
			return &Failure{KindRefused, fmt.Sprintf("cannot connect to %s: %v; check the address and your network", server, te.Err)}
		case te.Phase == transport.PhaseTLS:
			return &Failure{KindTLS, fmt.Sprintf("TLS with %s failed: %v; check serverName, the certificate pin, or whether the server uses TLS at all", server, te.Err)}
		default:
			return &Failure{KindTransport, fmt.Sprintf("the %s transport to %s failed: %v; check path, host and service name against the server's config", t.network(), server, te.Err)}
		}
	}
	var stall *stallError
	if errors.As(err, &stall) {
		return &Failure{KindTimeout, fmt.Sprintf("the transfer of %s through %s stalled: no data for %s after %d bytes; the server or its route is too slow or stuck; raise --timeout (it bounds each gap between data) or try another %s", u.Redacted(), server, stall.idle, stall.bytes, flag)}
	}
	var se *stageError
	st := stageHandshake
	if errors.As(err, &se) {
		st = se.stage
	}
	switch {
	case st == stageDial && isTimeout(err):
		return &Failure{KindTimeout, fmt.Sprintf("%s did not finish connecting within %s; the server is down, blackholed or too slow; raise --timeout", server, timeout)}
	case st == stageDial:
		return &Failure{KindTransport, fmt.Sprintf("cannot set up the %s transport to %s: %v", t.network(), server, err)}
	case st == stageHandshake && (errors.Is(err, vmess.ErrResponseMismatch) || errors.Is(err, vmess.ErrProtocol)):
		return &Failure{KindProtocol, fmt.Sprintf("%s answered, but not with a VMess response to our request (%v); is it a VMess server, with the transport and TLS settings you gave?", server, err)}
	case isRejection(err):
		return &Failure{KindAuthRejected, fmt.Sprintf("%s closed the connection without answering: it rejected the user id %s or our clock; check the id", server, p.idText(t.ID))}
	case st == stageHandshake && isTimeout(err):
		return &Failure{KindTimeout, fmt.Sprintf("no VMess response from %s within %s: the server took the request but never answered; either it cannot reach %s, or it is not a VMess server; raise --timeout or try another %s", server, timeout, u.Host, flag)}
	case st == stageHandshake:
		return &Failure{KindProtocol, fmt.Sprintf("the VMess handshake with %s failed: %v", server, err)}
	case isTimeout(err):
		return &Failure{KindTimeout, fmt.Sprintf("the server accepted us, but %s (the %s host) did not answer within %s; raise --timeout or try another %s", u.Host, flag, timeout, flag)}
	case errors.Is(err, vmess.ErrProtocol) || errors.Is(err, vmess.ErrResponseMismatch):
		return &Failure{KindProtocol, fmt.Sprintf("the data from %s is corrupt after the VMess handshake (%v); check the security setting", server, err)}
	default:
		return &Failure{KindDestination, fmt.Sprintf("the server accepted us but could not fetch %s (%s): %v; the server may not reach that site, try another %s", u.Redacted(), flag, err, flag)}
	}
}

// diagnose classifies the first sample's failure. A rejection gets a skew
// search, which tells a skewed clock from a wrong id.
func (p *prober) diagnose(ctx context.Context, t *Target, acct vmess.Account, err error, s *slot) (*Failure, *Skew) {
	f := p.classify(t, err, p.url, flagURL)
	if f.Kind != KindAuthRejected {
		return f, nil
	}
	server := t.server()
	if t.drains() && p.speaksTLS(ctx, t) {
		return &Failure{KindProtocol, fmt.Sprintf("%s speaks TLS, but the entry has no TLS: set security to tls (with the server's serverName)", server)}, nil
	}
	legacy := acct.AlterID > 0 || t.ForceLegacy
	if legacy {
		ok, _, aerr := p.attemptFunc(t, acct, withAEAD)(ctx, 0)
		switch {
		case aerr == nil && ok && t.ForceLegacy:
			return &Failure{KindAuthRejected, fmt.Sprintf("legacy (non-AEAD) auth was forced (Xray_VMESS_AEAD_DISABLED=true), and %s does not speak it: it accepts AEAD with the same id, as current Xray accepts only AEAD; unset Xray_VMESS_AEAD_DISABLED", server)}, nil
		case aerr == nil && ok:
			return &Failure{KindAuthRejected, fmt.Sprintf("%s rejects the legacy header (alterId %d) but accepts AEAD with the same id: set alterId to 0", server, acct.AlterID)}, nil
		}
	}
	pace := p.serverOf(t)
	if err := pace.take(ctx, s); err != nil {
		return f, nil // interrupted; the caller drops the result
	}
	defer pace.release()
	// The verdicts below carry over only between targets on the same
	// route: a front on one host:port may route by path, Host or SNI to
	// servers with other clocks and users. The pace stays per host:port.
	route := p.routeOf(t)
	verified := false // whether another entry's offset was tried
	stop := func() error {
		if route.clockConfirmed() {
			return errClockConfirmed
		}
		if _, ok := route.knownSkew(); ok && !verified {
			return errSkewKnown
		}
		return nil
	}
	var (
		est  skewEstimate
		serr error
	)
	key := acct.ID.String() // the parsed id: a UUID in any case, or a name's UUID
	for {
		if route.clockConfirmed() {
			return p.clockConfirmedFailure(t, legacy), nil
		}
		if n, ok := route.wasRejected(key); ok {
			return p.noOffsetFailure(t, legacy, n, "another entry with the same id and route to this server"), nil
		}
		if known, ok := route.knownSkew(); ok && !verified {
			// Another entry's search found this server's clock: one
			// handshake at that offset verifies it for this id.
			verified = true
			mid := int(math.Round(float64(known.Lower+known.Upper) / 2))
			accepted, _, aerr := p.attemptFunc(t, acct, withAEAD)(ctx, time.Duration(mid)*time.Second)
			if aerr == nil && accepted {
				f := p.skewFailure(t, legacy, known)
				f.Message += "; measured with another entry on the same route to this server, and this id was accepted at that offset"
				return f, &Skew{OffsetS: known.Offset, UncertaintyS: known.Uncertainty, Handshakes: 1}
			}
		}
		est, serr = searchSkewOn(ctx, p.attemptFunc(t, acct, withAEAD), p.opts.SkewSearch, nil, pace, stop)
		if errors.Is(serr, errSkewKnown) {
			continue // verify it, then search again if it does not hold
		}
		if errors.Is(serr, errClockConfirmed) {
			return p.clockConfirmedFailure(t, legacy), nil
		}
		break
	}
	if serr != nil {
		f.Message += fmt.Sprintf(" (the clock check could not finish: %v)", serr)
		return f, nil
	}
	if !est.Found {
		route.recordRejected(key, est.Attempts)
		return p.noOffsetFailure(t, legacy, est.Attempts, ""), nil
	}
	skew := &Skew{OffsetS: est.Offset, UncertaintyS: est.Uncertainty, Handshakes: est.Attempts}
	if est.Lower <= 0 && est.Upper >= 0 {
		route.confirmClock()
		// Our own clock is inside the window now: the first rejection was
		// something else (a replay filter, a restart).
		return &Failure{KindAuthRejected, fmt.Sprintf("%s rejected the first request but accepts our clock now; probe it again", server)}, skew
	}
	route.recordSkew(est)
	return p.skewFailure(t, legacy, est), skew
}

// skewFailure is the clock_skew verdict for an offset found by a search.
func (p *prober) skewFailure(t *Target, legacy bool, est skewEstimate) *Failure {
	dir := "ahead of"
	if est.Offset < 0 {
		dir = "behind"
	}
	msg := fmt.Sprintf("server clock is %s %s yours (±%.1fs); VMess allows only ±120s: fix the clock (NTP) on the server or on this machine", fmtDuration(math.Abs(est.Offset)), dir, est.Uncertainty)
	switch {
	case t.ForceLegacy:
		msg += "; legacy auth was forced (Xray_VMESS_AEAD_DISABLED=true), which current Xray does not speak: the clock was measured with AEAD requests"
	case legacy:
		msg += "; it accepted AEAD (alterId 0) requests"
	}
	return &Failure{KindClockSkew, msg}
}

// noOffsetFailure is the auth_rejected verdict of a search that found no
// accepted offset; by names the entry whose search it was, when not t's.
func (p *prober) noOffsetFailure(t *Target, legacy bool, handshakes int, by string) *Failure {
	server := t.server()
	rng := p.opts.SkewSearch.withDefaults().Range
	searched := fmt.Sprintf("(%d handshakes)", handshakes)
	if by != "" {
		searched = fmt.Sprintf("(searched for %s, %d handshakes)", by, handshakes)
	}
	msg := fmt.Sprintf("%s rejected the user id %s: no clock offset within ±%s was accepted %s; the id is wrong, or the server is not VMess", server, p.idText(t.ID), fmtDuration(rng.Seconds()), searched)
	return &Failure{KindAuthRejected, msg + aeadFailedToo(t, legacy)}
}

// clockConfirmedFailure is the verdict for a rejected target whose server
// accepted another target's handshake at our clock: the clock is fine, so
// the id is wrong; no search of its own is needed.
func (p *prober) clockConfirmedFailure(t *Target, legacy bool) *Failure {
	server := t.server()
	msg := fmt.Sprintf("%s rejected the user id %s, but accepted another entry's id with our clock, so the clock is fine: this id is wrong or not on that server", server, p.idText(t.ID))
	return &Failure{KindAuthRejected, msg + aeadFailedToo(t, legacy)}
}

// aeadFailedToo ends an auth_rejected message of a legacy target: its
// rejection was checked with AEAD requests as well.
func aeadFailedToo(t *Target, legacy bool) string {
	switch {
	case t.ForceLegacy:
		return "; legacy auth was forced (Xray_VMESS_AEAD_DISABLED=true), and AEAD failed too"
	case legacy:
		return "; alterId > 0 also failed with AEAD"
	}
	return ""
}

// attemptOption tunes attemptFunc.
type attemptOption int

const withAEAD attemptOption = 1

// attemptFunc returns the skew search's attempt for t: a padded plain HTTP
// request to the URL's host whose only use is the VMess response header.
func (p *prober) attemptFunc(t *Target, acct vmess.Account, opts ...attemptOption) attemptFunc {
	aead := len(opts) > 0 && opts[0] == withAEAD
	return func(ctx context.Context, offset time.Duration) (bool, time.Duration, error) {
		s, err := p.fetch(ctx, t, acct, fetchSpec{url: p.url, offset: offset, pad: t.drains(), handshakeOnly: true, aead: aead})
		if err == nil {
			return true, s.rtt, nil
		}
		if isRejection(err) {
			return false, 0, nil
		}
		return false, 0, err
	}
}

// fmtDuration renders seconds as 3m12s, 1h0m5s, 2.5s, 24h.
func fmtDuration(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d >= time.Minute {
		d = d.Round(time.Second)
	} else {
		d = d.Round(100 * time.Millisecond)
	}
	str := d.String()
	// time.Duration prints 24h0m0s; trim the zero tails for reading.
	for _, z := range []string{"m0s", "h0m"} {
		if len(str) > len(z) && str[len(str)-len(z):] == z {
			str = str[:len(str)-len(z)+1]
		}
	}
	return str
}
