package lint

import (
	"testing"
)

func fixAt(edits ...Edit) Diagnostic { return Diagnostic{Fix: &Fix{Title: "t", Edits: edits}} }

// TestApplyFixes: fixes apply in offset order whatever order they come in;
// one whose span overlaps an earlier one waits (the next pass gets it), as
// do two insertions at one offset; edits outside the text are refused.
func TestApplyFixes(t *testing.T) {
	src := []byte("abcdefghij")
	tests := []struct {
		name    string
		ds      []Diagnostic
		want    string
		applied int
	}{
		{"out of order", []Diagnostic{fixAt(Edit{7, 8, "H"}), fixAt(Edit{1, 2, "B"})}, "aBcdefgHij", 2},
		{"overlap waits", []Diagnostic{fixAt(Edit{1, 4, "X"}), fixAt(Edit{3, 5, "Y"})}, "aXefghij", 1},
		{"touching is fine", []Diagnostic{fixAt(Edit{1, 3, "X"}), fixAt(Edit{3, 5, "Y"})}, "aXYfghij", 2},
		{"two insertions at one offset", []Diagnostic{fixAt(Edit{2, 2, "1"}), fixAt(Edit{2, 2, "2"})}, "ab1cdefghij", 1},
		{"insertion where a replacement ends", []Diagnostic{fixAt(Edit{0, 2, "Z"}), fixAt(Edit{2, 2, "+"})}, "Zcdefghij", 1},
		{"a fix of several edits spans them all", []Diagnostic{fixAt(Edit{1, 2, ""}, Edit{6, 7, ""}), fixAt(Edit{4, 5, "E"})}, "acdefhij", 1},
		{"outside the text", []Diagnostic{fixAt(Edit{9, 12, ""}), fixAt(Edit{-1, 0, "x"})}, "abcdefghij", 0},
		{"backwards edit", []Diagnostic{fixAt(Edit{5, 3, ""})}, "abcdefghij", 0},
		{"overlapping edits in one fix", []Diagnostic{fixAt(Edit{1, 4, ""}, Edit{3, 5, ""})}, "abcdefghij", 0},
		{"no fix", []Diagnostic{{}}, "abcdefghij", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, applied := ApplyFixes(src, tt.ds)
			if string(got) != tt.want || len(applied) != tt.applied {
				t.Errorf("got %q with %d applied, want %q with %d", got, len(applied), tt.want, tt.applied)
			}
			if string(src) != "abcdefghij" {
				t.Fatal("ApplyFixes changed its input")
			}
		})
	}
}

// TestOffsetMapping: offsets map through edits both ways.
func TestOffsetMapping(t *testing.T) {
	// "abcdefghij" -> "aXYZdefgij": [1,3) -> "XYZ", [7,8) -> "".
	edits := []Edit{{1, 3, "XYZ"}, {7, 8, ""}}
	for _, c := range []struct{ old, new int }{{0, 0}, {1, 1}, {3, 4}, {6, 7}, {8, 8}, {10, 10}} {
		if got := newOffset(edits, c.old); got != c.new {
			t.Errorf("newOffset(%d) = %d, want %d", c.old, got, c.new)
		}
		if got := oldOffset(edits, c.new); got != c.old {
			t.Errorf("oldOffset(%d) = %d, want %d", c.new, got, c.old)
		}
	}
	if got := oldOffset(edits, 2); got != 1 {
		t.Errorf("an offset inside replaced text maps to the edit's start: got %d", got)
	}
	ins := []Edit{{2, 2, "++"}}
	if got := newOffset(ins, 2); got != 4 {
		t.Errorf("text at an insertion point moves after it: got %d", got)
	}
}

// oldOffset (tests) maps an offset in the edited text back to the source the
// edits applied to; an offset inside replaced text maps to the edit's start.
func oldOffset(edits []Edit, off int) int { return newEditMap(edits).old(off) }

// newOffset (tests: the inverse oldOffset is checked against) maps an offset of the source the edits applied to into the
// edited text.
func newOffset(edits []Edit, off int) int {
	shift := 0
	for _, e := range edits {
		if e.Start >= off && !(e.Start == off && e.End == off) {
			break
		}
		if off < e.End {
			return e.Start + shift
		}
		shift += len(e.New) - (e.End - e.Start)
	}
	return off + shift
}
