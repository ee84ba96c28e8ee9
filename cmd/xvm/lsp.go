package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/lint/lsp"
)

func newLSPCmd(a *app) *cobra.Command {
	var stdio bool
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the language server (LSP over stdio) for editors",
		Long: `Run xvm's language server: the Language Server Protocol over stdin and
stdout, for any editor with an LSP client (VS Code, Neovim, Helix, ...).

It lints each open JSON, YAML or TOML config as you type (the findings of
xvm lint), shows the schema's description of a key on hover, completes keys
and allowed values, and offers xvm lint --fix's fixes as code actions. A
.xvm.yaml next to the file (or in a directory above it, up to the workspace
root) sets the target and the rules, as for xvm lint; initializationOptions
{"config": FILE, "target": "xray"|"seed"} override it.

docs/lsp.md shows the set-up for VS Code, Neovim and Helix.`,
		Example: `  xvm lsp            # started by the editor, not by hand`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := lsp.Serve(cmd.Context(), a.IO.In, a.IO.Out, lsp.Options{Now: time.Now, Version: buildVersion()})
			switch {
			case err == nil:
				return nil
			case errors.Is(err, lsp.ErrNoShutdown), errors.Is(err, io.ErrUnexpectedEOF):
				// The protocol's exit code for a client that left without
				// shutting the server down.
				return &exitError{code: exitFindings, err: fmt.Errorf("lsp: %w", err)}
			}
			return &exitError{code: exitUsage, err: err}
		},
	}
	// vscode-languageclient appends --stdio when it starts a server over
	// stdio; stdio is the only transport, so the flag changes nothing.
	cmd.Flags().BoolVar(&stdio, "stdio", true, "talk LSP over stdin and stdout (the only transport; accepted for clients that pass it)")
	return cmd
}
