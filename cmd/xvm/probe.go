package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newProbeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "probe",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &exitError{code: exitUsage, err: errors.New("probe: not built yet")}
		},
	}
}
