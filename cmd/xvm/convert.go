package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/convert"
)

// convertOptions are the flags of xvm convert.
type convertOptions struct {
	From         string
	To           string
	Strict       bool
	NameTemplate string
	Listen       string
	MaxInput     int64
	ShowSecrets  bool
	Dedupe       bool
	Sources      sourceOptions
}

func newConvertCmd(a *app) *cobra.Command {
	opts := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert [flags] [INPUT|-]...",
		Short: "Translate share links, subscriptions, Clash, sing-box and Xray configs",
		Long: `Convert VMess servers between dialects.

INPUT is a share link (vmess://, vmess1://, or a Quantumult X, Surge or Loon
vmess line), a file holding links, a base64 subscription, Clash/mihomo YAML,
sing-box JSON, an Xray config in JSON, YAML or TOML, or a JSON array of
whole Xray configs (Marzban's and Remnawave's answer to v2rayN); '-' (or no INPUT)
reads stdin. The format is detected unless --from says otherwise.

An http:// or https:// INPUT is a subscription URL, fetched with mihomo's
User-Agent (--user-agent to change it). The provider's usage and expiry
(subscription-userinfo) are shown as a note, and as a warning when the
subscription has expired or its data is used up. HTTP_PROXY, HTTPS_PROXY
and NO_PROXY are honoured. Tokens in URLs are masked in messages unless
--show-secrets.

--include and --exclude keep servers by name; --dedupe leaves out servers
listed twice (same address, port, id, transport, path, host, sni and
security), with a note naming both.

Anything the target cannot carry is a warning on stderr naming the server
and the field. User ids appear only in the converted output, never in
messages.

Exit codes: 0 all converted; 1 some entries failed (bad lines, or servers
the target cannot express) and the rest were written; 2 usage, unreadable
input, nothing to convert, or any failure with --strict (nothing written).`,
		Example: `  xvm convert 'vmess://eyJ2Ijoi…'
  xvm convert --to clash sub.txt > clash.yaml
  xvm convert --to xray-config --dedupe --exclude '(?i)expire|traffic' "$SUB_URL" > config.json
  xvm convert --to uri --name-template '{index} {name}' config.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvert(cmd.Context(), a, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.From, "from", "auto", "input format: auto, links, clash, sing-box or xray")
	f.StringVar(&opts.To, "to", "xray", "output: xray, xray-config, v2rayn, uri, clash, sing-box, yaml or toml")
	f.BoolVar(&opts.Strict, "strict", false, "any bad entry is fatal (exit 2, nothing written)")
	f.StringVar(&opts.NameTemplate, "name-template", "", "rename servers: {name} {server} {port} {network} {security} {index}")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:10808", "socks inbound of --to xray-config")
	f.Int64Var(&opts.MaxInput, "max-input-size", convert.DefaultMaxInputBytes, "largest input accepted, in bytes")
	f.BoolVar(&opts.ShowSecrets, "show-secrets", false, "show subscription tokens in messages unmasked")
	f.BoolVar(&opts.Dedupe, "dedupe", false, "leave out servers listed more than once, with a line naming both")
	addSourceFlags(f, &opts.Sources)
	return cmd
}

func runConvert(ctx context.Context, a *app, opts *convertOptions, args []string) error {
	from := convert.InputFormat(opts.From)
	switch from {
	case "auto":
		from = convert.FormatAuto
	case convert.FormatLinks, convert.FormatClash, convert.FormatSingBox, convert.FormatXray:
	default:
		return usageErrorf("convert: --from %q: want auto, links, clash, sing-box or xray", opts.From)
	}
	target := convert.OutputFormat(opts.To)
	if !slices.Contains(convert.OutputFormats(), target) {
		return usageErrorf("convert: --to %q: want xray, xray-config, v2rayn, uri, clash, sing-box, yaml or toml", opts.To)
	}
	host, portStr, err := net.SplitHostPort(opts.Listen)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil || port < 1 || port > 65535 {
		return usageErrorf("convert: --listen %q: want host:port, such as 127.0.0.1:10808", opts.Listen)
	}
	if opts.MaxInput <= 0 {
		return usageErrorf("convert: --max-input-size must be positive")
	}
	if err := convert.CheckNameTemplate(opts.NameTemplate); err != nil {
		var pe *convert.PlaceholderError
		if errors.As(err, &pe) {
			return usageErrorf("convert: --name-template %q: unknown placeholder %s; want %s", opts.NameTemplate, pe.Placeholder, strings.Join(convert.NamePlaceholders(), " "))
		}
		return usageErrorf("convert: --name-template %q: %v", opts.NameTemplate, err)
	}
	if err := opts.Sources.check("convert"); err != nil {
		return err
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	pr := diagPrinter{w: a.IO.ErrOut, color: a.colorErr(), quiet: a.Global.Quiet}
	var nodes []*convert.Node
	failed := 0
	in := newInputReader(a, "convert", opts.MaxInput, &opts.Sources, opts.ShowSecrets)
	for i, arg := range args {
		name, data, err := in.read(ctx, arg, i)
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		res, err := convert.Parse(ctx, name, data, convert.Options{From: from, MaxInputBytes: opts.MaxInput})
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		pr.print(res.Diagnostics)
		failed += res.Errors()
		nodes = append(nodes, res.Nodes...)
	}
	pr.print(sourceNotes(in.sources, time.Now()))
	if len(nodes) == 0 {
		return &exitError{code: exitUsage, err: errors.New("convert: no VMess server could be read from the input; see the messages above")}
	}
	nodes, err = selectNodes(pr, &opts.Sources, nodes, opts.Dedupe)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("convert: %w", err)}
	}
	// One pass: EmitTo writes nothing when no node can be written, and
	// with AllOrNothing (--strict) nothing unless every node can. A bad
	// entry in the input already fails --strict, so then the output goes
	// nowhere and only the diagnostics are kept.
	emitOpts := convert.EmitOptions{NameTemplate: opts.NameTemplate, Listen: host, Port: port, AllOrNothing: opts.Strict}
	out := a.IO.Out
	if failed > 0 && opts.Strict {
		out = io.Discard
	}
	diags, err := convert.EmitTo(out, nodes, target, emitOpts)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("convert: write output: %w", err)}
	}
	pr.print(diags)
	written := len(nodes)
	for _, d := range diags {
		if d.Severity == convert.Error {
			failed++
			written--
		}
	}
	if written == 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("convert: no server could be written as %s; see the messages above", target)}
	}
	if failed > 0 && opts.Strict {
		return &exitError{code: exitUsage, err: fmt.Errorf("convert: %d entr%s failed and --strict is set; nothing written", failed, plural(failed, "y", "ies"))}
	}
	if failed > 0 {
		if !a.Global.Quiet {
			fmt.Fprintf(a.IO.ErrOut, "xvm: convert: %d entr%s failed; %d server(s) written\n", failed, plural(failed, "y", "ies"), written)
		}
		return errFindings
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// diagPrinter writes diagnostics to stderr, styled on a terminal.
type diagPrinter struct {
	w     io.Writer
	color bool
	quiet bool
}

func (p diagPrinter) print(diags []convert.Diagnostic) {
	pal := newPalette(p.w, p.color)
	for _, d := range diags {
		if p.quiet && d.Severity == convert.Info {
			// -q drops info messages only: a warning says something was lost or
			// changed, and that is never dropped silently.
			continue
		}
		line := safeLine(d.String())
		if d.Carrier != "" {
			line += fmt.Sprintf(" (use --to %s)", d.Carrier)
		}
		if p.color {
			style := pal.severity(d.Severity)
			sev := d.Severity.String()
			line = strings.Replace(line, sev+":", style.Render(sev)+":", 1)
		}
		fmt.Fprintln(p.w, line)
	}
}
