package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runXVM runs the cobra root in-process with buffer streams.
func runXVM(t testing.TB, tty bool, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := &IOStreams{
		In:     strings.NewReader(stdin),
		Out:    &out,
		ErrOut: &errOut,
		OutTTY: tty,
		ErrTTY: tty,
		Getenv: func(string) string { return "" },
	}
	code = Main(context.Background(), args, ios)
	return out.String(), errOut.String(), code
}

func TestRootExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"version", []string{"version"}, 0, "xvm ", ""},
		{"help", []string{"--help"}, 0, "Exit codes", ""},
		{"unknown command", []string{"bogus"}, 2, "", `unknown command "bogus"`},
		{"unknown flag", []string{"version", "--bogus"}, 2, "", "unknown flag"},
		{"bad color", []string{"--color", "purple", "version"}, 2, "", "want auto, always or never"},
		{"completion needs a shell", []string{"completion"}, 2, "", "accepts 1 arg"},
		{"completion bash", []string{"completion", "bash"}, 0, "bash completion", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runXVM(t, false, "", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestColorMode(t *testing.T) {
	noColor := func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}
	tests := []struct {
		mode   colorMode
		tty    bool
		getenv func(string) string
		want   bool
	}{
		{colorAuto, true, nil, true},
		{colorAuto, false, nil, false},
		{colorAuto, true, noColor, false},
		{colorAlways, false, noColor, true},
		{colorNever, true, nil, false},
	}
	for _, tt := range tests {
		if got := tt.mode.enabled(tt.tty, tt.getenv); got != tt.want {
			t.Errorf("%s tty=%v NO_COLOR=%v: got %v, want %v", tt.mode, tt.tty, tt.getenv != nil, got, tt.want)
		}
	}
}

func TestStdinTerminalHint(t *testing.T) {
	var out, errOut bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, InTTY: true, Getenv: func(string) string { return "" }}
	Main(context.Background(), []string{"convert"}, ios)
	if !strings.Contains(errOut.String(), "reading from the terminal") {
		t.Errorf("stderr = %q, want a hint that xvm waits for input on the terminal", errOut.String())
	}
	errOut.Reset()
	ios.InTTY = false
	Main(context.Background(), []string{"convert"}, ios)
	if strings.Contains(errOut.String(), "reading from the terminal") {
		t.Errorf("stderr = %q, want no terminal hint for piped input", errOut.String())
	}
}
