package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/xvmtools/xvm/lint"
)

// preCommitHookFields are the keys of one hook in a .pre-commit-hooks.yaml,
// with the YAML type pre-commit checks for each: MANIFEST_HOOK_DICT in
// pre_commit/clientlib.py (pre-commit commit a9bba55a3f74, 2026-08-17).
// A key outside this list is ignored by pre-commit, so here it is an error:
// a misspelt `exclude` would silently lint everything.
var preCommitHookFields = map[string]string{
	"id": "string", "name": "string", "entry": "string", "language": "string", "alias": "string",
	"files": "regex", "exclude": "regex", "types": "tags", "types_or": "tags", "exclude_types": "tags",
	"additional_dependencies": "strings", "args": "strings", "always_run": "bool", "fail_fast": "bool",
	"pass_filenames": "bool", "description": "string", "language_version": "string", "log_file": "string",
	"minimum_pre_commit_version": "string", "require_serial": "bool", "stages": "strings", "verbose": "bool",
}

// preCommitRequired are the keys cfgv.Required marks in MANIFEST_HOOK_DICT.
var preCommitRequired = []string{"id", "name", "entry", "language"}

// identifyTags are the file type tags the hook may use, as identify
// (pre-commit/identify identify/extensions.py, commit 3ac75fa9fc0e) names
// them. There is no `jsonc` tag, which is why the hook selects by `files`.
var identifyTags = []string{"file", "text", "json", "yaml", "toml"}

func readHooks(t *testing.T) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hooks []map[string]any
	if err := yaml.Unmarshal(data, &hooks); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml: %v", err)
	}
	return hooks
}

func TestPreCommitHookSchema(t *testing.T) {
	hooks := readHooks(t)
	if len(hooks) != 1 || hooks[0]["id"] != "xvm-lint" {
		t.Fatalf("want exactly the hook xvm-lint, got %v", hooks)
	}
	h := hooks[0]
	for _, k := range preCommitRequired {
		if _, ok := h[k]; !ok {
			t.Errorf("required key %q missing", k)
		}
	}
	for k, v := range h {
		kind, ok := preCommitHookFields[k]
		if !ok {
			t.Errorf("key %q is not a pre-commit hook field", k)
			continue
		}
		switch kind {
		case "string", "regex":
			s, ok := v.(string)
			if !ok {
				t.Errorf("%s: want a string, got %T", k, v)
			} else if kind == "regex" {
				// Python's re and Go's regexp agree on the syntax used here.
				if _, err := regexp.Compile(s); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
		case "bool":
			if _, ok := v.(bool); !ok {
				t.Errorf("%s: want a boolean, got %T", k, v)
			}
		case "strings", "tags":
			list, ok := v.([]any)
			if !ok {
				t.Errorf("%s: want a list, got %T", k, v)
			}
			for _, it := range list {
				s, ok := it.(string)
				if !ok {
					t.Errorf("%s: want strings, got %T", k, it)
				}
				if kind == "tags" && !slices.Contains(identifyTags, s) {
					t.Errorf("%s: %q is not an identify tag", k, s)
				}
			}
		}
	}
	if h["language"] != "golang" {
		t.Errorf("language %v, want golang (pre-commit builds xvm from the hook's rev)", h["language"])
	}
}

// TestPreCommitHookFiles checks that the hook hands pre-commit exactly
// the files `xvm lint DIR` reads, less hidden ones.
func TestPreCommitHookFiles(t *testing.T) {
	h := readHooks(t)[0]
	files := regexp.MustCompile(h["files"].(string))
	exclude := regexp.MustCompile(h["exclude"].(string))
	dir := t.TempDir()
	names := []string{
		"a.json", "b.jsonc", "c.yaml", "d.yml", "e.toml", "F.JSON", "sub/g.Yaml",
		"README.md", "x.json5", "notes.txt", "yaml", "sub/json",
	}
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	expanded, err := lint.Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var byLint []string
	for _, p := range expanded {
		rel, _ := filepath.Rel(dir, p)
		byLint = append(byLint, filepath.ToSlash(rel))
	}
	var byHook []string
	for _, n := range names {
		if files.MatchString(n) && !exclude.MatchString(n) {
			byHook = append(byHook, n)
		}
	}
	slices.Sort(byLint)
	slices.Sort(byHook)
	if !slices.Equal(byLint, byHook) {
		t.Errorf("hook selects %v, xvm lint DIR reads %v", byHook, byLint)
	}
	for _, hidden := range []string{".xvm.yaml", ".pre-commit-config.yaml", ".github/workflows/ci.yml", "a/.hidden/b.json"} {
		if files.MatchString(hidden) && !exclude.MatchString(hidden) {
			t.Errorf("hook selects hidden path %s", hidden)
		}
	}
}

// TestPreCommitHookRuns runs the hook's entry the way pre-commit does
// (entry, then args, then the selected file names) and checks the exit
// code pre-commit reads.
func TestPreCommitHookRuns(t *testing.T) {
	h := readHooks(t)[0]
	entry := strings.Fields(h["entry"].(string))
	if len(entry) < 1 || entry[0] != "xvm" {
		t.Fatalf("entry %q does not run xvm", h["entry"])
	}
	// A repository's other JSON and YAML (package.json, a compose file)
	// is selected too: it must not fail the commit.
	other := t.TempDir()
	pkg := writeFile(t, other, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"test": "go test ./..."}}`)
	compose := writeFile(t, other, "compose.yaml", "services:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n")
	tests := []struct {
		file string
		code int
	}{
		{"../../testdata/lint/ok/outbound.json", 0},
		{"../../testdata/lint/err/port-address.yaml", 1},
		{pkg, 0},
		{compose, 0},
	}
	for _, tt := range tests {
		args := append(append([]string{}, entry[1:]...), tt.file)
		_, errOut, code := runXVM(t, false, "", args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d (%s)", tt.file, code, tt.code, errOut)
		}
	}
}

// TestPreCommitValidateManifest asks pre-commit itself (Debian's package,
// which .ci/run installs) to validate the manifest.
func TestPreCommitValidateManifest(t *testing.T) {
	bin, err := exec.LookPath("pre-commit")
	if err != nil {
		t.Fatal("pre-commit is not on PATH: install it (apt-get install -y pre-commit; .ci/run does)")
	}
	cmd := exec.Command(bin, "validate-manifest", filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	cmd.Env = append(os.Environ(), "PRE_COMMIT_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pre-commit validate-manifest: %v\n%s", err, out)
	}
}
