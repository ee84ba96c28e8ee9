package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/xvmtools/xvm/probe"
)

// Settings are how a group of targets is probed. A config file's top level
// gives defaults for every group, and each group may override them.
type Settings struct {
	// Interval is the time between two probe cycles of the group.
	Interval time.Duration
	// Timeout bounds each attempt (probe.Options.Timeout).
	Timeout time.Duration
	// URL is fetched through every server (probe.Options.URL).
	URL string
	// Count is the number of samples per server and cycle.
	Count int
	// Concurrency is how many servers of the group are probed at once.
	Concurrency int
	// SkewEvery is how often the clock offset of a working server is
	// measured (a search costs about 20 handshakes), and how often a server
	// that rejected us at every offset is searched in full again; between
	// full searches such a server gets a short one around our clock. Zero
	// measures working servers never (rejected ones always get a full
	// search).
	SkewEvery time.Duration
	// Labels are extra Prometheus labels on every series of the group's
	// targets.
	Labels map[string]string
}

// DefaultSettings are the settings of a group that sets nothing, before
// the command line's flags.
func DefaultSettings() Settings {
	return Settings{
		Interval:    30 * time.Second,
		Timeout:     5 * time.Second,
		URL:         probe.DefaultURL,
		Count:       3,
		Concurrency: 32,
		SkewEvery:   10 * time.Minute,
	}
}

// Config is a parsed config file: defaults and the groups of targets.
type Config struct {
	// Settings are the top level's defaults, applied over the caller's.
	Settings partialSettings
	// Groups are in file order.
	Groups []GroupConfig
}

// GroupConfig is one group of a config file.
type GroupConfig struct {
	// Name labels the group's series (label group); unique in the file.
	Name string
	// Sources are the group's targets as written: share links, files
	// (relative to the config file) and subscription URLs.
	Sources []string
	// Line is where the group starts in the file, for messages.
	Line int

	settings partialSettings
}

// partialSettings are the settings one level of a config file sets; nil
// fields inherit.
type partialSettings struct {
	Interval    *time.Duration
	Timeout     *time.Duration
	URL         *string
	Count       *int
	Concurrency *int
	SkewEvery   *time.Duration
	Labels      map[string]string
}

// over returns base with p's fields applied; labels merge, p's winning.
func (p partialSettings) over(base Settings) Settings {
	s := base
	if p.Interval != nil {
		s.Interval = *p.Interval
	}
	if p.Timeout != nil {
		s.Timeout = *p.Timeout
	}
	if p.URL != nil {
		s.URL = *p.URL
	}
	if p.Count != nil {
		s.Count = *p.Count
	}
	if p.Concurrency != nil {
		s.Concurrency = *p.Concurrency
	}
	if p.SkewEvery != nil {
		s.SkewEvery = *p.SkewEvery
	}
	if len(p.Labels) > 0 || len(base.Labels) > 0 {
		s.Labels = make(map[string]string, len(base.Labels)+len(p.Labels))
		for k, v := range base.Labels {
			s.Labels[k] = v
		}
		for k, v := range p.Labels {
			s.Labels[k] = v
		}
	}
	return s
}

// Limits of a config file, so that a hostile or mistaken file cannot make
// the exporter's memory or series count explode.
const (
	// MaxConfigBytes is the largest config file read.
	MaxConfigBytes = 1 << 20
	// MaxGroups is the most groups a config may have.
	MaxGroups = 256
	// MaxSourcesPerGroup is the most sources one group may list.
	MaxSourcesPerGroup = 1024
	// MaxLabelKeys is the most distinct extra label names across a config:
	// every series carries all of them.
	MaxLabelKeys = 8
	// MaxLabelValueLen bounds a label value (and a group name) in bytes.
	MaxLabelValueLen = 128
)

