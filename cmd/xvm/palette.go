package main

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/xvmtools/xvm/schema"
)

// palette is xvm's one colour scheme. Every styled output — lint's
// findings, convert's notes, probe's table — takes its styles from here,
// so an error is the same red, a warning the same yellow and a detail the
// same grey whichever verb printed it. The colours are the eight basic
// ANSI ones, which every terminal theme remaps to something readable.
type palette struct {
	bold lipgloss.Style // headings, positions
	err  lipgloss.Style // errors, failed probes
	warn lipgloss.Style // warnings, a clock that is off
	note lipgloss.Style // notes (info findings)
	ok   lipgloss.Style // what passed; lint's caret under the finding
	dim  lipgloss.Style // rule ids, details
}

// newPalette styles for w. The caller has already decided that w gets
// colour (a terminal, --color, NO_COLOR), so the profile is set, not
// detected; with colour false every style renders text unchanged.
func newPalette(w io.Writer, colour bool) palette {
	if !colour {
		return palette{}
	}
	r := lipgloss.NewRenderer(w)
	r.SetColorProfile(termenv.ANSI)
	fg := func(c string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(c)).Bold(true) }
	return palette{
		bold: r.NewStyle().Bold(true),
		err:  fg("1"),
		warn: fg("3"),
		note: fg("6"),
		ok:   fg("2"),
		dim:  r.NewStyle().Foreground(lipgloss.Color("8")),
	}
}

// severity is the style of a finding or a note of that severity.
func (p palette) severity(s schema.Severity) lipgloss.Style {
	switch s {
	case schema.Error:
		return p.err
	case schema.Warning:
		return p.warn
	}
	return p.note
}
