// Command xvm lints, converts and probes VMess configurations.
//
// See README.md for the quick start and docs/cli.md for the command-line contract.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := Main(ctx, os.Args[1:], SystemStreams())
	stop()
	os.Exit(code)
}
