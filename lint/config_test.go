package lint

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMerge is the precedence of .xvm.yaml and the command line: a flag
// given replaces the file's value; --disable, then --rule, replace the
// file's setting of a rule; --enable turns a rule back on whatever turned
// it off, keeping its level.
func TestMerge(t *testing.T) {
	file := FileConfig{Target: "seed", FailOn: "warning", Rules: map[string]RuleSetting{
		"unknown-key": {Off: true},
		"alter-id":    {Severity: Error},
		"port-range":  {Off: true, Severity: Warning},
	}}
	tests := []struct {
		name  string
		file  FileConfig
		flags Flags
		want  Settings
	}{
		{"defaults", FileConfig{}, Flags{}, Settings{Target: RuntimeXray, FailOn: Error, Rules: map[string]RuleSetting{}}},
		{"the file alone", file, Flags{}, Settings{Target: RuntimeSeed, FailOn: Warning, Rules: file.Rules}},
		{"flags replace the file's target and fail-on", file, Flags{Target: "xray", FailOn: "info"},
			Settings{Target: RuntimeXray, FailOn: Info, Rules: file.Rules}},
		{"disable over the file's level", file, Flags{Disable: []string{"alter-id"}},
			Settings{Target: RuntimeSeed, FailOn: Warning, Rules: map[string]RuleSetting{
				"unknown-key": {Off: true}, "alter-id": {Off: true}, "port-range": {Off: true, Severity: Warning}}}},
		{"rule after disable", FileConfig{}, Flags{Disable: []string{"alter-id"}, Rules: []string{"alter-id=info"}},
			Settings{Target: RuntimeXray, FailOn: Error, Rules: map[string]RuleSetting{"alter-id": {Severity: Info}}}},
		{"rule off", FileConfig{}, Flags{Rules: []string{"alter-id=off"}},
			Settings{Target: RuntimeXray, FailOn: Error, Rules: map[string]RuleSetting{"alter-id": {Off: true}}}},
		{"enable keeps the file's level", file, Flags{Enable: []string{"port-range", "unknown-key"}},
			Settings{Target: RuntimeSeed, FailOn: Warning, Rules: map[string]RuleSetting{
				"unknown-key": {}, "alter-id": {Severity: Error}, "port-range": {Severity: Warning}}}},
		{"enable wins over disable", FileConfig{}, Flags{Disable: []string{"alter-id"}, Enable: []string{"alter-id"}},
			Settings{Target: RuntimeXray, FailOn: Error, Rules: map[string]RuleSetting{"alter-id": {}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(tt.file, tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Merge (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Merge(file, Flags{}); err != nil {
		t.Fatal(err)
	}
	if file.Rules["unknown-key"] != (RuleSetting{Off: true}) {
		t.Error("Merge changed the file's rules")
	}
}

// TestMergeErrors checks each bad value is a *SettingError naming the
// setting and where it came from, with an *UnknownError as the reason.
func TestMergeErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    FileConfig
		flags   Flags
		origin  Origin
		setting Setting
		rule    string
		what    string // UnknownError.What
	}{
		{"flag target", FileConfig{}, Flags{Target: "v2ray"}, FromFlags, SettingTarget, "", "target"},
		{"file target", FileConfig{Target: "v2ray"}, Flags{}, FromFile, SettingTarget, "", "target"},
		{"flag fail-on", FileConfig{FailOn: "error"}, Flags{FailOn: "loud"}, FromFlags, SettingFailOn, "", "severity"},
		{"file fail-on", FileConfig{FailOn: "loud"}, Flags{}, FromFile, SettingFailOn, "", "severity"},
		{"disable unknown rule", FileConfig{}, Flags{Disable: []string{"nope"}}, FromFlags, SettingDisable, "", "rule"},
		{"rule without a level", FileConfig{}, Flags{Rules: []string{"alter-id"}}, FromFlags, SettingRule, "", "rule setting"},
		{"rule unknown", FileConfig{}, Flags{Rules: []string{"nope=off"}}, FromFlags, SettingRule, "", "rule"},
		{"rule bad level", FileConfig{}, Flags{Rules: []string{"alter-id=loud"}}, FromFlags, SettingRule, "alter-id", "rule level"},
		{"enable unknown rule", FileConfig{}, Flags{Enable: []string{"nope"}}, FromFlags, SettingEnable, "", "rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(tt.file, tt.flags)
			var se *SettingError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SettingError", err)
			}
			if se.Origin != tt.origin || se.Setting != tt.setting || se.Rule != tt.rule {
				t.Errorf("got origin %d setting %q rule %q, want %d %q %q", se.Origin, se.Setting, se.Rule, tt.origin, tt.setting, tt.rule)
			}
			var u *UnknownError
			if !errors.As(err, &u) || u.What != tt.what {
				t.Errorf("reason %v, want an unknown %s", se.Err, tt.what)
			}
		})
	}
}

// TestParseFileConfigErrors checks the settings file's errors name the key.
func TestParseFileConfigErrors(t *testing.T) {
	tests := []struct {
		text    string
		setting Setting
		rule    string
		msg     string
	}{
		{"rules:\n  nope: off\n", SettingRules, "", `lint: rules: unknown rule "nope"`},
		{"rules:\n  alter-id: loud\n", SettingRules, "alter-id", `lint: rules: alter-id: unknown rule level "loud": want off or a severity (error, warning, info)`},
		{"target: v2ray\n", SettingTarget, "", `lint: target: unknown target "v2ray": want xray (current Xray-core) or seed (the seed manual)`},
		{"fail-on: loud\n", SettingFailOn, "", `lint: fail-on: unknown severity "loud": want error, warning or info`},
	}
	for _, tt := range tests {
		_, err := ParseFileConfig([]byte(tt.text))
		var se *SettingError
		if !errors.As(err, &se) || se.Origin != FromFile || se.Setting != tt.setting || se.Rule != tt.rule || err.Error() != tt.msg {
			t.Errorf("%q: got %v (%+v), want %q", tt.text, err, se, tt.msg)
		}
	}
}
