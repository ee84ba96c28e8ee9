package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newLintCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "lint",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &exitError{code: exitUsage, err: errors.New("lint: not built yet")}
		},
	}
}
