package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/lint"
)

// runLintFix is `xvm lint --fix` and `--fix --diff`. Files are rewritten in
// place (or diffed); a document from stdin is printed fixed on stdout, and
// the findings then go to stderr so that stdout is only the document.
func runLintFix(cmd *cobra.Command, a *app, o *lintOptions, l *lint.Linter, names []string, read lint.ReadFunc, failOn lint.Severity) error {
	fixes, err := l.FixRun(cmd.Context(), names, read)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	stdin := false
	for _, f := range fixes {
		stdin = stdin || f.Name == lint.Stdin
	}
	var changed, fixed, withheld int
	for _, f := range fixes {
		if !f.Changed() {
			if f.Name == lint.Stdin && !o.Diff {
				if _, err := a.IO.Out.Write(f.Source); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("lint: write output: %w", err)}
				}
			}
			withheld += len(f.Withheld)
			continue
		}
		changed++
		fixed += len(f.Fixed)
		withheld += len(f.Withheld)
		switch {
		case o.Diff:
			name := f.Name
			if name == lint.Stdin {
				name = lint.StdinName
			}
			err = lint.RenderDiff(a.IO.Out, name, f.Before, f.Source, lint.DiffOptions{ShowSecrets: o.ShowSecrets})
		case f.Name == lint.Stdin:
			_, err = a.IO.Out.Write(f.Source)
		default:
			err = writeInPlace(f.Name, f.Source)
		}
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("lint: %s: %w", f.Name, err)}
		}
	}

	rep := lint.RemainingReport(fixes)
	// What is left is reported as findings, not as fixes: the fixes xvm
	// held back are counted below.
	for i := range rep.Diagnostics {
		rep.Diagnostics[i].Fix, rep.Diagnostics[i].Fixable = nil, false
	}
	switch {
	case o.Diff:
		// stdout is the diff alone, so that it can go to git apply: it
		// applies when --show-secrets (or no id on any of its lines, context
		// included, is masked) and no line needed escaping.
	case stdin:
		if err := renderLint(a, a.IO.ErrOut, o.Format, rep); err != nil {
			return err
		}
	default:
		if err := renderLint(a, a.IO.Out, o.Format, rep); err != nil {
			return err
		}
	}
	if !a.Global.Quiet {
		verb := "fixed"
		if o.Diff {
			verb = "would fix"
		}
		fmt.Fprintf(a.IO.ErrOut, "%s %d %s in %d %s", verb, fixed, plural(fixed, "finding", "findings"), changed, plural(changed, "file", "files"))
		if o.Diff && len(rep.Diagnostics) > 0 {
			fmt.Fprintf(a.IO.ErrOut, "; %d %s would remain", len(rep.Diagnostics), plural(len(rep.Diagnostics), "finding", "findings"))
		}
		fmt.Fprintln(a.IO.ErrOut)
		if withheld > 0 {
			fmt.Fprintf(a.IO.ErrOut, "%d %s held back: linting the result found something new where %s; apply %s by hand or one by one in an editor (xvm lsp)\n",
				withheld, plural(withheld, "fix", "fixes"), plural(withheld, "it edits", "they edit"), plural(withheld, "it", "them"))
		}
	}
	if lint.Fails(rep.Diagnostics, failOn) || o.Diff && changed > 0 {
		return errFindings
	}
	return nil
}

// fixable counts the diagnostics that have a fix.
func fixable(ds []lint.Diagnostic) int {
	n := 0
	for _, d := range ds {
		if d.Fixable {
			n++
		}
	}
	return n
}

// writeInPlace replaces the file at name (through a symbolic link, if it
// is one) with data: written to a temporary file beside it, given the old
// file's permissions and renamed over it, so a failure never leaves a
// half-written config.
func writeInPlace(name string, data []byte) error {
	path, err := filepath.EvalSymlinks(name)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".xvm-fix-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := bytes.NewReader(data).WriteTo(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
