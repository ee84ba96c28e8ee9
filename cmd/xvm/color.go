package main

import "fmt"

// colorMode is the value of the global --color flag.
type colorMode string

const (
	colorAuto   colorMode = "auto"
	colorAlways colorMode = "always"
	colorNever  colorMode = "never"
)

func (m *colorMode) String() string { return string(*m) }
func (m *colorMode) Type() string   { return "auto|always|never" }
func (m *colorMode) Set(v string) error {
	switch colorMode(v) {
	case colorAuto, colorAlways, colorNever:
		*m = colorMode(v)
		return nil
	}
	return fmt.Errorf("want auto, always or never, not %q", v)
}

// enabled decides whether output to a stream is styled: always and never
// win; auto styles only a terminal and honours NO_COLOR (https://no-color.org).
func (m colorMode) enabled(isTTY bool, getenv func(string) string) bool {
	switch m {
	case colorAlways:
		return true
	case colorNever:
		return false
	}
	if getenv != nil && getenv("NO_COLOR") != "" {
		return false
	}
	return isTTY
}
