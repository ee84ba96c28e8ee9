package lint

import (
	"fmt"
	"strings"

	"github.com/xvmtools/xvm/schema"
)

// ruleSchema turns JSON Schema violations (wrong type, value not allowed,
// out of range) into diagnostics. A value that a more specific rule already
// explains is not reported twice.
type ruleSchema struct{}

func (ruleSchema) meta() RuleMeta {
	return RuleMeta{
		ID:       "schema",
		Severity: Error,
		Summary:  "A value has the wrong type or is not one Xray accepts.",
		Help:     "Change the value to one the schema allows (`xvm schema` prints it; editors show it on hover). Xray refuses these values when it loads the config.",
		Versions: "xray v26.3.27 (the schema describes current Xray)",
	}
}

func (ruleSchema) check(c *checkContext) {
	for _, f := range c.findings {
		if f.Kind != schema.Violation {
			continue
		}
		key := lastToken(f.Pointer)
		msg, hint := f.Detail.Message, "see `xvm schema` for the allowed values"
		if f.Detail.Keyword == "enum" {
			vals := make([]string, 0, len(f.Detail.Allowed))
			for _, a := range f.Detail.Allowed {
				if a != "" {
					vals = append(vals, a)
				}
			}
			got := ""
			if f.Node != nil {
				got = f.Node.Text
			}
			msg = fmt.Sprintf("%q is not an allowed value", got)
			if len(vals) <= 12 {
				hint = "use one of: " + strings.Join(vals, ", ")
			}
			if s := didYouMean(got, vals); s != "" {
				hint = "did you mean `" + s + "`?"
				if strings.EqualFold(s, got) {
					hint = "write `" + s + "`: Xray compares this value case-sensitively"
				}
			}
		}
		if f.Detail.Keyword == "required" {
			msg = fmt.Sprintf("`%s` is missing; Xray refuses the object without it", f.Key)
			hint = "add `" + f.Key + "`"
			key = ""
		}
		if key != "" {
			msg = "`" + key + "`: " + msg
		}
		c.atNode(f.Pointer, f.Node).hint(hint).report(msg)
	}
}

func lastToken(ptr string) string {
	i := strings.LastIndexByte(ptr, '/')
	if i < 0 {
		return ""
	}
	return schema.UnescapePointer(ptr[i+1:])
}
