package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const fixDir = "../../testdata/lint/fix"

// copyFixCase copies testdata/lint/fix/<name> into dir and returns the
// copy's path and the expected fixed text.
func copyFixCase(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	in, err := os.ReadFile(filepath.Join(fixDir, name))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(fixDir, "fixed", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, in, 0o640); err != nil {
		t.Fatal(err)
	}
	return p, string(want)
}

func TestLintFixWritesFiles(t *testing.T) {
	dir := t.TempDir()
	names := []string{"port-range.yaml", "alter-id.jsonc", "key-case.toml", "crlf.json"}
	want := map[string]string{}
	for _, n := range names {
		p, w := copyFixCase(t, dir, n)
		want[p] = w
	}
	out, errOut, code := runXVM(t, false, "", "lint", "--fix", dir)
	// port-range.yaml keeps nothing; alter-id and key-case keep nothing;
	// the exit code follows what remains (nothing at error level).
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "fixed 12 findings in 4 files") {
		t.Errorf("stderr %q lacks the summary", errOut)
	}
	for p, w := range want {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != w {
			t.Errorf("%s after --fix:\n%s\nwant:\n%s", p, got, w)
		}
		st, _ := os.Stat(p)
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640 kept", p, st.Mode().Perm())
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*xvm-fix*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// Fixed files lint without anything left to fix.
	_, errOut, _ = runXVM(t, false, "", "lint", dir)
	if strings.Contains(errOut, "can be fixed") {
		t.Errorf("after --fix lint still offers fixes: %s", errOut)
	}
}

// TestLintFixSymlink: a symbolic link is followed, not replaced.
func TestLintFixSymlink(t *testing.T) {
	dir := t.TempDir()
	target, want := copyFixCase(t, dir, "crlf.json")
	other := t.TempDir()
	link := filepath.Join(other, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runXVM(t, false, "", "lint", "--fix", link); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symbolic link", link)
	}
	if got, _ := os.ReadFile(target); string(got) != want {
		t.Errorf("link target not fixed:\n%s", got)
	}
}

func TestLintFixRemainingExitCode(t *testing.T) {
	dir := t.TempDir()
	p, want := copyFixCase(t, dir, "port-range.jsonc") // "0443" stays an error
	out, errOut, code := runXVM(t, false, "", "lint", "--fix", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (an error remains)\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, `port is the string "0443"`) || strings.Contains(out, `"443"`) {
		t.Errorf("stdout should list only what remains:\n%s", out)
	}
	if got, _ := os.ReadFile(p); string(got) != want {
		t.Errorf("file not fixed:\n%s", got)
	}
}

// TestLintFixDiff checks --fix --diff: nothing written, exit 1, ids masked
// by default, and with --show-secrets a patch that git applies to give
// exactly the fixed file.
func TestLintFixDiff(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is not on PATH")
	}
	for _, name := range []string{"alter-id.yaml", "unknown-key.toml", "crlf.json", "allow-insecure.jsonc"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p, want := copyFixCase(t, dir, name)
			orig, _ := os.ReadFile(p)
			wd, _ := os.Getwd()
			if err := os.Chdir(dir); err != nil {
				t.Fatal(err)
			}
			defer os.Chdir(wd)

			out, errOut, code := runXVM(t, false, "", "lint", "--fix", "--diff", name)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (something to fix)\n%s", code, errOut)
			}
			if strings.Contains(out, "27848739-7e62-4138-9fd3-098a63964b6b") {
				t.Errorf("diff prints an id without --show-secrets:\n%s", out)
			}
			if !strings.HasPrefix(out, "--- a/"+name+"\n+++ b/"+name+"\n@@ ") {
				t.Errorf("diff header:\n%s", out)
			}
			if got, _ := os.ReadFile(p); string(got) != string(orig) {
				t.Errorf("--diff wrote the file")
			}

			patch, errOut, _ := runXVM(t, false, "", "lint", "--fix", "--diff", "--show-secrets", name)
			if err := os.WriteFile("fix.patch", []byte(patch), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(git, "apply", "--whitespace=nowarn", "fix.patch")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git apply: %v\n%s\npatch:\n%s", err, b, patch)
			}
			if got, _ := os.ReadFile(p); string(got) != want {
				t.Errorf("git apply of the diff gives:\n%q\nwant:\n%q", got, want)
			}
		})
	}
}

