package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/probe"
)

// probeOptions are the flags of xvm probe.
type probeOptions struct {
	URL         string
	Count       int
	Timeout     time.Duration
	Concurrency int
	Skew        bool
	Download    string
	Output      string
	ShowSecrets bool
	MaxInput    int64
	SkewRange   time.Duration
	SkewSpacing time.Duration
}

func newProbeCmd(a *app) *cobra.Command {
	opts := &probeOptions{}
	cmd := &cobra.Command{
		Use:   "probe [flags] [TARGET|-]...",
		Short: "Check that VMess servers accept us, how fast they are, and their clock skew",
		Long: `Probe VMess servers with a real VMess client.

TARGET is a share link, or a file holding links, a base64 subscription,
Clash/mihomo YAML, sing-box JSON or an Xray config (anything 'xvm convert'
reads); '-' (or no TARGET) reads stdin.

For every server xvm fetches --url through the tunnel --count times and
reports the phases (DNS, TCP connect, TLS, transport upgrade, VMess
handshake, first byte, total), or why it failed: dns, refused, timeout,
tls, transport, auth_rejected, clock_skew, destination or protocol.

A rejected handshake is diagnosed by searching the server's clock window
(±120 s around its clock) with shifted timestamps: a server whose clock is
off gives clock_skew with the offset; one that accepts no offset within
±24 h gives auth_rejected (wrong id). --skew measures the offset of working
servers too.

User ids are masked in all output unless --show-secrets.

Environment: Xray_VMESS_AEAD_DISABLED=true (or XRAY_VMESS_AEAD_DISABLED),
the seed manual's switch, forces the legacy (non-AEAD) header for every
server. Current Xray speaks only AEAD, so such servers then fail as
auth_rejected with a message that says so.

Exit codes: 0 every server is ok; 1 any failed (or was interrupted);
2 usage or unreadable input.`,
		Example: `  xvm probe 'vmess://eyJ2Ijoi…'
  xvm probe --skew --count 5 sub.txt
  xvm probe --output ndjson --concurrency 64 clash.yaml | jq .
  xvm probe --download 25MB config.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProbe(cmd.Context(), a, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.URL, "url", probe.DefaultURL, "URL fetched through each server (https does TLS inside the tunnel)")
	f.IntVar(&opts.Count, "count", 3, "samples per server")
	f.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "time limit of each attempt up to the response headers, and of each gap between data in a download")
	f.IntVar(&opts.Concurrency, "concurrency", 32, "servers probed at once")
	f.BoolVar(&opts.Skew, "skew", false, "measure the clock offset even when the handshake succeeds")
	f.StringVar(&opts.Download, "download", "", "measure throughput: a size (10MB, 25MiB) or an http(s) URL")
	f.StringVar(&opts.Output, "output", "table", "output: table, json or ndjson")
	f.BoolVar(&opts.ShowSecrets, "show-secrets", false, "show user ids in messages unmasked")
	f.DurationVar(&opts.SkewRange, "skew-range", 24*time.Hour, "how far the clock search looks when a handshake is rejected")
	f.DurationVar(&opts.SkewSpacing, "skew-spacing", 10*time.Millisecond, "least time between two clock-search handshakes to one server (a search's first 50; then 20ms or this, whichever is larger)")
	f.Int64Var(&opts.MaxInput, "max-input-size", convert.DefaultMaxInputBytes, "largest input accepted, in bytes")
	return cmd
}

func runProbe(ctx context.Context, a *app, opts *probeOptions, args []string) error {
	switch opts.Output {
	case "table", "json", "ndjson":
	default:
		return usageErrorf("probe: --output %q: want table, json or ndjson", opts.Output)
	}
	if opts.Count < 1 || opts.Count > 100 {
		return usageErrorf("probe: --count %d: want 1 to 100", opts.Count)
	}
	if opts.Timeout <= 0 {
		return usageErrorf("probe: --timeout must be positive, such as 5s")
	}
	if opts.Concurrency < 1 || opts.Concurrency > 4096 {
		return usageErrorf("probe: --concurrency %d: want 1 to 4096", opts.Concurrency)
	}
	if opts.MaxInput <= 0 {
		return usageErrorf("probe: --max-input-size must be positive")
	}
	if opts.SkewRange < 2*time.Minute || opts.SkewRange > 7*24*time.Hour {
		return usageErrorf("probe: --skew-range %s: want 2m to 168h", opts.SkewRange)
	}
	if opts.SkewSpacing < 0 {
		return usageErrorf("probe: --skew-spacing must not be negative")
	}
	po := probe.Options{
		URL:         opts.URL,
		Count:       opts.Count,
		Timeout:     opts.Timeout,
		Concurrency: opts.Concurrency,
		Skew:        opts.Skew,
		ShowSecrets: opts.ShowSecrets,
		SkewSearch:  probe.SkewSearch{Range: opts.SkewRange, Spacing: max(opts.SkewSpacing, time.Nanosecond)},
	}
	if opts.Download != "" {
		u, err := probe.DownloadURL(opts.Download)
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		po.Download = u
	}
	// A bad --url is a usage error whatever the input holds.
	if err := po.Validate(); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	targets, bad, err := readProbeTargets(ctx, a, opts, args)
	if err != nil {
		return err
	}

	// Results go to stdout; progress to stderr, only on a terminal.
	var (
		mu       sync.Mutex
		done     int
		failed   int
		writeErr error
	)
	// ndjson lines on a terminal would be garbled by the progress line.
	progress := a.IO.ErrTTY && !a.Global.Quiet && !(opts.Output == "ndjson" && a.IO.OutTTY)
	po.OnResult = func(r probe.Result) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if !r.OK {
			failed++
		}
		if opts.Output == "ndjson" && writeErr == nil {
			writeErr = probe.WriteNDJSON(a.IO.Out, r)
		}
		if progress {
			fmt.Fprintf(a.IO.ErrOut, "\r\x1b[Kprobing %d/%d servers, %d failed", done, len(targets), failed)
		}
	}
	if progress {
		fmt.Fprintf(a.IO.ErrOut, "probing %d servers…", len(targets))
	}
	results, err := probe.Run(ctx, targets, po)
	if progress {
		fmt.Fprint(a.IO.ErrOut, "\r\x1b[K")
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	switch opts.Output {
	case "json":
		writeErr = probe.WriteJSON(a.IO.Out, results)
	case "table":
		writeErr = writeProbeTable(a.IO.Out, probe.Table(results), a.colorOut())
	}
	if writeErr != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("probe: write output: %w", writeErr)}
	}
	if ctx.Err() != nil {
		return &exitError{code: exitFindings, err: fmt.Errorf("probe: interrupted; %d of %d servers finished", len(results), len(targets))}
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

// readProbeTargets reads every input through convert and maps the nodes to
// probe targets. bad counts entries that could not be read; they are
// reported on stderr and the rest are probed.
func readProbeTargets(ctx context.Context, a *app, opts *probeOptions, args []string) ([]probe.Target, int, error) {
	if len(args) == 0 {
		args = []string{"-"}
	}
	pr := diagPrinter{w: a.IO.ErrOut, color: a.colorErr(), quiet: a.Global.Quiet}
	forceLegacy := legacyForced(a.IO.Getenv)
	var targets []probe.Target
	bad := 0
	usedStdin := false
	for i, arg := range args {
		name, data, err := readInput(a, "probe", arg, i, opts.MaxInput, &usedStdin)
		if err != nil {
			return nil, 0, &exitError{code: exitUsage, err: err}
		}
		if len(bytes.TrimSpace(data)) == 0 {
			if arg == "-" {
				return nil, 0, usageErrorf("probe: no input on stdin: pipe links in, or give a link or file as an argument")
			}
			return nil, 0, usageErrorf("probe: %s is empty: give a file of links, a subscription or a config", arg)
		}
		res, err := convert.Parse(ctx, name, data, convert.Options{MaxInputBytes: opts.MaxInput})
		if err != nil {
			// convert's errors say "convert: NAME: …"; here it is probe's.
			return nil, 0, usageErrorf("probe: %s", strings.TrimPrefix(err.Error(), "convert: "))
		}
		pr.print(res.Diagnostics)
		bad += res.Errors()
		for _, n := range res.Nodes {
			t := probe.TargetFromNode(n)
			t.ForceLegacy = forceLegacy
			if err := t.Validate(); err != nil {
				fmt.Fprintf(a.IO.ErrOut, "xvm: %s\n", err)
				bad++
				continue
			}
			if !a.Global.Quiet {
				for _, w := range t.Stream.Warnings() {
					fmt.Fprintf(a.IO.ErrOut, "xvm: probe: %s: warning: %s\n", t.Label(), w)
				}
			}
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return nil, 0, &exitError{code: exitUsage, err: errors.New("probe: no VMess server could be read from the input; give a vmess:// link, a subscription or a config file")}
	}
	return targets, bad, nil
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
	var (
		head, okStyle, skewStyle, failStyle, dim lipgloss.Style
	)
	if color {
		// Our own renderer: the caller decided this stream is styled.
		re := lipgloss.NewRenderer(w)
		re.SetColorProfile(termenv.ANSI)
		head = re.NewStyle().Bold(true)
		okStyle = re.NewStyle().Foreground(lipgloss.Color("2")).Bold(true)
		skewStyle = re.NewStyle().Foreground(lipgloss.Color("3")).Bold(true)
		failStyle = re.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
		dim = re.NewStyle().Foreground(lipgloss.Color("8"))
	}
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
