package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/schema/safetext"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	Color colorMode
	Quiet bool
}

// app is what every command gets: the streams and the global options.
type app struct {
	IO     *IOStreams
	Global *globalOptions
}

// colorOut and colorErr tell whether stdout and stderr are styled.
func (a *app) colorOut() bool { return a.Global.Color.enabled(a.IO.OutTTY, a.IO.Getenv) }
func (a *app) colorErr() bool { return a.Global.Color.enabled(a.IO.ErrTTY, a.IO.Getenv) }

// Main runs xvm with args and returns the process exit code. Tests call it
// with buffer streams.
func Main(ctx context.Context, args []string, ios *IOStreams) int {
	root := newRootCmd(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) || ee.err != nil {
			fmt.Fprintf(ios.ErrOut, "xvm: %s\n", safetext.Escape(err.Error()))
		}
		if !errors.As(err, &ee) && isCobraUsageError(err) {
			fmt.Fprintf(ios.ErrOut, "Run 'xvm --help' for usage.\n")
		}
	}
	return exitCode(err)
}

// isCobraUsageError recognises the errors cobra makes for unknown commands
// and flags, which it returns untyped.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(ios *IOStreams) *cobra.Command {
	a := &app{IO: ios, Global: &globalOptions{Color: colorAuto}}
	root := &cobra.Command{
		Use:   "xvm",
		Short: "Lint, convert and probe VMess configurations",
		Long: `xvm is a toolkit for VMess, the proxy protocol of Xray-core and V2Ray.

  xvm lint      validate VMess outbounds and whole Xray configs (CI-friendly)
  xvm lsp       language server: lint, hover, completion and fixes in editors
  xvm schema    print the JSON Schema editors use for completion
  xvm convert   translate share links, subscriptions, Clash, sing-box and Xray configs
  xvm probe     check that servers accept us, how fast they are, and their clock skew
  xvm serve     probe servers on a schedule: Prometheus metrics and a status page

Exit codes: 0 success, 1 findings or failed probes, 2 usage, input or I/O error.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Unknown sub-commands are usage errors, not help screens.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	pf := root.PersistentFlags()
	pf.Var(&a.Global.Color, "color", "style output: auto, always or never (NO_COLOR is honoured)")
	pf.BoolVarP(&a.Global.Quiet, "quiet", "q", false, "print only results, warnings and errors")

	root.AddCommand(
		newVersionCmd(a),
		newCompletionCmd(a),
		newLintCmd(a),
		newLSPCmd(a),
		newSchemaCmd(a),
		newConvertCmd(a),
		newProbeCmd(a),
		newServeCmd(a),
	)
	return root
}
