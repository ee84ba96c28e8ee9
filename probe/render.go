package probe

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/schema/bytesize"
)

// WriteJSON writes results as one indented JSON array (the --output json
// contract). nil is written as [].
func WriteJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteNDJSON writes one result as one line of JSON (the --output ndjson
// contract; call it as results arrive).
func WriteNDJSON(w io.Writer, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// TableColumns returns the table's column headings, in the order of
// TableRow.Cells.
func TableColumns() []string {
	return []string{"NAME", "SERVER", "TRANSPORT", "RESULT", "LATENCY", "HANDSHAKE", "SKEW", "DETAIL"}
}

// TableResultColumn is the index of the RESULT column (the verdict).
const TableResultColumn = 3

// TableRow is one result as table cells (aligned with TableColumns), with
// what a renderer needs to style it.
type TableRow struct {
	Cells []string
	// OK is the verdict; Kind the failure kind when not OK.
	OK   bool
	Kind Kind
}

// Table turns results into rows for a table renderer: servers that passed
// first, fastest (median latency) first, then the failures in input order.
// Styling is the renderer's job; the cells are plain text.
func Table(results []Result) []TableRow {
	sorted := slices.Clone(results)
	slices.SortStableFunc(sorted, func(a, b Result) int {
		if a.OK != b.OK {
			if a.OK {
				return -1
			}
			return 1
		}
		if a.OK && a.Latency != nil && b.Latency != nil {
			if c := cmp.Compare(a.Latency.Median, b.Latency.Median); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Index, b.Index)
	})
	rows := make([]TableRow, len(sorted))
	for i, r := range sorted {
		tr := TableRow{OK: r.OK}
		verdict := "ok"
		if r.Error != nil {
			tr.Kind = r.Error.Kind
			verdict = string(r.Error.Kind)
		}
		transport := r.Network
		if r.TransportSecurity != "" {
			transport += "+" + r.TransportSecurity
		}
		lat, hs := "-", "-"
		if r.Latency != nil {
			lat = fmtMillis(r.Latency.Median)
		}
		if r.Timings != nil && r.Timings.Handshake != nil {
			hs = fmtMillis(*r.Timings.Handshake)
		}
		skew := "-"
		if r.Skew != nil {
			skew = fmt.Sprintf("%+.1fs ±%.1f", r.Skew.OffsetS, r.Skew.UncertaintyS)
		}
		var detail []string
		if r.Error != nil {
			detail = append(detail, r.Error.Message)
		}
		if r.OK && r.Latency != nil && r.Samples > 1 {
			detail = append(detail, fmt.Sprintf("%d samples %s–%s", r.Samples-r.Lost, fmtMillis(r.Latency.Min), fmtMillis(r.Latency.Max)))
		}
		if r.Lost > 0 && r.OK {
			detail = append(detail, fmt.Sprintf("lost %d/%d", r.Lost, r.Samples))
		}
		if r.OK && r.Retried {
			detail = append(detail, "recovered on retry (the first attempt timed out)")
		}
		if r.OK && r.Skew != nil && math.Abs(r.Skew.OffsetS) > 90 {
			detail = append(detail, fmt.Sprintf("clock %s off: accepted, but near the ±120s limit (Xray's manual asks for 90s)", fmtDuration(math.Abs(r.Skew.OffsetS))))
		}
		switch {
		case r.Download != nil && r.OK:
			detail = append(detail, fmt.Sprintf("download %s/s", bytesize.Format(r.Download.BytesPerS)))
		case r.Download != nil:
			// A download that failed part way: what arrived, not a rate
			// that would read as the server's speed.
			detail = append(detail, fmt.Sprintf("%s arrived in %.1fs", bytesize.Format(float64(r.Download.Bytes)), r.Download.Seconds))
		}
		detail = append(detail, extrasDetail(r)...)
		for _, n := range r.Notes {
			detail = append(detail, n.Message)
		}
		name := r.Name
		if name == "" {
			name = "-"
		}
		tr.Cells = []string{name, hostPort(r.Address, r.Port), transport, verdict, lat, hs, skew, strings.Join(detail, "; ")}
		rows[i] = tr
	}
	return rows
}

// fmtMillis renders milliseconds with three significant digits or so.
func fmtMillis(m Millis) string {
	v := float64(m)
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "ms"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
	}
}

// extrasDetail describes the extra checks of a result for the table:
// upload rate, exit address and UDP answer.
func extrasDetail(r Result) []string {
	var d []string
	switch u := r.Upload; {
	case u != nil && u.NotMeasured != "":
		d = append(d, notMeasured("upload", u.NotMeasured))
	case u != nil && u.BytesPerS > 0:
		d = append(d, fmt.Sprintf("upload %s/s", bytesize.Format(u.BytesPerS)))
	case u != nil:
		d = append(d, fmt.Sprintf("upload: %s sent in %.1fs", bytesize.Format(float64(u.Bytes)), u.Seconds))
	}
	switch e := r.Exit; {
	case e != nil && e.NotMeasured != "":
		d = append(d, notMeasured("exit", e.NotMeasured))
	case e != nil && e.Error == "":
		s := "exit " + e.IP
		if e.Country != "" {
			s += " " + e.Country
		}
		if e.Colo != "" {
			s += " (" + e.Colo + ")"
		}
		d = append(d, s)
	case e != nil:
		d = append(d, "exit unknown: "+e.Error)
	}
	switch u := r.UDP; {
	case u != nil && u.NotMeasured != "":
		d = append(d, notMeasured("udp", u.NotMeasured))
	case u != nil && u.OK && u.RTTMs != nil:
		d = append(d, "udp "+fmtMillis(*u.RTTMs))
	case u != nil:
		d = append(d, "udp failed: "+u.Error)
	}
	return d
}

// notMeasured words an extra check that was not made.
func notMeasured(check string, why NotMeasured) string {
	switch why {
	case NotMeasuredBudget:
		return check + " not measured: the connection budget was spent"
	}
	return check + " not measured: " + string(why)
}
