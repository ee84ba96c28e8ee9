package lint

import "github.com/xvmtools/xvm/schema"

// ruleSyntax reports a document that cannot be parsed. Xray refuses it too
// ("failed to read config file at line L char C").
type ruleSyntax struct{}

func (ruleSyntax) meta() RuleMeta {
	return RuleMeta{
		ID:       "syntax",
		Severity: Error,
		Summary:  "The file is not valid JSON (with comments), YAML or TOML.",
		Help:     "Fix the syntax at the position shown. JSON files may use //, /* */ and # comments, as Xray allows; trailing commas are not allowed.",
		Versions: "all",
	}
}

func (ruleSyntax) check(c *checkContext) {
	if c.parseErr == nil {
		return
	}
	p := c.parseErr.Pos
	c.atSpan(p, schema.Pos{Line: p.Line, Col: p.Col + 1}).
		hint("fix the syntax here; Xray refuses to load a file it cannot parse").report(c.parseErr.Msg)
}
