package bytesize

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		n    float64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1023.9, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{5000, "4.8 KiB"}, // 4.88: rounded down
		{2 << 20, "2 MiB"},
		{13207024435, "12.2 GiB"},
		{50 << 30, "50 GiB"},
		{1<<40 - 1, "1023.9 GiB"},
		{1 << 40, "1 TiB"},
		{math.MaxInt64, "8 EiB"}, // 2⁶³ - 1 rounds to 2⁶³ as a float64
		{-1536, "-1.5 KiB"},
	} {
		if got := Format(c.n); got != c.want {
			t.Errorf("Format(%v) = %q, want %q", c.n, got, c.want)
		}
	}
}
