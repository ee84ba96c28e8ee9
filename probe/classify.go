package probe

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"syscall"

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

// classify maps an attempt's error to a failure kind, a message that says
// what happened, and advice. u is the URL the attempt fetched; download
// says whether it was the download's. Rejections come out as
// auth_rejected here; the diagnosis stage refines them.
func (p *prober) classify(t *Target, err error, u *url.URL, download bool) *Failure {
	server := t.server()
	timeout := p.opts.Timeout
	urlAdvice := AdviceURL
	if download {
		urlAdvice = AdviceDownload
	}
	fail := func(k Kind, advice []Advice, format string, args ...any) *Failure {
		return &Failure{Kind: k, Message: fmt.Sprintf(format, args...), Advice: advice}
	}
	if errors.Is(err, errBudget) {
		return fail(KindSkipped, []Advice{AdviceBudget}, "not probed: the %d connections allowed to %s in one run were spent on other entries", p.opts.Budget, server)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		var ue *transport.UnsupportedError
		switch {
		case errors.As(err, &ue) && ue.Hint != "":
			// The transport already says what to do instead.
			return fail(KindTransport, nil, "%s", ue.Error())
		case errors.As(err, &ue):
			return fail(KindTransport, nil, "%s; xvm cannot probe this server yet (use Xray's own client for it)", ue.Error())
		case te.Phase == transport.PhaseConfig:
			return fail(KindTransport, nil, "the transport settings are unusable: %v; fix the server entry", te.Err)
		case te.Timeout() && te.Phase == transport.PhaseDNS:
			return fail(KindTimeout, []Advice{AdviceTimeout}, "resolving %q did not finish within %s: the DNS server did not answer; check your DNS", t.Stream.Address, timeout)
		case te.Timeout() && te.Phase == transport.PhaseConnect:
			return fail(KindTimeout, []Advice{AdviceConnectTimeout}, "%s did not accept a TCP connection within %s: the host is down, or a firewall drops the connection", server, min(p.opts.ConnectTimeout, timeout))
		case te.Timeout() && te.Phase == transport.PhaseTLS:
			return fail(KindTimeout, []Advice{AdviceTimeout}, "%s took the connection but gave no TLS answer within %s; if the server does not use TLS, set security to none", server, timeout)
		case te.Timeout():
			return fail(KindTimeout, []Advice{AdviceTimeout}, "%s did not finish the %s phase within %s: the server is down, blackholed or too slow", server, te.Phase, timeout)
		case te.Phase == transport.PhaseDNS:
			return fail(KindDNS, nil, "cannot resolve %q: %v; check the server address and your DNS", t.Stream.Address, te.Err)
		case te.Phase == transport.PhaseConnect && te.Refused():
			return fail(KindRefused, nil, "%s refused the connection: nothing listens on port %d; check the port, or whether the server is running", server, t.Stream.Port)
		case te.Phase == transport.PhaseConnect:
			return fail(KindRefused, nil, "cannot connect to %s: %v; check the address and your network", server, te.Err)
		case te.Phase == transport.PhaseTLS:
			return fail(KindTLS, nil, "TLS with %s failed: %v; check serverName, the certificate pin, or whether the server uses TLS at all", server, te.Err)
		default:
			return fail(KindTransport, nil, "the %s transport to %s failed: %v; check path, host and service name against the server's config", t.network(), server, te.Err)
		}
	}
	var stall *stallError
	if errors.As(err, &stall) {
		return fail(KindTimeout, []Advice{AdviceTimeout, urlAdvice}, "the transfer of %s through %s stalled: no data for %s after %d bytes; the server or its route is too slow or stuck (the timeout bounds each gap between data)", u.Redacted(), server, stall.idle, stall.bytes)
	}
	var status *statusError
	if errors.As(err, &status) {
		return fail(KindDestination, []Advice{urlAdvice}, "the server accepted us, but %s answered %d %s; give a URL that serves the file", u.Redacted(), status.status, status.reason)
	}
	var se *stageError
	st := stageHandshake
	if errors.As(err, &se) {
		st = se.stage
	}
	switch {
	case st == stageDial && isTimeout(err):
		return fail(KindTimeout, []Advice{AdviceTimeout}, "%s did not finish connecting within %s: the server is down, blackholed or too slow", server, timeout)
	case st == stageDial:
		return fail(KindTransport, nil, "cannot set up the %s transport to %s: %v", t.network(), server, err)
	case st == stageHandshake && (errors.Is(err, vmess.ErrResponseMismatch) || errors.Is(err, vmess.ErrProtocol)):
		return fail(KindProtocol, nil, "%s answered, but not with a VMess response to our request (%v); is it a VMess server, with the transport and TLS settings you gave?", server, err)
	case isRejection(err):
		return fail(KindAuthRejected, nil, "%s closed the connection without answering: it rejected the user id %s or our clock; check the id", server, p.idText(t.ID))
	case st == stageHandshake && isTimeout(err):
		return fail(KindTimeout, []Advice{AdviceTimeout, urlAdvice}, "no VMess response from %s within %s: the server took the request but never answered; either it cannot reach %s, or it is not a VMess server", server, timeout, u.Host)
	case st == stageHandshake:
		return fail(KindProtocol, nil, "the VMess handshake with %s failed: %v", server, err)
	case isTimeout(err):
		return fail(KindTimeout, []Advice{AdviceTimeout, urlAdvice}, "the server accepted us, but %s did not answer within %s", u.Host, timeout)
	case errors.Is(err, vmess.ErrProtocol) || errors.Is(err, vmess.ErrResponseMismatch):
		return fail(KindProtocol, nil, "the data from %s is corrupt after the VMess handshake (%v); check the security setting", server, err)
	default:
		return fail(KindDestination, []Advice{urlAdvice}, "the server accepted us but could not fetch %s: %v; the server may not reach that site", u.Redacted(), err)
	}
}

// idText is a user id for messages: masked unless secrets are shown.
func (p *prober) idText(id string) string {
	if p.opts.ShowSecrets {
		return id
	}
	return vmess.MaskID(id)
}
