package schema

import "testing"

func TestSeverityOrder(t *testing.T) {
	if !(Info < Warning && Warning < Error) {
		t.Fatal("severities are not ordered Info < Warning < Error")
	}
	for s, want := range map[Severity]string{0: "off", Info: "info", Warning: "warning", Error: "error"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}
