package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xvmtools/xvm/lint"
)

// looksLikeLink tells a share link or client line given on the command
// line from a file name.
func looksLikeLink(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(l, "vmess://") || strings.HasPrefix(l, "vmess1://") || strings.HasPrefix(l, "vmess=") {
		return true
	}
	_, rest, ok := strings.Cut(l, "=")
	return ok && strings.HasPrefix(strings.TrimSpace(rest), "vmess,")
}

// readInput reads one INPUT/TARGET argument of convert and probe: '-'
// (stdin, once), a share link given inline, or a file, each capped at max
// bytes. It returns the name messages use for it.
func readInput(a *app, verb, arg string, i int, max int64, usedStdin *bool) (string, []byte, error) {
	switch {
	case arg == "-":
		if *usedStdin {
			return "", nil, fmt.Errorf("%s: '-' given twice; stdin can be read once", verb)
		}
		*usedStdin = true
		if a.IO.InTTY {
			// Without this a user who forgot the argument sees a hang.
			fmt.Fprintf(a.IO.ErrOut, "xvm: %s: reading from the terminal; paste links, then press Ctrl-D (or give a link or file as an argument)\n", verb)
		}
		data, err := readCapped(a.IO.In, max)
		if err != nil {
			return "", nil, fmt.Errorf("%s: stdin: %w", verb, err)
		}
		return lint.StdinName, data, nil // one spelling in every verb
	case looksLikeLink(arg):
		return fmt.Sprintf("argument %d", i+1), []byte(arg), nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w; give a file, an http(s) URL, a vmess:// link or '-'", verb, err)
	}
	defer f.Close()
	data, err := readCapped(f, max)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %s: %w", verb, arg, err)
	}
	return arg, data, nil
}

func readCapped(r io.Reader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("input is over the %d-byte limit; split it or raise --max-input-size", max)
	}
	return buf.Bytes(), nil
}
