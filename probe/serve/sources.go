package serve

import (
	"bytes"
	"context"
	"fmt"
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
			return "", nil, &SourceError{Source: name, Err: err}
		}
		return name, data, nil
	}
	data, _, err := readLimited(src, l.maxBytes)
	if err != nil {
		return "", nil, &SourceError{Source: src, Err: err}
	}
	return src, data, nil
}
