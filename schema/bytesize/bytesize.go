// Package bytesize writes byte counts for people, in binary units: one
// formatter for every output that shows a size or a rate (a
// subscription's data usage, a download's throughput), so that they read
// alike.
//
// It is a leaf package (standard library only) under schema, the layer
// that convert and probe may both import.
package bytesize

import (
	"math"
	"strconv"
	"strings"
)

var units = [...]string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// Format writes n bytes in binary units (KiB = 1024 bytes, the unit
// panels count plans in, so a 50 GiB plan reads "50 GiB") with at most one
// decimal, rounded down, so that an amount is never shown larger than it
// is (a plan is not shown as used up before it is): "512 B", "1.5 KiB",
// "12.2 GiB", "50 GiB". Fractions of a byte are dropped.
func Format(n float64) string {
	if n < 0 {
		return "-" + Format(-n)
	}
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return strconv.FormatFloat(n, 'f', -1, 64) + " B"
	}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(math.Floor(n), 'f', 0, 64) + " B"
	}
	s := strconv.FormatFloat(math.Floor(n*10)/10, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " " + units[i]
}