func TestLintFixStdin(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(fixDir, "path-slash.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(fixDir, "fixed", "path-slash.yaml"))
	out, errOut, code := runXVM(t, false, string(in), "lint", "--stdin-format", "yaml", "--fix", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != string(want) {
		t.Errorf("stdout is not the fixed document:\n%s", out)
	}
	if !strings.Contains(errOut, "fixed 2 findings in 1 file") {
		t.Errorf("stderr: %q", errOut)
	}
	// Nothing to fix: the document comes back as it was.
	clean := "protocol: vmess\nsettings: {address: a.example.com, port: 443, id: 27848739-7e62-4138-9fd3-098a63964b6b}\n"
	out, _, code = runXVM(t, false, clean, "lint", "--stdin-format", "yaml", "--fix", "-")
	if code != 0 || out != clean {
		t.Errorf("clean stdin: exit %d, stdout %q", code, out)
	}
}

func TestLintListRulesFixable(t *testing.T) {
	out, _, code := runXVM(t, false, "", "lint", "--list-rules")
	if code != 0 {
		t.Fatal(code)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		fixable := len(f) > 2 && f[2] == "fix"
		switch f[0] {
		case "port-range", "unknown-key", "key-case", "alter-id", "security-unknown", "path-slash", "allow-insecure", "syntax":
			if !fixable {
				t.Errorf("%s not marked fix: %q", f[0], line)
			}
		default:
			if fixable {
				t.Errorf("%s marked fix: %q", f[0], line)
			}
		}
	}
}

func TestLintSaysWhatIsFixable(t *testing.T) {
	_, errOut, _ := runXVM(t, false, "", "lint", filepath.Join(fixDir, "port-range.jsonc"))
	if !strings.Contains(errOut, "2 of them can be fixed with `xvm lint --fix`") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestLintDiffGitApply checks each condition docs/lint.md gives for `git
// apply` to accept the diff of --fix --diff, with `git apply --check` in a
// temporary repository: run where xvm ran, on the names xvm was given.
func TestLintDiffGitApply(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is not on PATH")
	}
	// The id is the fourth line after the port: outside the diff's three
	// lines of context.
	const farID = "protocol: vmess\nsettings:\n  port: \"443\"\n  address: a.example.com\n  level: 0\n  email: a@example.com\n  id: my-secret-user-name\n"
	const nearID = "protocol: vmess\nsettings:\n  port: \"443\"\n  id: my-secret-user-name\n  address: a.example.com\n"
	tests := []struct {
		name  string
		file  string // written under the repository, relative to it
		text  string
		dir   string // where xvm and git apply run, relative to the repository
		arg   string // the PATH xvm is given; file when empty
		show  bool   // --show-secrets
		apply bool
	}{
		{name: "no id within the context, masked", file: "a.yaml", text: farID, apply: true},
		{name: "an id within the context, masked", file: "a.yaml", text: nearID, apply: false},
		{name: "an id within the context, --show-secrets", file: "a.yaml", text: nearID, show: true, apply: true},
		{name: "CRLF line endings", file: "a.yaml", text: strings.ReplaceAll(farID, "\n", "\r\n"), apply: true},
		{name: "no newline at the end", file: "a.yaml", text: strings.TrimSuffix(farID, "\n"), apply: true},
		{name: "a space in the file name", file: "my configs/a b.yaml", text: farID, apply: true},
		{name: "run in a subdirectory", file: "configs/a.yaml", text: farID, dir: "configs", arg: "a.yaml", apply: true},
		{name: "run at the top, naming a subdirectory", file: "configs/a.yaml", text: farID, apply: true},
		{name: "a bidirectional control within the context", file: "a.yaml", text: strings.Replace(farID, "  level: 0", "  level: 0 # \u202e", 1), show: true, apply: false},
		{name: "a tab within the context", file: "a.yaml", text: strings.Replace(farID, "  level: 0", "  level: 0 #\tx", 1), show: true, apply: true},
		{name: "an absolute name", file: "a.yaml", text: farID, arg: "ABS", apply: false},
		{name: "a name outside the directory", file: "other/a.yaml", text: farID, dir: "configs", arg: "../other/a.yaml", apply: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			run := func(dir string, args ...string) {
				t.Helper()
				cmd := exec.Command(git, args...)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			path := filepath.Join(repo, tt.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(repo, tt.dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			run(repo, "init", "-q", ".")
			run(repo, "add", "-A")
			run(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "configs")

			dir := filepath.Join(repo, tt.dir)
			arg := tt.arg
			switch arg {
			case "":
				arg = tt.file
			case "ABS":
				arg = path
			}
			wd, _ := os.Getwd()
			if err := os.Chdir(dir); err != nil {
				t.Fatal(err)
			}
			args := []string{"lint", "--fix", "--diff", arg}
			if tt.show {
				args = append(args, "--show-secrets")
			}
			patch, errOut, code := runXVM(t, false, "", args...)
			os.Chdir(wd)
			if code != 1 || patch == "" {
				t.Fatalf("xvm %v: exit %d, want 1 with a diff\n%s", args, code, errOut)
			}
			patchFile := filepath.Join(t.TempDir(), "fix.patch")
			if err := os.WriteFile(patchFile, []byte(patch), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(git, "apply", "--check", patchFile)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.apply {
				t.Errorf("git apply --check: %v (want it to apply: %v)\n%s\npatch:\n%s", err, tt.apply, out, patch)
			}
		})
	}
}
