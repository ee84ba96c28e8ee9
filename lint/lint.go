// Package lint turns a positioned Xray configuration (see package schema)
// into diagnostics: rule id, severity, message, position and a hint that
// says how to fix it. It catches what Xray-core silently ignores or only
// reports at start-up, one finding at a time and without positions.
//
// Rendering is separate: see RenderText, RenderJSON, RenderSARIF and
// RenderGitHub.
package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/xvmtools/xvm/schema"
)

// RuleSetting turns a rule off or changes its severity.
type RuleSetting struct {
	Off bool
	// Severity replaces the rule's default when non-zero.
	Severity Severity
}

// Options configure a Linter.
type Options struct {
	// Runtime is the Xray the config must run on (default RuntimeXray):
	// the "target" setting.
	Runtime Runtime
	// Now is the clock dated removals are judged against. It must be set
	// for RuntimeXray; tests pass a fixed time.
	Now func() time.Time
	// ShowSecrets prints user ids in full instead of masking them.
	ShowSecrets bool
	// Rules turns rules off or re-levels them, by rule id.
	Rules map[string]RuleSetting
	// Fixes says whether LintBytes and Run work out the fixes of their
	// findings (default NoFixes; FixBytes always does).
	Fixes Fixes
	// StdinFormat is the syntax of standard input (the document named
	// StdinName): JSON unless set, as Xray reads a config from stdin
	// (core.LoadConfig: "stdin:" is JSON unless -format says otherwise).
	StdinFormat schema.Format
	// OnlyXray skips a document that parses but is no Xray document (none
	// of a config's, an outbound's or VMess settings' keys at its top;
	// rule document-kind): it gets no findings. For linting a whole
	// repository, where package.json and CI files sit beside the configs.
	// A document that does not parse is still reported: it may be a
	// config.
	OnlyXray bool
}

// Fixes says what a lint does about the fixes of its findings. Working a
// fix out costs a little per finding and keeping it more (its title and
// edits), so a lint that only reports does neither.
type Fixes uint8

// The ways of handling fixes.
const (
	// NoFixes leaves Diagnostic.Fix nil and Fixable false.
	NoFixes Fixes = iota
	// CountFixes works each fix out and sets Diagnostic.Fixable, keeping
	// no Fix: enough to say how many findings `xvm lint --fix` would fix.
	CountFixes
	// AttachFixes sets Diagnostic.Fix (and Fixable): for an editor's code
	// actions.
	AttachFixes
)

// Linter runs the rules. Build it once with New; it is safe for
// concurrent use.
type Linter struct {
	opts    Options
	schemas *schema.Set
	rules   []rule
}

// New compiles the schemas and checks the options.
func New(opts Options) (*Linter, error) {
	set, err := schema.Compile()
	if err != nil {
		return nil, err
	}
	return newLinter(opts, set)
}

// newLinter is New with the schemas compiled already (tests share one
// compilation: it takes tens of milliseconds).
func newLinter(opts Options, set *schema.Set) (*Linter, error) {
	if opts.Runtime == "" {
		opts.Runtime = RuntimeXray
	}
	if opts.Now == nil {
		return nil, errors.New("lint: Options.Now is not set: pass a clock (time.Now in the CLI)")
	}
	switch opts.StdinFormat {
	case "", schema.JSON, schema.YAML, schema.TOML:
	default:
		return nil, &UnknownError{What: "stdin format", Value: string(opts.StdinFormat), Want: "json, yaml or toml"}
	}
	for id := range opts.Rules {
		if !KnownRule(id) {
			return nil, unknownRule(id)
		}
	}
	return &Linter{opts: opts, schemas: set, rules: allRules()}, nil
}

// KnownRule reports whether id names a rule.
func KnownRule(id string) bool {
	for _, r := range allRules() {
		if r.meta().ID == id {
			return true
		}
	}
	return false
}

// LintBytes loads data and lints it. The syntax comes from name (see
// schema.FormatOf); standard input, named StdinName, is read as
// Options.StdinFormat (JSON by default, as Xray reads it). A document that
// cannot be parsed gives one "syntax" diagnostic, not an error: errors are
// for when xvm cannot do its job.
func (l *Linter) LintBytes(ctx context.Context, name string, data []byte) ([]Diagnostic, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc, err := l.load(name, data)
	if err != nil {
		var se *schema.SyntaxError
		if errors.As(err, &se) {
			return l.lintDocument(l.sourceOnly(name, data), se, l.opts.Fixes), nil
		}
		return nil, fmt.Errorf("lint: %s: %w", name, err)
	}
	return l.lintDocument(doc, nil, l.opts.Fixes), nil
}

// load parses data in the syntax its name says, standard input in
// Options.StdinFormat.
func (l *Linter) load(name string, data []byte) (*schema.Document, error) {
	return schema.LoadFormat(name, l.format(name, data), data)
}

