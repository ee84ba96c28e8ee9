package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/convert/subscription"
	"github.com/xvmtools/xvm/probe"
)

// probeOptions are the flags of xvm probe.
type probeOptions struct {
	URL            string
	Count          int
	Timeout        time.Duration
	ConnectTimeout time.Duration
	Concurrency    int
	ConnBudget     int
	// ConnBudgetSet: --conn-budget was given (else the library chooses:
	// 64, or what --skew-range needs).
	ConnBudgetSet  bool
	Skew           bool
	Download       string
	Output         string
	ShowSecrets    bool
	MaxInput       int64
	SkewRange      time.Duration
	Spacing        time.Duration
	DownloadTime   time.Duration
	ClockReference string
	Sources        sourceOptions
	Keep           keepOptions
}

func newProbeCmd(a *app) *cobra.Command { return probeCommand(a, runProbe) }

// probeCommand is the probe verb calling run with its flags; tests give
// their own run to see what the flags became.
func probeCommand(a *app, run func(context.Context, *app, *probeOptions, []string) error) *cobra.Command {
	opts := &probeOptions{}
	cmd := &cobra.Command{
		Use:   "probe [flags] [TARGET|-]...",
		Short: "Check that VMess servers accept us, how fast they are, and their clock skew",
		Long: `Probe VMess servers with a real VMess client.

TARGET is a share link, or a file holding links, a base64 subscription,
Clash/mihomo YAML, sing-box JSON or an Xray config (anything 'xvm convert'
reads); '-' (or no TARGET) reads stdin. An http:// or https:// TARGET is a
subscription URL (see 'xvm convert --help'); the provider's usage and
expiry are shown after the results. --include and --exclude keep servers by
name. Entries that are the same server are probed once and reported under
each name.

--keep ok writes the servers that passed to stdout as a config (--to, any
convert target), fastest first; the results then go to stderr, or to
--results FILE. --name-template renames them with convert's placeholders
and {latency} and {country}. For each server that passed, --exit-ip reads
its exit address and country from --trace-url, --udp sends a DNS query to
--dns-server over VMess UDP, and --upload POSTs a size to --upload-url.

Every entry is tried once first; those that work get the rest of --count
samples (fetching --url through the tunnel) and report the phases (DNS,
TCP connect, TLS, transport upgrade, VMess handshake, first byte, total).
The others say why they failed: dns, refused, timeout, tls, transport,
auth_rejected, clock_skew, destination, protocol, or skipped. A timeout
is tried once more at the end, at lower concurrency.

A rejected handshake is diagnosed: what other entries on the server
proved, the server's Date header (WebSocket and XHTTP; HTTPUpgrade and
gRPC over TLS, where a CDN front may answer), this machine's clock
against a reference, and a search of the clock offsets
real mistakes make (±14 min, whole and half hours within ±14 h);
--skew-range 24h searches every offset. A server whose clock is off gives
clock_skew with the offset; one that accepts no offset gives auth_rejected
(wrong id), saying what was ruled out. --skew measures the offset of
working servers too.

Politeness: one server (host:port) receives at most --conn-budget
connections in a run (default 64), all its entries together, at most 6
at once, at least --spacing apart.

User ids are masked in all output unless --show-secrets.

Environment: Xray_VMESS_AEAD_DISABLED=true (or XRAY_VMESS_AEAD_DISABLED),
the seed manual's switch, forces the legacy (non-AEAD) header for every
server. Current Xray speaks only AEAD, so such servers then fail as
auth_rejected with a message that says so.

Exit codes: 0 every server is ok (with --keep: a config was written);
1 any failed (with --keep: none passed), or the run was interrupted;
2 usage or unreadable input.`,
		Example: `  xvm probe 'vmess://eyJ2Ijoi…'
  xvm probe --skew --count 5 sub.txt
  xvm probe --output ndjson --concurrency 64 clash.yaml | jq .
  xvm probe --skew-range 24h --conn-budget 800 expired.txt
  xvm probe --download 25MB config.json
  xvm probe --exit-ip --keep ok --to clash --name-template '{country} {name} {latency}' "$SUB_URL" > clash.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("skew-spacing") {
				// cobra keeps pflag's own deprecation notice to itself.
				fmt.Fprintln(a.IO.ErrOut, "xvm: probe: warning: --skew-spacing has been deprecated, use --spacing (it paces every connection to a server, not only the clock search)")
			}
			opts.ConnBudgetSet = cmd.Flags().Changed("conn-budget")
			return run(cmd.Context(), a, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.URL, "url", probe.DefaultURL, "URL fetched through each server (https does TLS inside the tunnel)")
	f.IntVar(&opts.Count, "count", probe.DefaultCount, "samples per server (the first decides whether it works; only those that do get the rest)")
	f.DurationVar(&opts.Timeout, "timeout", probe.DefaultTimeout, "time limit of each attempt up to the response headers, and of each gap between data in a download")
	f.DurationVar(&opts.ConnectTimeout, "connect-timeout", probe.DefaultConnectTimeout, "time limit of each TCP connect (a dead host costs this, twice)")
	f.IntVar(&opts.Concurrency, "concurrency", probe.DefaultConcurrency, "entries probed at once (one whose connects are all slow to answer does not count)")
	f.IntVar(&opts.ConnBudget, "conn-budget", probe.DefaultBudget, "most connections one server (host:port) receives in the run, all its entries, samples and diagnosis together; larger by default with --skew-range")
	f.BoolVar(&opts.Skew, "skew", false, "measure the clock offset even when the handshake succeeds")
	f.StringVar(&opts.Download, "download", "", "measure throughput: a size (10MB, 25MiB) or an http(s) URL")
	f.StringVar(&opts.Output, "output", "table", "output: table, json or ndjson")
	f.BoolVar(&opts.ShowSecrets, "show-secrets", false, "show user ids in messages unmasked")
	f.DurationVar(&opts.SkewRange, "skew-range", 0, "search every clock offset within this range when a handshake is rejected, e.g. 24h (default: ±14m, and whole and half hours within ±14h)")
	f.DurationVar(&opts.Spacing, "spacing", probe.DefaultSpacing, "least time between two connections to one server")
	// The old name, from when only the clock search was paced.
	f.DurationVar(&opts.Spacing, "skew-spacing", probe.DefaultSpacing, "least time between two connections to one server")
	_ = f.MarkDeprecated("skew-spacing", "use --spacing (it paces every connection to a server, not only the clock search)")
	f.DurationVar(&opts.DownloadTime, "download-time", probe.DefaultDownloadTime, "most time a --download may take; the rate is then of what arrived")
	f.StringVar(&opts.ClockReference, "clock-reference", "", `http(s) URL whose Date header checks this machine's clock when no server works, fetched directly (default: --url; "none" for no such request)`)
	f.Int64Var(&opts.MaxInput, "max-input-size", convert.DefaultMaxInputBytes, "largest input accepted, in bytes")
	addSourceFlags(f, &opts.Sources)
	addKeepFlags(f, &opts.Keep)
	return cmd
}

// probeFlags names the flag behind each probe.Options field, for errors
// the library reports by field.
var probeFlags = map[string]string{"URL": "--url", "Download": "--download", "ClockReference": "--clock-reference",
	"TraceURL": "--trace-url", "DNSServer": "--dns-server", "UploadBytes": "--upload", "UploadURL": "--upload-url"}

// optionError words a library error about an option with the flag's name.
func optionError(err error) error {
	var oe *probe.OptionError
	if errors.As(err, &oe) {
		return usageErrorf("probe: %s %q: %s", probeFlags[oe.Option], oe.Value, oe.Reason)
	}
	return &exitError{code: exitUsage, err: err}
}

// libraryOptions checks the flags and makes the library's options of
// them: the one place where a flag becomes a probe.Options field.
func (opts *probeOptions) libraryOptions() (probe.Options, error) {
	switch opts.Output {
	case "table", "json", "ndjson":
	default:
		return probe.Options{}, usageErrorf("probe: --output %q: want table, json or ndjson", opts.Output)
	}
	if opts.Count < 1 || opts.Count > 100 {
		return probe.Options{}, usageErrorf("probe: --count %d: want 1 to 100", opts.Count)
	}
	if opts.Timeout <= 0 {
		return probe.Options{}, usageErrorf("probe: --timeout must be positive, such as 5s")
	}
	if opts.ConnectTimeout <= 0 {
		return probe.Options{}, usageErrorf("probe: --connect-timeout must be positive, such as 2s")
	}
	if opts.Concurrency < 1 || opts.Concurrency > 4096 {
		return probe.Options{}, usageErrorf("probe: --concurrency %d: want 1 to 4096", opts.Concurrency)
	}
	if opts.MaxInput <= 0 {
		return probe.Options{}, usageErrorf("probe: --max-input-size must be positive")
	}
	if opts.SkewRange != 0 && (opts.SkewRange < 2*time.Minute || opts.SkewRange > 7*24*time.Hour) {
		return probe.Options{}, usageErrorf("probe: --skew-range %s: want 2m to 168h", opts.SkewRange)
	}
	if opts.Spacing < 0 {
		return probe.Options{}, usageErrorf("probe: --spacing must not be negative")
	}
	if opts.DownloadTime <= 0 {
		return probe.Options{}, usageErrorf("probe: --download-time must be positive, such as 30s")
	}
	budget := 0 // the library's: 64, or what --skew-range needs
	if opts.ConnBudgetSet {
		if opts.ConnBudget < 1 || opts.ConnBudget > 100000 {
			return probe.Options{}, usageErrorf("probe: --conn-budget %d: want 1 to 100000", opts.ConnBudget)
		}
		budget = opts.ConnBudget
	}
	po := probe.Options{
		URL:            opts.URL,
		Count:          opts.Count,
		Timeout:        opts.Timeout,
		ConnectTimeout: opts.ConnectTimeout,
		Concurrency:    opts.Concurrency,
		Budget:         budget,
		Skew:           opts.Skew,
		ShowSecrets:    opts.ShowSecrets,
		Spacing:        max(opts.Spacing, time.Nanosecond),
		DownloadTime:   opts.DownloadTime,
		SkewSearch:     probe.SkewSearch{Range: opts.SkewRange},
		ClockReference: opts.ClockReference,
	}
	switch opts.ClockReference {
	case "":
		po.ClockReference = opts.URL
	case "none":
		po.ClockReference = ""
	}
	if opts.Download != "" {
		u, err := probe.DownloadURL(opts.Download)
		if err != nil {
			return probe.Options{}, optionError(err)
		}
		po.Download = u
	}
	return po, nil
}

func runProbe(ctx context.Context, a *app, opts *probeOptions, args []string) error {
	po, err := opts.libraryOptions()
	if err != nil {
		return err
	}
	if err := opts.Keep.check(&po); err != nil {
		return err
	}
	// A bad --url is a usage error whatever the input holds.
	if err := po.Validate(); err != nil {
		return optionError(err)
	}
	if err := opts.Sources.check("probe"); err != nil {
		return err
	}
	targets, nodes, sources, bad, err := readProbeTargets(ctx, a, opts, args)
	if err != nil {
		return err
	}
	// Results go to stdout, or to --results, or to stderr with --keep.
	out, outTTY, outColor, closeOut, err := opts.Keep.resultsWriter(a)
	if err != nil {
		return err
	}
	defer closeOut()

	// Results go to stdout; progress to stderr, only on a terminal.
	var (
		mu       sync.Mutex
		writeErr error
		clockOff *probe.ClockReading
	)
	// ndjson lines on a terminal would be garbled by the progress line.
	showProgress := a.IO.ErrTTY && !a.Global.Quiet && !(opts.Output == "ndjson" && outTTY)
	prog := newProbeProgress(len(targets), time.Now)
	po.OnResult = func(r probe.Result) {
		mu.Lock()
		defer mu.Unlock()
		adviseProbe(&r)
		if d := diagnosisOf(r); d != nil && d.LocalClock != nil && clockOff == nil {
			clockOff = d.LocalClock
		}
		prog.add(r)
		if opts.Output == "ndjson" && writeErr == nil {
			writeErr = probe.WriteNDJSON(out, r)
		}
		if showProgress {
			fmt.Fprint(a.IO.ErrOut, "\r\x1b[K"+prog.line())
		}
	}
	if showProgress {
		fmt.Fprint(a.IO.ErrOut, prog.line())
	}
	results, err := probeHidingIDs(ctx, targets, po)
	if showProgress {
		fmt.Fprint(a.IO.ErrOut, "\r\x1b[K")
	}
	if err != nil {
		return optionError(err)
	}
	for i := range results {
		adviseProbe(&results[i])
	}
	if clockOff != nil && !a.Global.Quiet {
		dir := "behind"
		if clockOff.OffsetS < 0 {
			dir = "ahead of"
		}
		fmt.Fprintf(a.IO.ErrOut, "xvm: probe: this machine's clock is %s %s %s's; VMess servers reject requests more than 120s off, so fix it (NTP) before judging the servers\n",
			time.Duration(math.Abs(clockOff.OffsetS)*float64(time.Second)).Round(time.Second), dir, clockOff.Reference)
	}
	switch opts.Output {
	case "json":
		writeErr = probe.WriteJSON(out, results)
	case "table":
		writeErr = writeProbeTable(out, probe.Table(results), outColor)
	}
	if writeErr == nil {
		writeErr = closeOut()
	}
	if writeErr != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("probe: write output: %w", writeErr)}
	}
	pr := diagPrinter{w: a.IO.ErrOut, color: a.colorErr(), quiet: a.Global.Quiet}
	pr.print(sourceNotes(sources, time.Now()))
	if ctx.Err() != nil {
		// With --keep, no config: one of the servers that passed before
		// the interrupt would read as the list of all that work.
		msg := fmt.Sprintf("probe: interrupted; %d of %d servers finished", len(results), len(targets))
		if opts.Keep.Keep != "" {
			msg += "; no config written"
		}
		return &exitError{code: exitFindings, err: errors.New(msg)}
	}
	if opts.Keep.Keep != "" {
		passed, written, err := opts.Keep.writeKept(a.IO.Out, pr, results, nodes)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("probe: --keep: %w", err)}
		}
		// The config is the product: failures are what --keep filters out.
		switch {
		case passed == 0:
			return &exitError{code: exitFindings, err: errors.New("probe: --keep ok: no server passed; nothing written")}
		case written == 0:
			return &exitError{code: exitFindings, err: fmt.Errorf("probe: --keep ok: %d of %d servers passed, but %s cannot express any of them; nothing written", passed, len(results), opts.Keep.To)}
		}
		if !a.Global.Quiet {
			fmt.Fprintf(a.IO.ErrOut, "xvm: probe: %d of %d servers passed; %d written as %s, fastest first\n", passed, len(results), written, opts.Keep.To)
		}
		return nil
	}
	anyFailed := bad > 0
	for _, r := range results {
		anyFailed = anyFailed || !r.OK
	}
	if anyFailed {
		return errFindings
	}
	return nil
}

