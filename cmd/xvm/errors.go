package main

import (
	"errors"
	"fmt"
)

// Exit codes: the contract in docs/cli.md#exit-codes.
const (
	exitOK       = 0
	exitFindings = 1 // lint findings at or above --fail-on, or failed probes
	exitUsage    = 2 // bad usage, bad input, or an I/O error
)

// exitError carries an exit code through cobra's RunE. A nil err means
// "nothing more to print" (the command has already reported, for example
// lint findings).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// errFindings reports that the command ran and found problems; its output
// already says which.
var errFindings = &exitError{code: exitFindings}

// usageErrorf is a mistake in how xvm was called.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error returned by a command to the process exit code.
// Everything that is not a typed exit error means xvm could not do its job.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}
