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
// are errors, so a typo does not silently do nothing: a *SettingError
// that names the key (the caller names the file). A document that is not
// YAML, or has keys other than these, gives yaml's own error.
func ParseFileConfig(data []byte) (FileConfig, error) {
	var raw fileConfigYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return FileConfig{}, err
	}
	fc := FileConfig{Target: raw.Target, FailOn: raw.FailOn, Rules: make(map[string]RuleSetting)}
	if fc.Target != "" {
		if _, err := ParseRuntime(fc.Target); err != nil {
			return FileConfig{}, &SettingError{Origin: FromFile, Setting: SettingTarget, Err: err}
		}
	}
	if fc.FailOn != "" {
		if _, err := ParseSeverity(fc.FailOn); err != nil {
			return FileConfig{}, &SettingError{Origin: FromFile, Setting: SettingFailOn, Err: err}
		}
	}
	for id, v := range raw.Rules {
		if !KnownRule(id) {
			return FileConfig{}, &SettingError{Origin: FromFile, Setting: SettingRules, Err: unknownRule(id)}
		}
		s, err := ParseRuleSetting(v)
		if err != nil {
			return FileConfig{}, &SettingError{Origin: FromFile, Setting: SettingRules, Rule: id, Err: err}
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
	if sev, err := ParseSeverity(v); err == nil {
		return RuleSetting{Severity: sev}, nil
	}
	return RuleSetting{}, &UnknownError{What: "rule level", Value: v, Want: "off or a severity (error, warning, info)"}
}

// Flags are the settings given on the command line, laid over a settings
// file by Merge. Empty strings and nil lists mean "not given".
type Flags struct {
	Target string
	FailOn string
	// Disable turns rules off.
	Disable []string
	// Rules re-level rules: "RULE=LEVEL", LEVEL as in ParseRuleSetting.
	Rules []string
	// Enable turns rules back on, whatever turned them off.
	Enable []string
}

// Settings are the merged settings of one run.
type Settings struct {
	Target Runtime
	// FailOn is the least severity that fails the run.
	FailOn Severity
	// Rules is for Options.Rules; never nil.
	Rules map[string]RuleSetting
}

// Merge lays flags over a settings file (the zero FileConfig when there is
// none) and checks the result. A flag that is given replaces the file's
// value; --disable and --rule replace the file's setting of that rule, in
// that order; --enable turns a rule back on, keeping a level set for it.
// The defaults are target xray and fail-on error. A bad value is a
// *SettingError that says which setting and where it came from.
func Merge(file FileConfig, flags Flags) (Settings, error) {
	targetName, targetFrom := file.Target, FromFile
	if flags.Target != "" {
		targetName, targetFrom = flags.Target, FromFlags
	}
	target, err := ParseRuntime(targetName)
	if err != nil {
		return Settings{}, &SettingError{Origin: targetFrom, Setting: SettingTarget, Err: err}
	}
	failOnName, failOnFrom := "error", FromFile
	if file.FailOn != "" {
		failOnName = file.FailOn
	}
	if flags.FailOn != "" {
		failOnName, failOnFrom = flags.FailOn, FromFlags
	}
	failOn, err := ParseSeverity(failOnName)
	if err != nil {
		return Settings{}, &SettingError{Origin: failOnFrom, Setting: SettingFailOn, Err: err}
	}
	rules := make(map[string]RuleSetting, len(file.Rules)+len(flags.Disable)+len(flags.Rules))
	for id, s := range file.Rules {
		rules[id] = s
	}
	for _, id := range flags.Disable {
		if !KnownRule(id) {
			return Settings{}, &SettingError{Origin: FromFlags, Setting: SettingDisable, Err: unknownRule(id)}
		}
		rules[id] = RuleSetting{Off: true}
	}
	for _, kv := range flags.Rules {
		id, level, ok := strings.Cut(kv, "=")
		if !ok {
			return Settings{}, &SettingError{Origin: FromFlags, Setting: SettingRule,
				Err: &UnknownError{What: "rule setting", Value: kv, Want: "RULE=LEVEL"}}
		}
		if !KnownRule(id) {
			return Settings{}, &SettingError{Origin: FromFlags, Setting: SettingRule, Err: unknownRule(id)}
		}
		s, err := ParseRuleSetting(level)
		if err != nil {
			return Settings{}, &SettingError{Origin: FromFlags, Setting: SettingRule, Rule: id, Err: err}
		}
		rules[id] = s
	}
	for _, id := range flags.Enable {
		if !KnownRule(id) {
			return Settings{}, &SettingError{Origin: FromFlags, Setting: SettingEnable, Err: unknownRule(id)}
		}
		s := rules[id]
		s.Off = false
		rules[id] = s
	}
	return Settings{Target: target, FailOn: failOn, Rules: rules}, nil
}

// Origin says where a setting came from.
type Origin uint8

// The origins of settings.
const (
	FromFile  Origin = iota + 1 // the settings file (.xvm.yaml)
	FromFlags                   // the command line
)

// Setting names one setting: the settings file's key, or the flag.
type Setting string

// The settings.
const (
	SettingTarget  Setting = "target"
	SettingFailOn  Setting = "fail-on"
	SettingRules   Setting = "rules"   // the file's rules map
	SettingDisable Setting = "disable" // the flags that turn rules off,
	SettingRule    Setting = "rule"    // re-level them,
	SettingEnable  Setting = "enable"  // and turn them back on
)

// SettingError is a bad setting: which one, where it came from, the rule
// it is about (if any) and why (an *UnknownError).
type SettingError struct {
	Origin  Origin
	Setting Setting
	Rule    string
	Err     error
}

// Reason says what is wrong, naming the rule but neither the setting nor
// its origin: "port-range: unknown rule level \"loud\": want …".
func (e *SettingError) Reason() string {
	why := e.Err.Error()
	var u *UnknownError
	if errors.As(e.Err, &u) {
		why = u.Reason()
	}
	if e.Rule != "" {
		return e.Rule + ": " + why
	}
	return why
}

// Error names the setting as the settings file spells it.
func (e *SettingError) Error() string {
	return fmt.Sprintf("lint: %s: %s", e.Setting, e.Reason())
}

// Unwrap returns the reason.
func (e *SettingError) Unwrap() error { return e.Err }

// UnknownError is a value lint does not know: a target, a severity, a rule
// or a rule level.
type UnknownError struct {
	What  string // "target", "severity", "rule", "rule level", "rule setting"
	Value string
	// Want says what is accepted; empty for a rule (Rules lists them).
	Want string
}

// Reason is the message without the package prefix, for callers that put
// where the value came from in front of it.
func (e *UnknownError) Reason() string {
	if e.Want == "" {
		return fmt.Sprintf("unknown %s %q", e.What, e.Value)
	}
	return fmt.Sprintf("unknown %s %q: want %s", e.What, e.Value, e.Want)
}

func (e *UnknownError) Error() string { return "lint: " + e.Reason() }

func unknownRule(id string) error { return &UnknownError{What: "rule", Value: id} }
