package lsp

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/xvmtools/xvm/lint"
)

// SettingsFile is the rule settings file the server looks for, as
// `xvm lint` does.
const SettingsFile = ".xvm.yaml"

// settings decides how a document is linted: the settings file nearest to
// it (walking up to the workspace root), or the one the client named, with
// the client's target on top. Files are read again when they change.
type settings struct {
	root   string // workspace root directory, "" when unknown
	config string // settings file the client named, "" for discovery
	target string // target the client named, "" for the file's
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]*linterEntry // by settings file ("" for none)
}

type linterEntry struct {
	mod    time.Time
	size   int64
	linter *lint.Linter
	err    error
}

// find returns the settings file for the document at path ("" when there
// is none).
func (s *settings) find(path string) string {
	if s.config != "" {
		if filepath.IsAbs(s.config) || s.root == "" {
			return s.config
		}
		return filepath.Join(s.root, s.config)
	}
	if path == "" {
		if s.root == "" {
			return ""
		}
		path = filepath.Join(s.root, "untitled")
	}
	dir := filepath.Dir(path)
	for {
		p := filepath.Join(dir, SettingsFile)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
		if dir == s.root {
			return ""
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// linterFor returns the linter for the document at path. A settings file
// that cannot be read or parsed gives an error together with a linter that
// uses the defaults, so the editor still gets diagnostics.
func (s *settings) linterFor(path string) (*lint.Linter, error) {
	cfg := s.find(path)
	var mod time.Time
	var size int64
	if cfg != "" {
		st, err := os.Stat(cfg)
		if err == nil {
			mod, size = st.ModTime(), st.Size()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cache[cfg]; ok && e.mod.Equal(mod) && e.size == size {
		return e.linter, e.err
	}
	e := &linterEntry{mod: mod, size: size}
	e.linter, e.err = s.build(cfg)
	if e.linter == nil {
		var err error
		if e.linter, err = lint.New(lint.Options{Now: s.now, Fixes: lint.AttachFixes}); err != nil {
			return nil, err
		}
	}
	if s.cache == nil {
		s.cache = make(map[string]*linterEntry)
	}
	s.cache[cfg] = e
	return e.linter, e.err
}

// settingsError is a settings file the server could not use: documents
// are linted with the defaults, and the user is told once per file.
type settingsError struct {
	File string
	Err  error
}

func (e *settingsError) Error() string { return "lsp: " + e.File + ": " + e.Err.Error() }
func (e *settingsError) Unwrap() error { return e.Err }

// build makes the linter a settings file describes, with the client's
// target laid over it the way xvm lint lays its flags (lint.Merge).
func (s *settings) build(cfg string) (*lint.Linter, error) {
	var fc lint.FileConfig
	if cfg != "" {
		data, err := os.ReadFile(cfg)
		switch {
		case errors.Is(err, fs.ErrNotExist) && s.config == "":
		case err != nil:
			return nil, &settingsError{File: cfg, Err: err}
		default:
			if fc, err = lint.ParseFileConfig(data); err != nil {
				return nil, &settingsError{File: cfg, Err: err}
			}
		}
	}
	set, err := lint.Merge(fc, lint.Flags{Target: s.target})
	if err != nil {
		return nil, &settingsError{File: cfg, Err: err}
	}
	return lint.New(lint.Options{Runtime: set.Target, Now: s.now, Rules: set.Rules, Fixes: lint.AttachFixes})
}
