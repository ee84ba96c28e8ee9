package lint

import "github.com/xvmtools/xvm/schema"

// ruleDocumentKind reports a document that is none of the kinds lint
// understands. An object is then judged as a whole config, which is what
// Xray would do with it (ignoring every key it does not know); a string,
// number or boolean is an error, because Xray's decoder refuses it
// ("cannot unmarshal string into Go value of type conf.Config"). That is
// what a fragment of a config looks like: `"stats": {}` parses as the
// string "stats" followed by text.
type ruleDocumentKind struct{}

func (ruleDocumentKind) meta() RuleMeta {
	return RuleMeta{
		ID:       "document-kind",
		Severity: Warning,
		Summary:  "The document is not an Xray config, an outbound, a list of outbounds or VMess settings.",
		Help:     "Lint Xray files only (a Clash or sing-box file needs `xvm convert` first), or fix the top-level keys: a config has `outbounds`, an outbound has `protocol`, VMess settings have `vnext` or `address`. A document that is a bare string, number or boolean (a fragment such as `\"stats\": {}`) is an error: Xray refuses it.",
		Versions: "all",
		// The schema's "expected object" on the root says less.
		Supersedes: []string{"schema"},
	}
}

func (ruleDocumentKind) check(c *checkContext) {
	root := c.doc.Root
	if root == nil || c.kind != schema.UnknownKind {
		return
	}
	at := c.atSpan(root.Pos, root.Pos)
	if scalarRoot(root) {
		at.severity(Error).hint("a config is one JSON object: if this is part of one, wrap its keys in { }").
			reportf("the document is a JSON %s, not an object; Xray refuses it (is this a fragment of a config?)", root.Kind)
		return
	}
	at.hint("a config has `outbounds`, an outbound has `protocol`, VMess settings have `vnext` or `address`").
		report("this does not look like an Xray config, outbound or VMess settings; judging it as a whole config")
}

// scalarRoot reports a document that is a string, number or boolean,
// which Xray's decoder refuses as a config.
func scalarRoot(root *schema.Node) bool {
	switch root.Kind {
	case schema.String, schema.Number, schema.Bool:
		return true
	}
	return false
}
