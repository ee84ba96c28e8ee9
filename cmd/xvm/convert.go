package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newConvertCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "convert",
		Short:  "(not built yet)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &exitError{code: exitUsage, err: errors.New("convert: not built yet")}
		},
	}
}
