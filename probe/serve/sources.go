package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/convert/subscription"
	"github.com/xvmtools/xvm/probe"
)

// kind of a source string in a group's target list.
type sourceKindT int

const (
	sourceFile sourceKindT = iota
	sourceLink
	sourceURL
)

// sourceKind tells a share link or client line from a subscription URL
// and from a file name.
func sourceKind(s string) sourceKindT {
	l := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://"):
		return sourceURL
	case strings.HasPrefix(l, "vmess://") || strings.HasPrefix(l, "vmess1://") || strings.HasPrefix(l, "vmess="):
		return sourceLink
	}
	// Quantumult-style "name = vmess, host, port, …" lines.
	if _, rest, ok := strings.Cut(l, "="); ok && strings.HasPrefix(strings.TrimSpace(rest), "vmess,") {
		return sourceLink
	}
	return sourceFile
}

// FetchFunc fetches a subscription URL's body, at most max bytes. The
// command line supplies it; without one, URL sources are refused.
type FetchFunc func(ctx context.Context, url string, max int64) ([]byte, error)

// loader reads sources into targets.
type loader struct {
	maxBytes    int64
	forceLegacy bool
	fetch       FetchFunc
}

// loaded is what one source gave: its targets, and messages about the
// entries that could not be used.
type loaded struct {
	targets  []probe.Target
	problems []string
}

// SourceError is a source that could not be read at all.
type SourceError struct {
	// Source is the file name, "link" or the URL without its query.
	Source string
	Err    error
}

func (e *SourceError) Error() string { return fmt.Sprintf("serve: %s: %v", e.Source, e.Err) }
func (e *SourceError) Unwrap() error { return e.Err }

// load reads one source. Entries that cannot be probed are reported in
// problems (never with their ids); a source that cannot be read at all is
// an error.
func (l *loader) load(ctx context.Context, src string) (loaded, error) {
	name, data, err := l.read(ctx, src)
	if err != nil {
		return loaded{}, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return loaded{}, &SourceError{Source: name, Err: fmt.Errorf("empty; give a file of links, a subscription or a config")}
	}
	res, err := convert.Parse(ctx, name, data, convert.Options{MaxInputBytes: l.maxBytes})
	if err != nil {
		return loaded{}, &SourceError{Source: name, Err: err}
	}
	var out loaded
	for _, d := range res.Diagnostics {
		if d.Severity == convert.Error {
			out.problems = append(out.problems, d.String())
		}
	}
	for _, n := range res.Nodes {
		t := probe.TargetFromNode(n)
		t.ForceLegacy = l.forceLegacy
		if err := t.Validate(); err != nil {
			out.problems = append(out.problems, err.Error())
			continue
		}
		out.targets = append(out.targets, t)
	}
	if len(out.targets) == 0 && len(out.problems) == 0 {
		return loaded{}, &SourceError{Source: name, Err: fmt.Errorf("no VMess server in it")}
	}
	return out, nil
}

// read gets a source's bytes and the name messages use for it. A link's
// name is "link": the link itself holds the user id.
func (l *loader) read(ctx context.Context, src string) (string, []byte, error) {
	switch sourceKind(src) {
	case sourceLink:
		return "link", []byte(src), nil
	case sourceURL:
		name := subscription.MaskURL(src)
		if l.fetch == nil {
			return "", nil, &SourceError{Source: name, Err: fmt.Errorf("subscription URLs are not supported by this build; save the subscription to a file")}
		}
		data, err := l.fetch(ctx, src, l.maxBytes)
		if err != nil {
			return "", nil, &SourceError{Source: name, Err: maskURLIn(err, src, name)}
		}
		return name, data, nil
	}
	data, _, err := readLimited(src, l.maxBytes)
	if err != nil {
		return "", nil, &SourceError{Source: src, Err: err}
	}
	return src, data, nil
}

// maskURLIn returns a fetcher's error with the subscription URL raw, and
// its secret parts, replaced by masked in the message: net/http's
// *url.Error repeats the URL, token and all, and a fetcher may quote it
// too. A *url.Error in the chain gets the masked URL as well, so nothing
// that prints the chain shows the token.
func maskURLIn(err error, raw, masked string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = masked
	}
	msg := strings.ReplaceAll(err.Error(), raw, masked)
	if u, perr := url.Parse(raw); perr == nil {
		secrets := []string{u.RawQuery, u.Query().Encode(), u.EscapedPath(), u.Path, u.RawFragment, u.Fragment}
		if u.User != nil {
			secrets = append(secrets, u.User.String())
			if pw, ok := u.User.Password(); ok {
				secrets = append(secrets, pw)
			}
		}
		for _, v := range u.Query() {
			secrets = append(secrets, v...)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			secrets = append(secrets, seg)
		}
		for _, sec := range secrets {
			if len(sec) >= 6 && !strings.Contains(masked, sec) {
				msg = strings.ReplaceAll(msg, sec, "…")
			}
		}
	}
	return &maskedError{msg: msg, err: err}
}

// maskedError is an error shown with its message masked (maskURLIn).
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }
