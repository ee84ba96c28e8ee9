package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/probe"
)

// keepOptions are probe's flags for the subscription pipeline: what it
// checks beyond the probe (exit IP, UDP, upload), and writing the servers
// that passed back out as a config.
type keepOptions struct {
	Keep         string
	To           string
	Results      string
	NameTemplate string
	Dedupe       bool

	ExitIP    bool
	TraceURL  string
	UDP       bool
	DNSServer string
	Upload    string
	UploadURL string
}

// probePlaceholders are the name-template placeholders probe adds to
// convert's.
var probePlaceholders = []string{"{latency}", "{country}"}

func addKeepFlags(f *pflag.FlagSet, o *keepOptions) {
	f.StringVar(&o.Keep, "keep", "", "write the servers that passed ('ok') to stdout as a config, fastest first; results go to stderr or --results")
	f.StringVar(&o.To, "to", "", "format of --keep's config: xray, xray-config, v2rayn, uri, clash, sing-box, yaml or toml (default xray)")
	f.StringVar(&o.Results, "results", "", "write the results (--output) to this file instead of stdout (or stderr with --keep)")
	f.StringVar(&o.NameTemplate, "name-template", "", "rename --keep's servers: convert's placeholders and {latency} {country}")
	f.BoolVar(&o.Dedupe, "dedupe", false, "leave out servers listed more than once (as convert --dedupe) before probing")
	f.BoolVar(&o.ExitIP, "exit-ip", false, "fetch --trace-url through each working server: its exit address, country and data centre")
	f.StringVar(&o.TraceURL, "trace-url", probe.DefaultTraceURL, "trace page of --exit-ip (answers ip=, loc=, colo= lines)")
	f.BoolVar(&o.UDP, "udp", false, "send a DNS query through each working server over VMess UDP: answered or not, and how fast")
	f.StringVar(&o.DNSServer, "dns-server", probe.DefaultDNSServer, "DNS server (host:port) of --udp")
	f.StringVar(&o.Upload, "upload", "", "measure upload throughput: a size (10MB, 25MiB) POSTed to --upload-url")
	f.StringVar(&o.UploadURL, "upload-url", probe.UploadServer, "URL --upload POSTs to (it must read the body, then answer)")
}

// check validates the flags and puts the extra checks into po.
func (o *keepOptions) check(po *probe.Options) error {
	switch o.Keep {
	case "", "ok":
	default:
		return usageErrorf("probe: --keep %q: want ok (the servers that passed)", o.Keep)
	}
	if o.Keep == "" && (o.To != "" || o.NameTemplate != "") {
		return usageErrorf("probe: --to and --name-template shape --keep's config; add --keep ok")
	}
	if o.To == "" {
		o.To = string(convert.ToXrayJSON)
	}
	if !slices.Contains(convert.OutputFormats(), convert.OutputFormat(o.To)) {
		return usageErrorf("probe: --to %q: want xray, xray-config, v2rayn, uri, clash, sing-box, yaml or toml", o.To)
	}
	if err := convert.CheckNameTemplate(o.NameTemplate, probePlaceholders...); err != nil {
		var pe *convert.PlaceholderError
		if errors.As(err, &pe) {
			return usageErrorf("probe: --name-template %q: unknown placeholder %s; want %s", o.NameTemplate, pe.Placeholder, strings.Join(pe.Known, " "))
		}
		return usageErrorf("probe: --name-template %q: %v", o.NameTemplate, err)
	}
	if strings.Contains(o.NameTemplate, "{country}") && !o.ExitIP {
		return usageErrorf("probe: --name-template {country} needs --exit-ip (the country is the exit's)")
	}
	if o.ExitIP {
		po.TraceURL = o.TraceURL
	}
	if o.UDP {
		po.DNSServer = o.DNSServer
	}
	if o.Upload != "" {
		n, err := probe.UploadSize(o.Upload)
		if err != nil {
			return optionError(err)
		}
		po.UploadBytes, po.UploadURL = n, o.UploadURL
	}
	return nil
}

// resultsWriter is where the results (table or JSON) go: --results FILE,
// else stderr with --keep (stdout holds the config), else stdout. tty says
// whether it is a terminal, color whether to style it; done closes a file
// and may be called more than once.
func (o *keepOptions) resultsWriter(a *app) (w io.Writer, tty bool, color bool, done func() error, err error) {
	switch {
	case o.Results != "":
		f, err := os.Create(o.Results)
		if err != nil {
			return nil, false, false, nil, &exitError{code: exitUsage, err: fmt.Errorf("probe: --results: %w", err)}
		}
		// Closed once on success (its error counts) and again, harmlessly,
		// by the caller's defer on every path.
		return f, false, false, sync.OnceValue(f.Close), nil
	case o.Keep != "":
		return a.IO.ErrOut, a.IO.ErrTTY, a.colorErr(), func() error { return nil }, nil
	}
	return a.IO.Out, a.IO.OutTTY, a.colorOut(), func() error { return nil }, nil
}

// keptNodes are the nodes of the results that passed, fastest (median
// latency) first, ties in input order, with the values of {latency} and
// {country} for each.
func keptNodes(results []probe.Result, nodes []*convert.Node) ([]*convert.Node, []probe.Result) {
	var ok []probe.Result
	for _, r := range results {
		if r.OK && r.Latency != nil && r.Index >= 0 && r.Index < len(nodes) {
			ok = append(ok, r)
		}
	}
	slices.SortStableFunc(ok, func(a, b probe.Result) int {
		if c := cmp.Compare(a.Latency.Median, b.Latency.Median); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	kept := make([]*convert.Node, len(ok))
	for i, r := range ok {
		kept[i] = nodes[r.Index]
	}
	return kept, ok
}

// writeKept writes the servers that passed as --to, fastest first, to w,
// and prints what the target could not carry. It reports how many passed
// and how many of those were written: the target leaves out a server it
// cannot express, with an Error diagnostic naming it.
func (o *keepOptions) writeKept(w io.Writer, pr diagPrinter, results []probe.Result, nodes []*convert.Node) (passed, written int, err error) {
	kept, ok := keptNodes(results, nodes)
	if len(kept) == 0 {
		return 0, 0, nil
	}
	out, diags, err := convert.Emit(kept, convert.OutputFormat(o.To), convert.EmitOptions{
		NameTemplate:      o.NameTemplate,
		ExtraPlaceholders: probePlaceholders,
		ExtraValue: func(i int, ph string) string {
			switch ph {
			case "{latency}":
				return strconv.FormatFloat(float64(ok[i].Latency.Median), 'f', 0, 64) + "ms"
			case "{country}":
				if e := ok[i].Exit; e != nil {
					return e.Country
				}
			}
			return ""
		},
	})
	if err != nil {
		return len(kept), 0, err
	}
	pr.print(diags)
	// Emit names each node by the unique name it gave it, so the servers
	// left out are the distinct names of its Error diagnostics, however
	// many each has.
	left := map[string]bool{}
	for _, d := range diags {
		if d.Severity == convert.Error {
			left[d.Server] = true
		}
	}
	if _, err := w.Write(out); err != nil {
		return len(kept), 0, fmt.Errorf("write the config: %w", err)
	}
	return len(kept), len(kept) - len(left), nil
}
