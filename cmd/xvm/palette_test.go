package main

import (
	"regexp"
	"testing"
)

// TestOneColourScheme: a severity is painted alike by every verb that
// shows one — lint's findings and convert's notes (each had a palette of
// its own: lint's errors were bright red, convert's plain red).
func TestOneColourScheme(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", lintBad)
	lintOut, _, _ := runXVM(t, true, "", "lint", bad)
	// A kcp link: mihomo has no mKCP, so --to clash loses the entry (an
	// error); a header-less kcp entry is also noted.
	kcp := "vmess://" + convertUUID + "@k.example.com:443?type=kcp#K1"
	_, convErr, _ := runXVM(t, true, "", "convert", "--to", "clash", kcp)
	styleOf := func(out, word string) string {
		m := regexp.MustCompile(`(\x1b\[[0-9;]*m)` + word).FindStringSubmatch(out)
		if m == nil {
			return ""
		}
		return m[1]
	}
	for _, c := range []struct {
		word        string
		lint, other string
		otherName   string
	}{
		{"error", lintOut, convErr, "convert"},
	} {
		l, o := styleOf(c.lint, c.word), styleOf(c.other, c.word)
		if l == "" || o == "" {
			t.Fatalf("%s: no styled %q (lint %q, %s %q)", c.word, c.word, c.lint, c.otherName, c.other)
		}
		if l != o {
			t.Errorf("%s: lint paints it %q, %s %q", c.word, l, c.otherName, o)
		}
	}
}
