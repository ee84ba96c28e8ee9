// Package schema owns the shape of an Xray VMess configuration: the JSON
// Schema documents (draft 2020-12, embedded), loaders that turn JSON with
// comments, YAML and TOML into one positioned tree, and a checker that
// judges such a tree against the schema the way Xray reads it (keys matched
// case-insensitively, unknown keys ignored by Xray but reported here).
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed xvm.schema.json
var source []byte

// Root names one of the documents `xvm schema --for` prints.
type Root string

// The schema roots.
const (
	// ForSettings is the VMess outbound settings object (vnext or flat form).
	ForSettings Root = "settings"
	// ForOutbound is one OutboundObject.
	ForOutbound Root = "outbound"
	// ForConfig is a whole Xray configuration file.
	ForConfig Root = "config"
)

// Roots lists the schema roots in the order the CLI documents them.
func Roots() []Root { return []Root{ForSettings, ForOutbound, ForConfig} }

// Version is the path segment under which the printed schemas are
// committed in the repository (schema/v1/<root>.schema.json). It changes
// only when a schema drops or retypes a key, so a config's "$schema" URL
// keeps working across xvm releases.
const Version = "v1"

// IDBase is the URL the printed schemas are identified by: the committed
// copies in the repository, so an editor without xvm can fetch them.
const IDBase = "https://raw.githubusercontent.com/xvmtools/xvm/main/schema/" + Version + "/"

// FileName is the name of r's committed schema under schema/<Version>/.
func FileName(r Root) string { return string(r) + ".schema.json" }

// ID is the stable $id (and download URL) of r's schema.
func ID(r Root) string { return IDBase + FileName(r) }

type rootInfo struct {
	def, title, description string
}

func info(r Root) (rootInfo, bool) {
	switch r {
	case ForSettings:
		return rootInfo{"vmessSettings", "Xray VMess outbound settings", "The `settings` object of an Xray-core (v26.3.27) VMess outbound: the seed manual's vnext form or the flat form."}, true
	case ForOutbound:
		return rootInfo{"outbound", "Xray outbound", "One Xray-core (v26.3.27) OutboundObject; VMess settings are judged in full, other protocols' settings are not."}, true
	case ForConfig:
		return rootInfo{"config", "Xray configuration", "A whole Xray-core (v26.3.27) configuration file; outbounds are judged in full, other sections loosely."}, true
	}
	return rootInfo{}, false
}

// JSONSchema returns the JSON Schema document for r, indented, ready to print
// or to save for an editor. It is self-contained (every $ref is local).
func JSONSchema(r Root) ([]byte, error) {
	ri, ok := info(r)
	if !ok {
		return nil, fmt.Errorf("schema: unknown schema %q: want settings, outbound or config", r)
	}
	var src struct {
		Defs json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(source, &src); err != nil {
		return nil, fmt.Errorf("schema: embedded schema is broken: %w", err)
	}
	doc := struct {
		Schema      string          `json:"$schema"`
		ID          string          `json:"$id"`
		Title       string          `json:"title"`
		Description string          `json:"description"`
		Ref         string          `json:"$ref"`
		Defs        json.RawMessage `json:"$defs"`
	}{
		Schema:      "https://json-schema.org/draft/2020-12/schema",
		ID:          ID(r),
		Title:       ri.title,
		Description: ri.description,
		Ref:         "#/$defs/" + ri.def,
		Defs:        src.Defs,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Set holds the compiled schemas. Compile it once and share it; it is safe
// for concurrent use.
type Set struct {
	roots  map[Root]*jsonschema.Schema
	static map[*jsonschema.Schema]*expansion
}

// Compile compiles every schema root.
func Compile() (*Set, error) {
	s := &Set{roots: make(map[Root]*jsonschema.Schema), static: make(map[*jsonschema.Schema]*expansion)}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.ExtractAnnotations = true
	for _, r := range Roots() {
		doc, err := JSONSchema(r)
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(ID(r), bytes.NewReader(doc)); err != nil {
			return nil, fmt.Errorf("schema: %s: %w", r, err)
		}
	}
	for _, r := range Roots() {
		sc, err := c.Compile(ID(r))
		if err != nil {
			return nil, fmt.Errorf("schema: compile %s: %w", r, err)
		}
		if err := checkSupported(sc); err != nil {
			return nil, err
		}
		s.roots[r] = sc
		s.precompute(sc)
	}
	return s, nil
}

// Schema returns the compiled schema for r (nil for an unknown root).
func (s *Set) Schema(r Root) *jsonschema.Schema { return s.roots[r] }
