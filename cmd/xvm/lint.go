package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/lint"
	"github.com/xvmtools/xvm/schema"
)

// lintOptions are the flags of `xvm lint`.
type lintOptions struct {
	Format      string
	FailOn      string
	Disable     []string
	Enable      []string
	Rule        []string
	ShowSecrets bool
	Target      string
	Config      string
	ListRules   bool
	Fix         bool
	Diff        bool
	StdinFormat string
	OnlyXray    bool
}

func newLintCmd(a *app) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [flags] [PATH|-]...",
		Short: "Validate and lint VMess outbounds and Xray configs",
		Long: `Lint Xray configurations for what Xray silently ignores or only reports at start-up.

PATH may be a file, a directory (searched for *.json *.jsonc *.yaml *.yml
*.toml), a glob, or - for stdin, which is read as JSON, as Xray reads a
config from stdin (--stdin-format yaml or toml says otherwise). A document
may be a whole Xray config, one outbound, a list of outbounds, or a bare
VMess settings object.

Rules can be turned off or re-levelled with --disable, --rule, a .xvm.yaml
file (found in the current directory, or given with --config), or inline
with a comment on the line before: // xvm-disable-next-line RULE[,RULE]

--fix applies the mechanical fixes (a quoted port, a misspelt key with one
close match, a key in the wrong case, alterId, an unknown VMess security,
a path without its slash, allowInsecure, a byte-order mark) by editing the
bytes in place: comments, key order, indentation and line endings stay.
--fix --diff prints them as a unified diff instead. It goes to git apply
only as written: a line that holds a user id (changed or context) is
masked unless --show-secrets, and a line with control characters or a
workflow-command marker (::, ##[) is escaped; such a line no longer
matches the file and the diff does not apply.

Exit codes: 0 no findings at or above --fail-on, 1 findings (with --diff:
also when there is something to fix), 2 usage or I/O error.`,
		Example: `  xvm lint config.json
  xvm lint --fix --diff configs/
  xvm lint --format sarif configs/ > xvm.sarif
  cat outbound.json | xvm lint -
  xvm lint --stdin-format yaml - < outbound.yaml
  xvm lint --target seed --disable unknown-key old/*.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLint(cmd, a, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "text", "output format: text, json, sarif or github")
	f.StringVar(&o.FailOn, "fail-on", "", "exit 1 when a finding is at least this severe: error, warning or info (default error)")
	f.StringSliceVar(&o.Disable, "disable", nil, "turn rules off (comma-separated rule ids)")
	f.StringSliceVar(&o.Enable, "enable", nil, "turn rules back on (overrides .xvm.yaml and --disable)")
	f.StringArrayVar(&o.Rule, "rule", nil, "re-level a rule: RULE=error|warning|info|off (repeatable)")
	f.BoolVar(&o.ShowSecrets, "show-secrets", false, "print user ids in full instead of masking them")
	f.StringVar(&o.Target, "target", "", "what the config must run on: xray (current Xray-core, default) or seed (the seed manual's semantics)")
	f.StringVar(&o.Config, "config", "", "rule settings file (default .xvm.yaml in the current directory, if present)")
	f.BoolVar(&o.ListRules, "list-rules", false, "list the rules and exit")
	f.BoolVar(&o.Fix, "fix", false, "apply the mechanical fixes (rules marked fix in --list-rules) to the files; from stdin, print the fixed document")
	f.BoolVar(&o.Diff, "diff", false, "with --fix: print the fixes as a unified diff and write nothing (implies --fix)")
	f.BoolVar(&o.OnlyXray, "only-xray", false, "skip files that parse but are no Xray config, outbound or VMess settings (for linting a whole repository)")
	f.StringVar(&o.StdinFormat, "stdin-format", "json", "syntax of stdin (-): json (with comments), yaml or toml; Xray reads a config from stdin as JSON unless told")
	return cmd
}

func runLint(cmd *cobra.Command, a *app, o *lintOptions, args []string) error {
	if o.ListRules {
		for _, r := range lint.Rules() {
			fix := ""
			if r.Fixable {
				fix = "fix"
			}
			fmt.Fprintf(a.IO.Out, "%-22s %-8s %-3s %s\n", r.ID, r.Severity, fix, r.Summary)
		}
		return nil
	}
	switch o.Format {
	case "text", "json", "sarif", "github":
	default:
		return usageErrorf("lint: unknown --format %q: want text, json, sarif or github", o.Format)
	}
	if len(args) == 0 {
		return usageErrorf("lint: no PATH given: name files or directories, or - for stdin")
	}
	stdinFormat := schema.Format(strings.ToLower(o.StdinFormat))
	switch stdinFormat {
	case "jsonc":
		stdinFormat = schema.JSON
	case "yml":
		stdinFormat = schema.YAML
	case schema.JSON, schema.YAML, schema.TOML:
	default:
		return usageErrorf("lint: unknown --stdin-format %q: want json, yaml or toml", o.StdinFormat)
	}

	// .xvm.yaml first, then flags on top (lint.Merge).
	var fc lint.FileConfig
	cfgPath, explicit := o.Config, o.Config != ""
	if !explicit {
		cfgPath = ".xvm.yaml"
	}
	if data, err := os.ReadFile(cfgPath); err == nil {
		if fc, err = lint.ParseFileConfig(data); err != nil {
			return &exitError{code: exitUsage, err: settingError(cfgPath, err)}
		}
	} else if explicit || !errors.Is(err, os.ErrNotExist) {
		return &exitError{code: exitUsage, err: fmt.Errorf("lint: read config: %w", err)}
	}
	set, err := lint.Merge(fc, lint.Flags{Target: o.Target, FailOn: o.FailOn, Disable: o.Disable, Rules: o.Rule, Enable: o.Enable})
	if err != nil {
		return &exitError{code: exitUsage, err: settingError(cfgPath, err)}
	}
	failOn := set.FailOn

	fixes := lint.NoFixes
	if o.Format == "text" && !a.Global.Quiet {
		fixes = lint.CountFixes // for "N of them can be fixed"
	}
	l, err := lint.New(lint.Options{Runtime: set.Target, Now: time.Now, ShowSecrets: o.ShowSecrets, Rules: set.Rules, Fixes: fixes, StdinFormat: stdinFormat, OnlyXray: o.OnlyXray})
	if err != nil {
		return err
	}
	names, err := lint.Expand(args)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	// Expand lists "-" once, so stdin is read at most once.
	read := func(name string) ([]byte, error) {
		if name == lint.Stdin {
			return readBounded(a.IO.In)
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readBounded(f)
	}
	if o.Fix || o.Diff {
		return runLintFix(cmd, a, o, l, names, read, failOn)
	}
	rep, err := l.Run(cmd.Context(), names, read)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	if err := renderLint(a, a.IO.Out, o.Format, rep); err != nil {
		return err
	}
	if lint.Fails(rep.Diagnostics, failOn) {
		return errFindings
	}
	return nil
}

// renderLint writes rep to w in format, with the text format's notes on
// stderr.
func renderLint(a *app, w io.Writer, format string, rep lint.Report) error {
	var err error
	switch format {
	case "json":
		err = lint.RenderJSON(w, rep)
	case "sarif":
		base, _ := os.Getwd() // "" leaves names relative
		err = lint.RenderSARIF(w, rep, lint.SARIFOptions{Version: buildVersion(), BaseDir: base})
	case "github":
		err = lint.RenderGitHub(w, rep)
	default:
		var st lint.Styler = lint.PlainStyler{}
		if w == a.IO.Out && a.colorOut() || w == a.IO.ErrOut && a.colorErr() {
			st = newLintStyler(w)
		}
		err = lint.RenderText(w, rep, st)
		if err == nil && len(rep.Diagnostics) == 0 && !a.Global.Quiet {
			fmt.Fprintf(a.IO.ErrOut, "%d %s checked, no findings\n", rep.Files, plural(rep.Files, "file", "files"))
		}
		if n := fixable(rep.Diagnostics); err == nil && n > 0 && !a.Global.Quiet {
			fmt.Fprintf(a.IO.ErrOut, "%d of them can be fixed with `xvm lint --fix` (`--fix --diff` shows how)\n", n)
		}
	}
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("lint: write output: %w", err)}
	}
	return nil
}

// settingError says where a bad lint setting came from, in the CLI's
// words: "lint: --fail-on: unknown severity …" or
// "lint: .xvm.yaml: rules: port-range: unknown rule level …".
func settingError(cfgPath string, err error) error {
	var se *lint.SettingError
	if !errors.As(err, &se) {
		return fmt.Errorf("lint: %s: %w", cfgPath, err)
	}
	where := "--" + string(se.Setting)
	if se.Origin == lint.FromFile {
		where = cfgPath + ": " + string(se.Setting)
	}
	msg := "lint: " + where + ": " + se.Reason()
	var u *lint.UnknownError
	if errors.As(err, &u) && u.What == "rule" {
		msg += " (see xvm lint --list-rules)"
	}
	return errors.New(msg)
}

// readBounded reads at most schema.MaxSize bytes (plus one, so that the
// loader can say the input is too large) instead of trusting a file's size.
// A file's size, when it has one within the bound, sizes the buffer, so
// that a large config is not copied through a growing one.
func readBounded(r io.Reader) ([]byte, error) {
	var b bytes.Buffer
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= schema.MaxSize {
			b.Grow(int(st.Size()) + bytes.MinRead)
		}
	}
	_, err := b.ReadFrom(io.LimitReader(r, schema.MaxSize+1))
	return b.Bytes(), err
}

// lintStyler colours lint's text output with the palette.
type lintStyler struct{ p palette }

// newLintStyler styles for w, which the caller has decided gets colour.
func newLintStyler(w io.Writer) *lintStyler { return &lintStyler{newPalette(w, true)} }

func (s *lintStyler) Severity(sev lint.Severity, text string) string {
	return s.p.severity(sev).Render(text)
}
func (s *lintStyler) Position(text string) string { return s.p.bold.Render(text) }
func (s *lintStyler) Rule(text string) string     { return s.p.dim.Render(text) }
func (s *lintStyler) Caret(text string) string    { return s.p.ok.Render(text) }
func (s *lintStyler) Dim(text string) string      { return s.p.dim.Render(text) }
