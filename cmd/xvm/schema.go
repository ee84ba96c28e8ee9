package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newSchemaCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "schema",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &exitError{code: exitUsage, err: errors.New("schema: not built yet")}
		},
	}
}