// reservedLabels are the labels serve sets itself, and the ones Prometheus
// and its histograms use.
var reservedLabels = []string{"name", "server", "transport", "group", "kind", "phase", "le", "quantile", "instance", "job", "result", "version"}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ConfigError is a config file that cannot be used: where, and why.
type ConfigError struct {
	File string
	// Line is 1-based; 0 when the problem has no one place.
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("serve: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("serve: %s: %s", e.File, e.Msg)
}

// ParseConfig reads a config file's YAML. name is the file's name for
// messages. Unknown keys are errors (a misspelt key would otherwise be
// ignored silently). Values are checked by Resolve, against the defaults.
func ParseConfig(name string, data []byte) (*Config, error) {
	if len(data) > MaxConfigBytes {
		return nil, &ConfigError{File: name, Msg: fmt.Sprintf("the file is over the %d-byte limit", MaxConfigBytes)}
	}
	var doc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlConfigError(name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		for i, line := range groupLines(&root) {
			if i < len(doc.Groups) {
				doc.Groups[i].line = line
			}
		}
	}
	cfg := &Config{}
	var err error
	if cfg.Settings, err = doc.fileSettings.parse(name, 0); err != nil {
		return nil, err
	}
	if len(doc.Groups) > MaxGroups {
		return nil, &ConfigError{File: name, Msg: fmt.Sprintf("%d groups; at most %d are allowed", len(doc.Groups), MaxGroups)}
	}
	seen := map[string]int{}
	for _, g := range doc.Groups {
		gc := GroupConfig{Name: strings.TrimSpace(g.Name), Sources: g.Targets, Line: g.line}
		switch {
		case gc.Name == "":
			return nil, &ConfigError{File: name, Line: g.line, Msg: "a group needs a name"}
		case len(gc.Name) > MaxLabelValueLen || !utf8.ValidString(gc.Name):
			return nil, &ConfigError{File: name, Line: g.line, Msg: fmt.Sprintf("group name must be valid UTF-8 of at most %d bytes", MaxLabelValueLen)}
		case seen[gc.Name] > 0:
			return nil, &ConfigError{File: name, Line: g.line, Msg: fmt.Sprintf("group %q is defined twice (first on line %d)", gc.Name, seen[gc.Name])}
		case len(gc.Sources) == 0:
			return nil, &ConfigError{File: name, Line: g.line, Msg: fmt.Sprintf("group %q has no targets: list links, files or subscription URLs under targets", gc.Name)}
		case len(gc.Sources) > MaxSourcesPerGroup:
			return nil, &ConfigError{File: name, Line: g.line, Msg: fmt.Sprintf("group %q lists %d targets; at most %d entries are allowed (put the links in a file)", gc.Name, len(gc.Sources), MaxSourcesPerGroup)}
		}
		seen[gc.Name] = g.line
		for i, src := range gc.Sources {
			if strings.TrimSpace(src) == "" {
				return nil, &ConfigError{File: name, Line: g.line, Msg: fmt.Sprintf("group %q: target %d is empty", gc.Name, i+1)}
			}
		}
		if gc.settings, err = g.fileSettings.parse(name, g.line); err != nil {
			return nil, err
		}
		cfg.Groups = append(cfg.Groups, gc)
	}
	return cfg, nil
}

// yamlConfigError turns yaml.v3's "yaml: line N: msg" into a ConfigError.
func yamlConfigError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if _, err := fmt.Sscanf(n, "%d", &line); err == nil {
				msg = after
			}
		}
	}
	if field, ok := strings.CutPrefix(msg, "field "); ok {
		if key, _, ok := strings.Cut(field, " not found in type "); ok {
			msg = fmt.Sprintf("unknown key %q; the keys are interval, timeout, url, count, concurrency, skew_every, labels, groups (and in a group: name, targets)", key)
		}
	}
	return &ConfigError{File: name, Line: line, Msg: msg}
}

// fileConfig is the YAML shape of a config file.
type fileConfig struct {
	fileSettings `yaml:",inline"`
	Groups       []fileGroup `yaml:"groups"`
}

type fileGroup struct {
	Name         string `yaml:"name"`
	fileSettings `yaml:",inline"`
	Targets      []string `yaml:"targets"`
	line         int
}

