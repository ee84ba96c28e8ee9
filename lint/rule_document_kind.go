package lint

import "github.com/xvmtools/xvm/schema"

// ruleDocumentKind reports a document that is none of the kinds lint
// understands. It is then judged as a whole config, which is what Xray
// would do with it (ignoring every key it does not know).
type ruleDocumentKind struct{}

func (ruleDocumentKind) meta() RuleMeta {
	return RuleMeta{
		ID:       "document-kind",
		Severity: Warning,
		Summary:  "The document is not an Xray config, an outbound, a list of outbounds or VMess settings.",
		Help:     "Lint Xray files only (a Clash or sing-box file needs `xvm convert` first), or fix the top-level keys: a config has `outbounds`, an outbound has `protocol`, VMess settings have `vnext` or `address`.",
		Versions: "all",
	}
}

func (ruleDocumentKind) check(c *checkContext) {
	if c.doc.Root == nil || c.kind != schema.UnknownKind {
		return
	}
	c.atSpan(c.doc.Root.Pos, c.doc.Root.Pos).
		hint("a config has `outbounds`, an outbound has `protocol`, VMess settings have `vnext` or `address`").
		report("this does not look like an Xray config, outbound or VMess settings; judging it as a whole config")
}
