package lint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Stdin is the PATH argument that means standard input.
const Stdin = "-"

// StdinName is how messages name standard input (in every xvm verb).
const StdinName = "<stdin>"

// lintableExt reports whether a file found in a directory is linted.
func lintableExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".jsonc", ".yaml", ".yml", ".toml":
		return true
	}
	return false
}

// Expand turns PATH arguments into file names, in a stable order: files
// as given, directories searched recursively for *.json *.jsonc *.yaml
// *.yml *.toml (hidden directories skipped), globs expanded (a PATH that
// names an existing file or directory is taken as it is, even with *, ?
// or [ in its name), and "-" kept for stdin. A file named by several PATHs (or spelled two ways,
// such as "a.json" and "./a.json") is listed once, where it first
// appears. A PATH that matches nothing, or a directory (or a glob of
// directories) holding no such file, is an error: a wrong path in CI
// must not pass as "no findings". A PATH whose files an earlier PATH
// already listed is not an error: it found them.
func Expand(paths []string) ([]string, error) {
	var out []string
	seen := make(map[string]bool)
	add := func(p string) {
		key := filepath.Clean(p)
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		if p == Stdin {
			add(p)
			continue
		}
		matches := []string{p}
		// A name that exists is a file or directory, whatever it holds
		// ("proxy[1].json"); only one that does not is read as a glob.
		if _, err := os.Lstat(p); err != nil && strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("lint: bad pattern %q: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("lint: %q matches no file", p)
			}
			matches = m
		}
		found := false
		for _, m := range matches {
			files, err := expandOne(m)
			if err != nil {
				return nil, err
			}
			if len(files) > 0 {
				found = true
			}
			for _, f := range files {
				add(f)
			}
		}
		if !found {
			return nil, fmt.Errorf("lint: no config files under %s (looked for *.json *.jsonc *.yaml *.yml *.toml); check the path", p)
		}
	}
	return out, nil
}

// expandOne returns the file m itself, or, for a directory, the config
// files under it in sorted order (hidden directories skipped).
func expandOne(m string) ([]string, error) {
	st, err := os.Stat(m)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	if !st.IsDir() {
		return []string{m}, nil
	}
	var found []string
	err = filepath.WalkDir(m, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != m && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if lintableExt(path) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	sort.Strings(found)
	return found, nil
}

// eachInput calls fn for every input, at most GOMAXPROCS at a time, with
// its index and the name messages use for it (StdinName for "-"). It
// stops handing out inputs when ctx is done.
func eachInput(ctx context.Context, names []string, fn func(i int, display string)) {
	workers := min(runtime.GOMAXPROCS(0), len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				display := names[i]
				if display == Stdin {
					display = StdinName
				}
				fn(i, display)
			}
		}()
	}
feed:
	for i := range names {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// ReadFunc reads one named input ("-" for stdin).
type ReadFunc func(name string) ([]byte, error)

// Run lints the named inputs in parallel (at most GOMAXPROCS at a time)
// and returns every diagnostic sorted by input order, line and column. A
// file that cannot be read is an error: xvm could not do its job.
func (l *Linter) Run(ctx context.Context, names []string, read ReadFunc) (Report, error) {
	type result struct {
		ds  []Diagnostic
		err error
	}
	results := make([]result, len(names))
	eachInput(ctx, names, func(i int, display string) {
		data, err := read(names[i])
		if err != nil {
			results[i].err = fmt.Errorf("lint: read %s: %w", names[i], err)
			return
		}
		ds, err := l.LintBytes(ctx, display, data)
		for j := range ds {
			ds[j].fileIndex = int32(i)
		}
		results[i] = result{ds, err}
	})
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	var rep Report
	rep.Files = len(names)
	var errs []error
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		rep.Diagnostics = append(rep.Diagnostics, r.ds...)
	}
	rep.Diagnostics = sortDiagnostics(rep.Diagnostics)
	return rep, errors.Join(errs...)
}