func diagnosisOf(r probe.Result) *probe.Diagnosis {
	if r.Error == nil {
		return nil
	}
	return r.Error.Diagnosis
}

// probeAdvice words the library's advice codes with this command's flags.
var probeAdvice = map[probe.Advice]string{
	probe.AdviceTimeout:        "raise --timeout",
	probe.AdviceConnectTimeout: "raise --connect-timeout if the server is far or the network drops packets",
	probe.AdviceURL:            "try another --url",
	probe.AdviceDownload:       "try another --download",
	probe.AdviceUpload:         "try another --upload-url",
	probe.AdviceSkewRange:      "--skew-range 24h searches every offset",
	probe.AdviceBudget:         "--conn-budget allows more connections to one server",
	probe.AdviceDownloadTime:   "--download-time allows a longer download",
	probe.AdviceLegacyForced:   "unset Xray_VMESS_AEAD_DISABLED",
}

// adviseProbe appends the worded advice of r's failure and notes to
// copies of them (results share the library's values).
func adviseProbe(r *probe.Result) {
	if r.Error != nil {
		if words := probeAdviceWords(r.Error.Advice); words != "" {
			f := *r.Error
			f.Message += " — " + words
			r.Error = &f
		}
	}
	if len(r.Notes) > 0 {
		notes := slices.Clone(r.Notes)
		for i := range notes {
			if words := probeAdviceWords(notes[i].Advice); words != "" {
				notes[i].Message += " — " + words
			}
		}
		r.Notes = notes
	}
}

