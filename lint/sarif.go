package lint

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"
)

// SARIF 2.1.0 types: only the parts xvm fills in.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult            `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// srcRoot is the uriBaseId GitHub code scanning resolves against the
// repository checkout.
const srcRoot = "%SRCROOT%"

// SARIFOptions tune RenderSARIF.
type SARIFOptions struct {
	// Version is the tool version to record ("" to omit).
	Version string
	// BaseDir is the absolute directory files are reported relative to
	// (normally the working directory, which is the repository root in CI).
	// A file under it becomes a relative URI with uriBaseId %SRCROOT%; any
	// other file an absolute file:// URI. Empty treats relative names as
	// under the base and leaves other names relative.
	BaseDir string
}

// sarifLocationOf returns the artifact location of a reported file name.
func sarifLocationOf(file, base string) sarifArtifact {
	if file == StdinName || file == Stdin || file == "" {
		return sarifArtifact{URI: escapeRelative(file)}
	}
	abs := file
	if !filepath.IsAbs(file) && base != "" {
		abs = filepath.Join(base, file)
	}
	if base != "" && filepath.IsAbs(abs) {
		if rel, err := filepath.Rel(base, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return sarifArtifact{URI: escapeRelative(rel), URIBaseID: srcRoot}
		}
		return sarifArtifact{URI: fileURI(abs)}
	}
	clean := filepath.Clean(file)
	if filepath.IsAbs(clean) {
		return sarifArtifact{URI: fileURI(clean)}
	}
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return sarifArtifact{URI: escapeRelative(clean)}
	}
	return sarifArtifact{URI: escapeRelative(clean), URIBaseID: srcRoot}
}

// escapeRelative makes a relative, slash-separated URI reference: each
// segment percent-escaped, and a colon escaped too so that no segment
// reads as a scheme.
func escapeRelative(p string) string {
	segs := strings.Split(filepath.ToSlash(p), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return strings.Join(segs, "/")
}

// fileURI makes an absolute file:// URI.
func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive path
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// RenderSARIF writes a SARIF 2.1.0 log with one run, every rule's metadata
// and help text, and one result per diagnostic. Files under opts.BaseDir
// are relative URIs against %SRCROOT% (what GitHub code scanning maps to
// the repository); others are absolute file:// URIs.
func RenderSARIF(w io.Writer, r Report, opts SARIFOptions) error {
	metas := Rules()
	index := make(map[string]int, len(metas))
	rules := make([]sarifRule, len(metas))
	for i, m := range metas {
		index[m.ID] = i
		rules[i] = sarifRule{
			ID:                   m.ID,
			Name:                 m.ID,
			ShortDescription:     sarifText{Text: m.Summary},
			FullDescription:      sarifText{Text: m.Summary + " " + m.Help},
			Help:                 sarifText{Text: m.Help + " Applies to: " + m.Versions + "."},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(m.Severity)},
			Properties:           map[string]string{"versions": m.Versions},
		}
	}
	results := make([]sarifResult, 0, len(r.Diagnostics))
	for _, d := range r.Diagnostics {
		msg := d.Message
		if d.Hint != "" {
			msg += " (hint: " + d.Hint + ")"
		}
		region := sarifRegion{StartLine: max(1, int(d.Pos.Line)), StartColumn: max(1, int(d.Pos.Col))}
		if d.End.IsValid() && !d.End.Less(d.Pos) {
			region.EndLine, region.EndColumn = int(d.End.Line), int(d.End.Col)
		}
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifLocationOf(d.File, opts.BaseDir), Region: region}}
		if d.Pointer != "" {
			loc.LogicalLocations = []sarifLogical{{FullyQualifiedName: d.Pointer, Kind: "member"}}
		}
		results = append(results, sarifResult{
			RuleID: d.Rule, RuleIndex: index[d.Rule], Level: sarifLevel(d.Severity),
			Message: sarifText{Text: msg}, Locations: []sarifLocation{loc},
		})
	}
	var baseIDs map[string]sarifArtifact
	if opts.BaseDir != "" && filepath.IsAbs(opts.BaseDir) {
		u := fileURI(opts.BaseDir)
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		baseIDs = map[string]sarifArtifact{srcRoot: {URI: u}}
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:               sarifTool{Driver: sarifDriver{Name: "xvm", InformationURI: "https://github.com/xvmtools/xvm", Version: opts.Version, Rules: rules}},
			OriginalURIBaseIDs: baseIDs,
			Results:            results,
		}},
	}
	enc := json.NewEncoder(&jsonGuard{w: w})
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}
