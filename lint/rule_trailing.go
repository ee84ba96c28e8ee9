package lint

import "github.com/xvmtools/xvm/schema"

// ruleTrailingContent reports text after the first JSON value. Xray's
// decoder stops after one value and ignores the rest, so a second object
// (two configs pasted into one file) silently does nothing.
type ruleTrailingContent struct{}

func (ruleTrailingContent) meta() RuleMeta {
	return RuleMeta{
		ID:       "trailing-content",
		Severity: Warning,
		Summary:  "Text after the end of the JSON document; Xray ignores it.",
		Help:     "Remove it, or merge it into the document (Xray reads only the first JSON value in a file).",
		Versions: "all",
	}
}

func (ruleTrailingContent) check(c *checkContext) {
	if c.doc.Root == nil || !c.doc.Trailing.IsValid() || scalarRoot(c.doc.Root) {
		return // a bare value is an error of its own (document-kind)
	}
	p := c.doc.Trailing
	c.atSpan(p, schema.Pos{Line: p.Line, Col: p.Col + 1}).hint("remove it, or merge it into the document").
		report("text after the end of the JSON document is ignored by Xray")
}