// probeAdviceWords words advice codes with this command's flags.
func probeAdviceWords(advice []probe.Advice) string {
	var words []string
	for _, a := range advice {
		if w, ok := probeAdvice[a]; ok {
			words = append(words, w)
		}
	}
	return strings.Join(words, "; ")
}

// probeProgress is the progress line: done of total, ok and failed, and
// the time left, estimated from the pace so far.
type probeProgress struct {
	total, done, ok int
	start           time.Time
	now             func() time.Time
}

func newProbeProgress(total int, now func() time.Time) *probeProgress {
	return &probeProgress{total: total, start: now(), now: now}
}

func (p *probeProgress) add(r probe.Result) {
	p.done++
	if r.OK {
		p.ok++
	}
}

func (p *probeProgress) line() string {
	s := fmt.Sprintf("probing %d/%d servers: %d ok, %d failed", p.done, p.total, p.ok, p.done-p.ok)
	// The estimate needs a few results to mean anything.
	if p.done >= 5 && p.done < p.total {
		el := p.now().Sub(p.start)
		left := time.Duration(float64(el) / float64(p.done) * float64(p.total-p.done))
		s += fmt.Sprintf(", about %s left", left.Round(time.Second))
	}
	return s
}

// readProbeTargets reads every input through convert and maps the nodes to
// probe targets. bad counts entries that could not be read; they are
// reported on stderr and the rest are probed.
func readProbeTargets(ctx context.Context, a *app, opts *probeOptions, args []string) ([]probe.Target, []*convert.Node, []*subscription.Source, int, error) {
	if len(args) == 0 {
		args = []string{"-"}
	}
	pr := diagPrinter{w: a.IO.ErrOut, color: a.colorErr(), quiet: a.Global.Quiet}
	forceLegacy := legacyForced(a.IO.Getenv)
	var nodes []*convert.Node
	bad := 0
	in := newInputReader(a, "probe", opts.MaxInput, &opts.Sources, opts.ShowSecrets)
	for i, arg := range args {
		name, data, err := in.read(ctx, arg, i)
		if err != nil {
			return nil, nil, nil, 0, &exitError{code: exitUsage, err: err}
		}
		if len(bytes.TrimSpace(data)) == 0 {
			if arg == "-" {
				return nil, nil, nil, 0, usageErrorf("probe: no input on stdin: pipe links in, or give a link or file as an argument")
			}
			return nil, nil, nil, 0, usageErrorf("probe: %s is empty: give a file of links, a subscription or a config", name)
		}
		res, err := convert.Parse(ctx, name, data, convert.Options{MaxInputBytes: opts.MaxInput})
		var ie *convert.InputError
		switch {
		case errors.As(err, &ie):
			// The input as a whole is unreadable: said as probe's.
			return nil, nil, nil, 0, usageErrorf("probe: %s: %s", ie.Where(), ie.Reason)
		case err != nil:
			return nil, nil, nil, 0, usageErrorf("probe: reading %s: %v", name, err)
		}
		pr.print(res.Diagnostics)
		bad += res.Errors()
		nodes = append(nodes, res.Nodes...)
	}
	var (
		targets []probe.Target
		probed  []*convert.Node // probed[i] is the node of targets[i]
	)
	if len(nodes) > 0 {
		var err error
		if nodes, err = selectNodes(pr, &opts.Sources, nodes, opts.Keep.Dedupe); err != nil {
			return nil, nil, nil, 0, &exitError{code: exitUsage, err: fmt.Errorf("probe: %w", err)}
		}
	}
	for _, n := range nodes {
		t := probe.TargetFromNode(n)
		t.ForceLegacy = forceLegacy
		if err := t.Validate(); err != nil {
			fmt.Fprintf(a.IO.ErrOut, "xvm: %s\n", err)
			bad++
			continue
		}
		if !a.Global.Quiet {
			for _, w := range t.Warnings() {
				fmt.Fprintf(a.IO.ErrOut, "xvm: probe: %s: warning: %s\n", t.Label(), w)
			}
		}
		targets = append(targets, t)
		probed = append(probed, n)
	}
	if len(targets) == 0 {
		return nil, nil, nil, 0, &exitError{code: exitUsage, err: errors.New("probe: no VMess server could be read from the input; give a vmess:// link, a subscription or a config file")}
	}
	return targets, probed, in.sources, bad, nil
}

