package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// actionFile is the part of action.yml (a composite GitHub Action) the
// tests read.
type actionFile struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
	Run   string            `yaml:"run"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

func TestActionShape(t *testing.T) {
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using %q, want composite", a.Runs.Using)
	}
	for _, in := range []string{"paths", "target", "fail-on", "config", "sarif"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %q missing", in)
		} else if a.Inputs[in].Description == "" {
			t.Errorf("input %q has no description", in)
		}
	}
	var uses []string
	for _, s := range a.Runs.Steps {
		if s.Uses != "" {
			uses = append(uses, s.Uses)
			continue
		}
		if s.Shell != "bash" {
			t.Errorf("step %q: shell %q; composite run steps need shell: bash", s.Name, s.Shell)
		}
		// Expressions in a script are spliced in before bash parses it: an
		// input would be shell code. They belong in env.
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q: ${{ }} inside run; pass it through env", s.Name)
		}
	}
	want := []string{"actions/setup-go@v5", "github/codeql-action/upload-sarif@v3"}
	if strings.Join(uses, " ") != strings.Join(want, " ") {
		t.Errorf("uses %v, want %v", uses, want)
	}
}

// actionRunner runs the script steps of action.yml locally, the way the
// GitHub runner does: expressions in env evaluated, GITHUB_OUTPUT and
// GITHUB_PATH files, the workspace (the repository root) as the working
// directory. `uses` steps are not run; their `if` is evaluated.
type actionRunner struct {
	t          *testing.T
	root, temp string
	workspace  string // the job's working directory; root when empty
	inputs     map[string]string
	outputs    map[string]map[string]string // step id -> outputs
	path       []string
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// value evaluates one of the few expressions action.yml may use.
func (r *actionRunner) value(expr string) string {
	switch {
	case strings.HasPrefix(expr, "inputs."):
		v, ok := r.inputs[strings.TrimPrefix(expr, "inputs.")]
		if !ok {
			r.t.Fatalf("expression %q: no such input", expr)
		}
		return v
	case expr == "runner.temp":
		return r.temp
	case expr == "github.action_path":
		return r.root
	case strings.HasPrefix(expr, "steps."):
		parts := strings.Split(expr, ".")
		if len(parts) != 4 || parts[2] != "outputs" {
			r.t.Fatalf("expression %q: want steps.ID.outputs.NAME", expr)
		}
		return r.outputs[parts[1]][parts[3]]
	case strings.HasPrefix(expr, "'") && strings.HasSuffix(expr, "'"):
		return strings.Trim(expr, "'")
	}
	r.t.Fatalf("expression %q: the test does not know it; teach actionRunner.value", expr)
	return ""
}

func (r *actionRunner) expand(s string) string {
	return exprRE.ReplaceAllStringFunc(s, func(m string) string {
		return r.value(exprRE.FindStringSubmatch(m)[1])
	})
}

// cond evaluates an `if`: comparisons joined by &&.
func (r *actionRunner) cond(s string) bool {
	if s == "" {
		return true
	}
	s = strings.TrimSpace(s)
	if m := exprRE.FindStringSubmatch(s); m != nil && m[0] == s {
		s = m[1]
	}
	for _, part := range strings.Split(s, "&&") {
		part = strings.TrimSpace(part)
		var a, b string
		var eq bool
		switch {
		case strings.Contains(part, "!="):
			a, b, _ = strings.Cut(part, "!=")
		case strings.Contains(part, "=="):
			a, b, _ = strings.Cut(part, "==")
			eq = true
		default:
			r.t.Fatalf("if %q: the test only evaluates == and != joined by &&", s)
		}
		if (r.value(strings.TrimSpace(a)) == r.value(strings.TrimSpace(b))) != eq {
			return false
		}
	}
	return true
}

// runStep runs one script step and returns its exit code and output.
func (r *actionRunner) runStep(s actionStep) (int, string) {
	r.t.Helper()
	outFile := filepath.Join(r.temp, "output-"+s.ID)
	pathFile := filepath.Join(r.temp, "path")
	if err := os.WriteFile(outFile, nil, 0o644); err != nil {
		r.t.Fatal(err)
	}
	script := filepath.Join(r.temp, "step.sh")
	if err := os.WriteFile(script, []byte(s.Run), 0o644); err != nil {
		r.t.Fatal(err)
	}
	// What the runner runs for `shell: bash` (the script in a file as {0}).
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = r.root
	if r.workspace != "" {
		cmd.Dir = r.workspace
	}
	env := os.Environ()
	pathVar := strings.Join(append(append([]string{}, r.path...), os.Getenv("PATH")), string(os.PathListSeparator))
	env = append(env, "PATH="+pathVar, "GITHUB_OUTPUT="+outFile, "GITHUB_PATH="+pathFile)
	for k, v := range s.Env {
		env = append(env, k+"="+r.expand(v))
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			r.t.Fatalf("step %q: %v", s.Name, err)
		}
		code = ee.ExitCode()
	}
	if s.ID != "" {
		r.outputs[s.ID] = readKV(r.t, outFile)
	}
	if data, err := os.ReadFile(pathFile); err == nil {
		for _, p := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if p != "" {
				r.path = append([]string{p}, r.path...)
			}
		}
		os.Remove(pathFile)
	}
	return code, string(out)
}

func readKV(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// TestActionSteps installs xvm with the action's own step (from this
// checkout, as the action does from its ref) and runs the lint and result
// steps over fixtures for each way the inputs are used.
func TestActionSteps(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is not on PATH; the action's steps are bash scripts")
	}
	a := readAction(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	temp := t.TempDir()
	steps := map[string]actionStep{}
	for _, s := range a.Runs.Steps {
		steps[s.Name] = s
	}
	defaults := map[string]string{}
	for k, in := range a.Inputs {
		defaults[k] = in.Default
	}
	install := &actionRunner{t: t, root: root, temp: temp, inputs: defaults, outputs: map[string]map[string]string{}}
	if code, out := install.runStep(steps["Install xvm"]); code != 0 {
		t.Fatalf("Install xvm: exit %d\n%s", code, out)
	}
	if len(install.path) != 1 {
		t.Fatalf("Install xvm added %v to PATH, want its bin directory", install.path)
	}

	cfg := filepath.Join(temp, "rules.yaml")
	if err := os.WriteFile(cfg, []byte("rules:\n  port-range: off\n  address-format: off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A workspace like a repository's: configs (one in a directory and a
	// file whose names hold spaces) beside other JSON and YAML.
	ws := filepath.Join(temp, "workspace")
	for name, from := range map[string]string{
		"my configs/bad port.yaml":   "testdata/lint/err/port-address.yaml",
		"clean.json":                 "testdata/lint/ok/outbound.json",
		"package.json":               "",
		"docker-compose.yml":         "",
		".github/workflows/ci.yml":   "",
		"deploy/proxy config.jsonc":  "testdata/lint/ok/full-config.jsonc",
		"deploy/k8s/deployment.yaml": "",
	} {
		data := []byte("name: x\nversion: 1.0.0\nservices: {web: {image: nginx}}\n")
		if strings.HasSuffix(name, ".json") {
			data = []byte(`{"name": "x", "version": "1.0.0", "dependencies": {}}`)
		}
		if from != "" {
			var err error
			if data, err = os.ReadFile(filepath.Join(root, from)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ws, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const badPort = "::error file=my configs/bad port.yaml,line="
	tests := []struct {
		name      string
		workspace string
		inputs    map[string]string
		code      string // the lint step's exit-code output
		want      []string
		notWant   []string
		upload    bool
		resultRC  int
	}{
		{name: "default: the Xray configs of the checkout", workspace: ws, inputs: map[string]string{}, code: "1",
			want: []string{badPort}, notWant: []string{"package.json", "docker-compose", "deployment.yaml", "ci.yml"}, resultRC: 1},
		{name: "quoted path with spaces", workspace: ws, inputs: map[string]string{"paths": `"my configs/bad port.yaml"`}, code: "1",
			want: []string{badPort}, resultRC: 1},
		{name: "single quotes, one per line", workspace: ws, inputs: map[string]string{"paths": "'my configs/bad port.yaml'\nclean.json\n'deploy/proxy config.jsonc'"}, code: "1",
			want: []string{badPort}, resultRC: 1},
		{name: "backslash before the spaces", workspace: ws, inputs: map[string]string{"paths": `my\ configs/bad\ port.yaml clean.json`}, code: "1",
			want: []string{badPort}, resultRC: 1},
		{name: "directory with a space", workspace: ws, inputs: map[string]string{"paths": `"my configs" "deploy/proxy config.jsonc"`}, code: "1",
			want: []string{badPort}, resultRC: 1},
		{name: "glob in a directory with a space", workspace: ws, inputs: map[string]string{"paths": `"my configs/*.yaml"`}, code: "1",
			want: []string{badPort}, resultRC: 1},
		{name: "unquoted, a space separates paths", workspace: ws, inputs: map[string]string{"paths": "my configs/bad port.yaml"}, code: "2",
			want: []string{"stat my: no such file"}, resultRC: 2},
		{name: "unmatched quote", workspace: ws, inputs: map[string]string{"paths": `"my configs/bad port.yaml`}, code: "2",
			want: []string{"::error title=xvm lint::the paths input has an unmatched quote"}, resultRC: 2},
		{name: "named files are linted whatever they are", workspace: ws, inputs: map[string]string{"paths": "package.json", "fail-on": "warning"}, code: "1",
			want: []string{"::warning file=package.json"}, resultRC: 1},
		{name: "clean files", inputs: map[string]string{"paths": "testdata/lint/ok"}, code: "0", resultRC: 0},
		{name: "annotations", inputs: map[string]string{"paths": "testdata/lint/ok\ntestdata/lint/err/port-address.yaml"}, code: "1",
			want: []string{"::error file=testdata/lint/err/port-address.yaml,line="}, resultRC: 1},
		{name: "fail-on warning", inputs: map[string]string{"paths": "testdata/lint/err/unknown-key.json", "fail-on": "warning"}, code: "1",
			want: []string{"::warning file=testdata/lint/err/unknown-key.json"}, resultRC: 1},
		{name: "config turns rules off", inputs: map[string]string{"paths": "testdata/lint/err/port-address.yaml", "config": cfg}, code: "0", resultRC: 0},
		{name: "target seed", inputs: map[string]string{"paths": "testdata/lint/err/seed-multi.json", "target": "seed", "fail-on": "info"}, code: "1",
			want: []string{"seed manual recommends 0"}, resultRC: 1},
		{name: "sarif", inputs: map[string]string{"paths": "testdata/lint/err/port-address.yaml", "sarif": "true"}, code: "1", upload: true, resultRC: 1},
		{name: "bad path", inputs: map[string]string{"paths": "no/such/dir"}, code: "2", want: []string{"no/such/dir"}, resultRC: 2},
		{name: "glob is xvm's", inputs: map[string]string{"paths": "testdata/lint/ok/*.toml"}, code: "0", resultRC: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]string{}
			for k, v := range defaults {
				in[k] = v
			}
			for k, v := range tt.inputs {
				in[k] = v
			}
			r := &actionRunner{t: t, root: root, workspace: tt.workspace, temp: t.TempDir(), inputs: in, outputs: map[string]map[string]string{}, path: install.path}
			r.temp = temp // runner.temp is shared by the steps of a job
			_, out := r.runStep(steps["Lint"])
			if got := r.outputs["lint"]["exit-code"]; got != tt.code {
				t.Fatalf("exit-code output %q, want %q\n%s", got, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if tt.inputs["sarif"] != "true" && strings.Contains(out, `"$schema"`) {
				t.Errorf("SARIF printed without sarif: true")
			}
			if up := r.cond(steps["Upload SARIF"].If); up != tt.upload {
				t.Errorf("Upload SARIF runs: %v, want %v", up, tt.upload)
			}
			if tt.upload {
				file := r.expand(steps["Upload SARIF"].With["sarif_file"])
				checkSARIF(t, file)
			}
			if rc, out := r.runStep(steps["Result"]); rc != tt.resultRC {
				t.Errorf("Result step exit %d, want %d\n%s", rc, tt.resultRC, out)
			}
		})
	}
}

func checkSARIF(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("sarif_file: %v", err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("sarif_file is not JSON: %v", err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
		t.Errorf("SARIF %s: version %q, %d runs, want 2.1.0 with results", file, log.Version, len(log.Runs))
	}
}
