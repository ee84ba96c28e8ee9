package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams is what a command reads from and writes to. Tests replace it
// with buffers and choose whether the streams look like terminals.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// InTTY, OutTTY and ErrTTY tell whether In, Out and ErrOut are
	// terminals.
	InTTY  bool
	OutTTY bool
	ErrTTY bool

	// Getenv reads the environment. Only cmd/xvm reads the environment;
	// the library packages get what they need as options.
	Getenv func(string) string
}

// SystemStreams returns the process's standard streams.
func SystemStreams() *IOStreams {
	return &IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		InTTY:  isTerminal(os.Stdin),
		OutTTY: isTerminal(os.Stdout),
		ErrTTY: isTerminal(os.Stderr),
		Getenv: os.Getenv,
	}
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func (s *IOStreams) getenv(key string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(key)
}