// legacyForced reports the seed manual's switch that makes clients use
// the legacy (non-AEAD) header: Xray_VMESS_AEAD_DISABLED=true, or the
// upper-case spelling, with the value true in any case.
func legacyForced(getenv func(string) string) bool {
	if getenv == nil {
		return false
	}
	for _, name := range []string{"Xray_VMESS_AEAD_DISABLED", "XRAY_VMESS_AEAD_DISABLED"} {
		if strings.EqualFold(strings.TrimSpace(getenv(name)), "true") {
			return true
		}
	}
	return false
}

// writeProbeTable writes rows as aligned columns; with color, verdicts are
// coloured (green ok, yellow clock_skew, red other failures) and the
// heading is bold. The last column (detail) is not padded.
func writeProbeTable(w io.Writer, rows []probe.TableRow, color bool) error {
	rows = escapeRows(rows)
	cols := probe.TableColumns()
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = lipgloss.Width(c)
	}
	for _, r := range rows {
		for i, c := range r.Cells {
			widths[i] = max(widths[i], lipgloss.Width(c))
		}
	}
	pal := newPalette(w, color)
	head, okStyle, skewStyle, failStyle, dim := pal.bold, pal.ok, pal.warn, pal.err, pal.dim
	line := func(cells []string, style func(i int, s string) string) string {
		var b strings.Builder
		for i, c := range cells {
			s := c
			if style != nil {
				s = style(i, c)
			}
			b.WriteString(s)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-lipgloss.Width(c)+2))
			}
		}
		return strings.TrimRight(b.String(), " ") + "\n"
	}
	var out strings.Builder
	if color {
		out.WriteString(line(cols, func(_ int, s string) string { return head.Render(s) }))
	} else {
		out.WriteString(line(cols, nil))
	}
	resultCol := probe.TableResultColumn
	for _, r := range rows {
		if !color {
			out.WriteString(line(r.Cells, nil))
			continue
		}
		out.WriteString(line(r.Cells, func(i int, s string) string {
			switch {
			case i == resultCol && r.OK:
				return okStyle.Render(s)
			case i == resultCol && r.Kind == probe.KindClockSkew:
				return skewStyle.Render(s)
			case i == resultCol:
				return failStyle.Render(s)
			case i == len(cols)-1 && s != "":
				return dim.Render(s)
			}
			return s
		}))
	}
	if len(rows) == 0 {
		out.WriteString("(no results)\n")
	}
	_, err := io.WriteString(w, out.String())
	return err
}
