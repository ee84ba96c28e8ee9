package lint_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/xvmtools/xvm/lint"
)

func ExampleLinter_LintBytes() {
	l, err := lint.New(lint.Options{
		Now: func() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	cfg := []byte(`{"vnext": [{"address": "example.com", "port": "443",
  "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b", "secuirty": "none"}]}]}`)
	ds, err := l.LintBytes(context.Background(), "outbound.json", cfg)
	if err != nil {
		panic(err)
	}
	for _, d := range ds {
		fmt.Println(d)
	}
	fmt.Println(lint.Fails(ds, lint.Error))
	// Output:
	// outbound.json:1:47: port is the string "443"; Xray refuses a string here [port-range]
	// outbound.json:2:60: unknown key `secuirty` (did you mean `security`?); Xray ignores it silently [unknown-key]
	// true
}

func ExampleRenderJSON() {
	l, _ := lint.New(lint.Options{Now: time.Now})
	ds, _ := l.LintBytes(context.Background(), "a.json", []byte(`{"address": "example.com", "port": 443, "id": "hello"}`))
	_ = lint.RenderJSON(os.Stdout, lint.Report{Diagnostics: ds, Files: 1})
	// Output:
	// {
	//   "diagnostics": [
	//     {
	//       "file": "a.json",
	//       "line": 1,
	//       "column": 47,
	//       "end_line": 1,
	//       "end_column": 54,
	//       "pointer": "/id",
	//       "rule": "id-not-uuid",
	//       "severity": "warning",
	//       "message": "id \"…\" is not a UUID: Xray maps this 5-byte string to the UUIDv5 b750…2cdf; other clients may not",
	//       "hint": "write the UUID itself: b750…2cdf"
	//     }
	//   ],
	//   "files": 1,
	//   "errors": 0,
	//   "warnings": 1
	// }
}