// groupLines are the lines where the items of the top-level groups list
// start. (A custom UnmarshalYAML could keep them, but yaml.v3 does not pass
// KnownFields down to it, so unknown keys in groups would go unnoticed.)
func groupLines(root *yaml.Node) []int {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "groups" && root.Content[i+1].Kind == yaml.SequenceNode {
			var lines []int
			for _, item := range root.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}

// fileSettings are the settings keys, at the top level and in a group.
// Durations are Go durations ("30s", "1m30s").
type fileSettings struct {
	Interval    *string           `yaml:"interval"`
	Timeout     *string           `yaml:"timeout"`
	URL         *string           `yaml:"url"`
	Count       *int              `yaml:"count"`
	Concurrency *int              `yaml:"concurrency"`
	SkewEvery   *string           `yaml:"skew_every"`
	Labels      map[string]string `yaml:"labels"`
}

func (f fileSettings) parse(file string, line int) (partialSettings, error) {
	var p partialSettings
	dur := func(key string, s *string) (*time.Duration, error) {
		if s == nil {
			return nil, nil
		}
		d, err := time.ParseDuration(strings.TrimSpace(*s))
		if err != nil {
			return nil, &ConfigError{File: file, Line: line, Msg: fmt.Sprintf("%s %q is not a duration such as 30s or 5m", key, *s)}
		}
		return &d, nil
	}
	var err error
	if p.Interval, err = dur("interval", f.Interval); err != nil {
		return p, err
	}
	if p.Timeout, err = dur("timeout", f.Timeout); err != nil {
		return p, err
	}
	if p.SkewEvery, err = dur("skew_every", f.SkewEvery); err != nil {
		return p, err
	}
	p.URL, p.Count, p.Concurrency, p.Labels = f.URL, f.Count, f.Concurrency, f.Labels
	return p, nil
}

// Check reports settings serve refuses, naming the setting as a config
// key. The command line reports the same errors under its flag names.
func (s Settings) Check() error {
	if err := s.check(); err != nil {
		return err
	}
	return nil
}

// check is Check with its error typed, nil when the settings are usable.
func (s Settings) check() *SettingError {
	switch {
	case s.Interval < time.Second || s.Interval > 24*time.Hour:
		return &SettingError{Key: "interval", Msg: fmt.Sprintf("%s: want 1s to 24h", s.Interval)}
	case s.Timeout <= 0 || s.Timeout > 5*time.Minute:
		return &SettingError{Key: "timeout", Msg: fmt.Sprintf("%s: want more than 0 and at most 5m", s.Timeout)}
	case s.Count < 1 || s.Count > 100:
		return &SettingError{Key: "count", Msg: fmt.Sprintf("%d: want 1 to 100", s.Count)}
	case s.Concurrency < 1 || s.Concurrency > 4096:
		return &SettingError{Key: "concurrency", Msg: fmt.Sprintf("%d: want 1 to 4096", s.Concurrency)}
	case s.SkewEvery < 0:
		return &SettingError{Key: "skew_every", Msg: fmt.Sprintf("%s: must not be negative (0 turns the measurement off)", s.SkewEvery)}
	}
	if err := (probe.Options{URL: s.URL}).Validate(); err != nil {
		return &SettingError{Key: "url", Msg: fmt.Sprintf("%q: only http and https URLs with a host are accepted", s.URL), Err: err}
	}
	for k, v := range s.Labels {
		switch {
		case !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__"):
			return &SettingError{Key: "labels", Msg: fmt.Sprintf("%q is not a Prometheus label name (letters, digits and _, not starting with a digit or __)", k)}
		case slices.Contains(reservedLabels, k):
			return &SettingError{Key: "labels", Msg: fmt.Sprintf("%q is a label serve sets itself; choose another name", k)}
		case len(v) > MaxLabelValueLen || !utf8.ValidString(v):
			return &SettingError{Key: "labels", Msg: fmt.Sprintf("the value of %q must be valid UTF-8 of at most %d bytes", k, MaxLabelValueLen)}
		}
	}
	return nil
}

// SettingError is a setting out of range. Key is the config key
// (interval, timeout, url, count, concurrency, skew_every, labels).
type SettingError struct {
	Key string
	Msg string
	Err error
}

func (e *SettingError) Error() string { return "serve: " + e.what() }

// what is the error without the package prefix, for a ConfigError's message.
func (e *SettingError) what() string  { return e.Key + " " + e.Msg }
func (e *SettingError) Unwrap() error { return e.Err }

// Group is a resolved group: its name, settings and sources.
type Group struct {
	Name     string
	Settings Settings
	// Sources are links, file paths (absolute, or relative to the working
	// directory) and subscription URLs.
	Sources []string
}

// Resolve applies the config over defaults and checks every group's
// settings. file is the config file's path: relative file sources are
// taken relative to its directory. The result also checks that the
// groups together use at most MaxLabelKeys label names.
func (c *Config) Resolve(file string, defaults Settings) ([]Group, error) {
	top := c.Settings.over(defaults)
	if err := top.check(); err != nil {
		return nil, &ConfigError{File: file, Msg: err.what()}
	}
	dir := filepath.Dir(file)
	keys := map[string]bool{}
	var groups []Group
	for _, gc := range c.Groups {
		s := gc.settings.over(top)
		if err := s.check(); err != nil {
			return nil, &ConfigError{File: file, Line: gc.Line, Msg: fmt.Sprintf("group %q: %s", gc.Name, err.what())}
		}
		for k := range s.Labels {
			keys[k] = true
		}
		g := Group{Name: gc.Name, Settings: s}
		for _, src := range gc.Sources {
			src = strings.TrimSpace(src)
			if sourceKind(src) == sourceFile && !filepath.IsAbs(src) {
				src = filepath.Join(dir, src)
			}
			g.Sources = append(g.Sources, src)
		}
		groups = append(groups, g)
	}
	if len(keys) > MaxLabelKeys {
		return nil, &ConfigError{File: file, Msg: fmt.Sprintf("%d distinct label names; at most %d are allowed, since every series carries all of them", len(keys), MaxLabelKeys)}
	}
	return groups, nil
}
