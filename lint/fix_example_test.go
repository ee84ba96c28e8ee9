package lint_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/xvmtools/xvm/lint"
)

func ExampleLinter_FixBytes() {
	l, err := lint.New(lint.Options{
		Now: func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	cfg := []byte(`# a flat VMess outbound
protocol: vmess
settings:
  address: example.com
  port: "443"        # quoted
  id: 27848739-7e62-4138-9fd3-098a63964b6b
  alterId: 0
`)
	res, err := l.FixBytes(context.Background(), "outbound.yaml", cfg)
	if err != nil {
		panic(err)
	}
	for _, d := range res.Fixed {
		fmt.Printf("%s: %s\n", d.Rule, d.Fix.Title)
	}
	fmt.Print(string(res.Source))
	// Output:
	// port-range: write the port as the number 443
	// alter-id: remove `alterId: 0` (the default; current Xray ignores the key)
	// # a flat VMess outbound
	// protocol: vmess
	// settings:
	//   address: example.com
	//   port: 443        # quoted
	//   id: 27848739-7e62-4138-9fd3-098a63964b6b
}

func ExampleRenderDiff() {
	before := []byte("{\"address\": \"example.com\", \"port\": \"443\"}\n")
	after := []byte("{\"address\": \"example.com\", \"port\": 443}\n")
	_ = lint.RenderDiff(os.Stdout, "settings.json", before, after, lint.DiffOptions{})
	// Output:
	// --- a/settings.json
	// +++ b/settings.json
	// @@ -1 +1 @@
	// -{"address": "example.com", "port": "443"}
	// +{"address": "example.com", "port": 443}
}
