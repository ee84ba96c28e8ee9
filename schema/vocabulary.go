package schema

// The words every package uses for the same things: the severity of a
// finding (transport names are vmess.StreamNetwork's). lint, convert and
// probe all see Xray configs, share links and probe targets; one spelling
// keeps their messages, JSON and tests in agreement.

// Severity grades a finding or a diagnostic, from Info to Error, so that
// "at least Warning" is a comparison. The zero value is no severity
// ("off").
type Severity int

// The severities.
const (
	// Info is information, such as an entry of another protocol skipped.
	Info Severity = iota + 1
	// Warning is something changed, lost or likely wrong.
	Warning
	// Error is something Xray refuses, or an entry that could not be read.
	Error
)

// String is the lower-case name every output uses.
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "off"
}
