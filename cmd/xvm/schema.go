package main

import (
	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/schema"
)

func newSchemaCmd(a *app) *cobra.Command {
	var target string
	cmd := &cobra.Command{
		Use:   "schema [--for settings|outbound|config]",
		Short: "Print the JSON Schema (draft 2020-12) editors use for completion",
		Long: `Print a JSON Schema (draft 2020-12) describing current Xray-core (v26.3.27).

  --for settings   the VMess outbound settings object (vnext or flat form)
  --for outbound   one OutboundObject (default)
  --for config     a whole Xray configuration file

Every property has a description, its default and its allowed values, so
editors show them on hover. Save it and point your editor at it, e.g. in
VS Code: "json.schemas": [{"fileMatch": ["config.json"], "url": "./xray.schema.json"}].`,
		Example: `  xvm schema --for config > xray.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch schema.Root(target) {
			case schema.ForSettings, schema.ForOutbound, schema.ForConfig:
			default:
				return usageErrorf("schema: unknown --for %q: want settings, outbound or config", target)
			}
			doc, err := schema.JSONSchema(schema.Root(target))
			if err != nil {
				return err
			}
			_, err = a.IO.Out.Write(doc)
			return err
		},
	}
	cmd.Flags().StringVar(&target, "for", "outbound", "which schema: settings, outbound or config")
	return cmd
}