// format is the syntax load reads name in.
func (l *Linter) format(name string, data []byte) schema.Format {
	if name == StdinName {
		if l.opts.StdinFormat == "" {
			return schema.JSON
		}
		return l.opts.StdinFormat
	}
	return schema.FormatOf(name, data)
}

// sourceOnly is the Document of a source that did not parse, with the
// format it was read in (its comments are found by that format's rules).
func (l *Linter) sourceOnly(name string, data []byte) *schema.Document {
	doc := schema.SourceOnly(name, data)
	doc.Format = l.format(name, data)
	return doc
}

// lintFixes is LintBytes with the fixes attached, whatever the options
// say: for FixBytes.
func (l *Linter) lintFixes(ctx context.Context, name string, data []byte) ([]Diagnostic, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc, err := l.load(name, data)
	if err != nil {
		var se *schema.SyntaxError
		if errors.As(err, &se) {
			return l.lintDocument(l.sourceOnly(name, data), se, AttachFixes), nil
		}
		return nil, fmt.Errorf("lint: %s: %w", name, err)
	}
	return l.lintDocument(doc, nil, AttachFixes), nil
}

func (l *Linter) lintDocument(doc *schema.Document, parseErr *schema.SyntaxError, fixes Fixes) []Diagnostic {
	c := &checkContext{
		doc:      doc,
		target:   l.opts.Runtime,
		now:      l.opts.Now(),
		parseErr: parseErr,
	}
	secrets := newSecrets(l.opts.ShowSecrets)
	c.mask = secrets.mask
	if parseErr == nil && doc.Root != nil {
		c.kind = schema.Detect(doc.Root)
		if l.opts.OnlyXray && c.kind == schema.UnknownKind && !scalarRoot(doc.Root) {
			return nil
		}
		c.buildViews()
		root := schema.RootFor(c.kind)
		if c.kind == schema.OutboundListKind {
			for i, it := range doc.Root.Items {
				fs, err := l.schemas.Check(root, it, schema.Index("", i))
				if err == nil {
					c.findings = append(c.findings, fs...)
				}
			}
		} else {
			fs, err := l.schemas.Check(root, doc.Root, "")
			if err == nil {
				c.findings = fs
			}
		}
		secrets.collect(doc.Root)
	} else {
		secrets.collectLoose(doc.Source)
	}
	// Most schema findings become one diagnostic each: size the list once
	// rather than growing it through many copies.
	c.out = make([]Diagnostic, 0, len(c.findings)+8)
	for _, r := range l.rules {
		c.cur = r.meta()
		r.check(c)
	}

	suppressed := suppressions(doc)
	kept := c.out[:0]
	for _, d := range c.out {
		if c.superseded[ruleAt{d.Rule, d.Pointer}] {
			continue // a more specific rule explains this value
		}
		set, ok := l.opts.Rules[d.Rule]
		if ok && set.Off {
			continue
		}
		if ok && set.Severity != 0 {
			d.Severity = set.Severity
		}
		if rs, ok := suppressed[int(d.Pos.Line)]; ok && (rs["*"] || rs[d.Rule]) {
			continue
		}
		d.Message, d.Hint = secrets.text(d.Message), secrets.text(d.Hint)
		kept = append(kept, d)
	}
	if len(kept) > 0 {
		src := newSource(doc, kept, secrets)
		for i := range kept {
			kept[i].src = src
		}
	}
	ds := sortDiagnostics(kept)
	if fixes != NoFixes {
		l.attachFixes(c, ds, fixes == AttachFixes)
	}
	return ds
}

// suppressRE matches an inline suppression comment:
// "xvm-disable-next-line rule-a, rule-b" silences those rules on the next
// line; with no rule it silences every rule.
var suppressRE = regexp.MustCompile(`xvm-disable-next-line\b([ \t]+[a-z0-9, \t-]+)?`)

// suppressions maps a line (1-based) to the rules silenced on it. Only a
// real comment of the document's format counts: a string value that reads
// "// xvm-disable-next-line" is data, and must not hide findings.
func suppressions(doc *schema.Document) map[int]map[string]bool {
	src := doc.Source
	if !bytes.Contains(src, []byte("xvm-disable-next-line")) {
		return nil
	}
	out := make(map[int]map[string]bool)
	for _, c := range schema.Comments(doc.Format, src) {
		text := src[c.Start:c.End]
		for _, m := range suppressRE.FindAllSubmatchIndex(text, -1) {
			rules := map[string]bool{}
			if m[2] >= 0 {
				for _, r := range strings.FieldsFunc(string(text[m[2]:m[3]]), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
					rules[r] = true
				}
			}
			if len(rules) == 0 {
				rules["*"] = true
			}
			next := doc.Lines().LineOf(c.Start+m[0]) + 2
			for r := range rules {
				if out[next] == nil {
					out[next] = map[string]bool{}
				}
				out[next][r] = true
			}
		}
	}
	return out
}
