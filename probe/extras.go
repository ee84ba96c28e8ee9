package probe

import (
	"context"
	"errors"
	"strconv"
)

// extrasOf validates the options of the extra checks and keeps what they
// need.
func (p *prober) extrasOf(opts Options) error {
	var err error
	if opts.TraceURL != "" {
		if p.trace, err = parseHTTPURL("TraceURL", opts.TraceURL); err != nil {
			return err
		}
	}
	if opts.DNSServer != "" {
		if p.dnsHost, p.dnsPort, err = checkDNSServer(opts.DNSServer); err != nil {
			return err
		}
	}
	if opts.UploadBytes > maxUpload {
		return &OptionError{Option: "UploadBytes", Value: strconv.FormatInt(opts.UploadBytes, 10), Reason: "want at most 10 GiB"}
	}
	if opts.UploadBytes > 0 {
		u := opts.UploadURL
		if u == "" {
			u = UploadServer
		}
		if p.uploadURL, err = parseHTTPURL("UploadURL", u); err != nil {
			return err
		}
	}
	return nil
}

// NotMeasured says why an extra check (upload, exit, UDP) of a server that
// passed was not made; the check's other fields are then empty.
type NotMeasured string

// NotMeasuredBudget: the connections the server's budget
// (Options.Budget) allows were spent on other work, which says nothing
// against the server.
const NotMeasuredBudget NotMeasured = "budget"

// hasExtras reports whether a server that passed gets extra checks.
func (p *prober) hasExtras() bool {
	return p.trace != nil || p.dnsHost != "" || p.uploadURL != nil
}

// extras runs the extra checks on an entry whose server passed: upload,
// exit IP, UDP, each on a connection of its own within the server's
// budget. A failed upload fails the entry, as a failed download does; the
// exit and UDP checks only report. A check the budget did not allow is
// marked NotMeasuredBudget, alike for all three. It returns false when
// ctx was cancelled.
func (p *prober) extras(ctx context.Context, e *entry, sl *slot) bool {
	r := &e.res
	if p.uploadURL != nil {
		up, err := p.upload(ctx, e, sl)
		switch {
		case ctx.Err() != nil:
			return false
		case isBudget(err):
			// Not measured: the server's budget went to other entries.
			// That says nothing against the server, which passed.
			r.Upload = &Upload{NotMeasured: NotMeasuredBudget}
		case err != nil:
			r.Upload = up
			r.OK, r.Error = false, p.uploadFailure(e, err)
		default:
			r.Upload = up
		}
	}
	if p.trace != nil {
		r.Exit = p.exit(ctx, e, sl)
	}
	if p.dnsHost != "" {
		r.UDP = p.udp(ctx, e, sl)
	}
	return ctx.Err() == nil
}

// uploadFailure is a failed upload as the entry's failure: an upload URL
// that refused the POST says so; anything else is classified as a
// download would be, with the upload URL as what to change.
func (p *prober) uploadFailure(e *entry, err error) *Failure {
	var status *statusError
	if errors.As(err, &status) {
		return &Failure{Kind: KindDestination, Advice: []Advice{AdviceUpload},
			Message: "upload: the server accepted us, but " + p.uploadURL.Redacted() + " " + status.Error() + "; give a URL that takes a POST body"}
	}
	f := p.classify(e.t, err, p.uploadURL, true)
	for i, a := range f.Advice {
		if a == AdviceDownload {
			f.Advice[i] = AdviceUpload
		}
	}
	f.Message = "upload: " + f.Message
	return f
}
