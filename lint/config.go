package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileConfig is the content of a `.xvm.yaml` file:
//
//	target: xray        # or seed
//	fail-on: warning    # error (default), warning or info
//	rules:
//	  unknown-key: off
//	  alter-id: error
type FileConfig struct {
	Target string
	FailOn string
	Rules  map[string]RuleSetting
}

type fileConfigYAML struct {
	Target string            `yaml:"target"`
	FailOn string            `yaml:"fail-on"`
	Rules  map[string]string `yaml:"rules"`
}

// ParseFileConfig reads a `.xvm.yaml` document. Unknown rules and levels
// are errors, so a typo does not silently do nothing; the error names the
// key, and the caller names the file.
func ParseFileConfig(data []byte) (FileConfig, error) {
	var raw fileConfigYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return FileConfig{}, err
	}
	fc := FileConfig{Target: raw.Target, FailOn: raw.FailOn, Rules: make(map[string]RuleSetting)}
	if fc.Target != "" {
		if _, err := ParseTarget(fc.Target); err != nil {
			return FileConfig{}, fmt.Errorf("target: %s", strings.TrimPrefix(err.Error(), "lint: "))
		}
	}
	if fc.FailOn != "" {
		if _, err := ParseSeverity(fc.FailOn); err != nil {
			return FileConfig{}, fmt.Errorf("fail-on: %s", strings.TrimPrefix(err.Error(), "lint: "))
		}
	}
	for id, v := range raw.Rules {
		if !KnownRule(id) {
			return FileConfig{}, fmt.Errorf("rules: unknown rule %q (see `xvm lint --list-rules`)", id)
		}
		s, err := ParseRuleSetting(v)
		if err != nil {
			return FileConfig{}, fmt.Errorf("rules: %s: %s", id, strings.TrimPrefix(err.Error(), "lint: "))
		}
		fc.Rules[id] = s
	}
	return fc, nil
}

// ParseRuleSetting reads "off" (also "false", "disable") or a severity.
func ParseRuleSetting(v string) (RuleSetting, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "off", "false", "disable", "disabled", "none":
		return RuleSetting{Off: true}, nil
	case "on", "true", "enable", "enabled", "default":
		return RuleSetting{}, nil
	}
	sev, err := ParseSeverity(v)
	if err != nil {
		return RuleSetting{}, fmt.Errorf("want off or a severity (error, warning, info): %w", err)
	}
	return RuleSetting{Severity: sev}, nil
}
