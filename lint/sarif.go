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
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
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
	URI string `json:"uri"`
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

// sarifURI makes a relative, slash-separated URI reference for a file.
func sarifURI(file string) string {
	p := filepath.ToSlash(file)
	u := url.URL{Path: p}
	return strings.TrimPrefix(u.String(), "./")
}

// RenderSARIF writes a SARIF 2.1.0 log with one run, every rule's metadata
// and help text, and one result per diagnostic. version is the tool
// version to record ("" to omit).
func RenderSARIF(w io.Writer, r Report, version string) error {
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
		region := sarifRegion{StartLine: max(1, d.Pos.Line), StartColumn: max(1, d.Pos.Col)}
		if d.End.IsValid() && !d.End.Less(d.Pos) {
			region.EndLine, region.EndColumn = d.End.Line, d.End.Col
		}
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(d.File)}, Region: region}}
		if d.Pointer != "" {
			loc.LogicalLocations = []sarifLogical{{FullyQualifiedName: d.Pointer, Kind: "member"}}
		}
		results = append(results, sarifResult{
			RuleID: d.Rule, RuleIndex: index[d.Rule], Level: sarifLevel(d.Severity),
			Message: sarifText{Text: msg}, Locations: []sarifLocation{loc},
		})
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:    sarifTool{Driver: sarifDriver{Name: "xvm", InformationURI: "https://github.com/xvmtools/xvm", Version: version, Rules: rules}},
			Results: results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}
