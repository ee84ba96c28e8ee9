package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the package graph pointing one way:
// cmd/xvm -> lint, convert, probe -> schema, vmess. It asks the go tool for
// every package's (non-test) dependencies and checks them against the house
// rules in the forbidden table below.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/xvmtools/xvm/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/xvmtools/xvm"
	// forbidden maps a package prefix (inside the module) to dependency
	// prefixes it must not reach.
	uiLibs := []string{"github.com/spf13/cobra", "github.com/charmbracelet/"}
	xray := "github.com/xtls/xray-core"
	forbidden := map[string][]string{
		mod + "/schema":  append([]string{mod + "/lint", mod + "/convert", mod + "/probe", mod + "/cmd", mod + "/vmess/transport", xray}, uiLibs...),
		mod + "/lint":    append([]string{mod + "/lint/lsp", mod + "/convert", mod + "/probe", mod + "/cmd", mod + "/vmess/transport", xray}, uiLibs...),
		mod + "/convert": append([]string{mod + "/lint", mod + "/probe", mod + "/cmd", mod + "/vmess/transport", xray}, uiLibs...),
		mod + "/probe":   append([]string{mod + "/lint", mod + "/cmd", xray}, uiLibs...),
		mod + "/vmess":   append([]string{mod + "/schema", mod + "/lint", mod + "/convert", mod + "/probe", mod + "/cmd", xray}, uiLibs...),
	}
	// The config side (schema, lint, convert) may use the vmess package's
	// pure functions (ParseID, MaskID): vmess is the bottom layer, imports
	// only the standard library and x/crypto, and so one id parser and one
	// masking rule serve every package. Dialing (vmess/transport) stays
	// with probe. probe may read inputs through convert.
	//
	// vmesstest, probetest and converttest are test helpers (like
	// net/http/httptest): vmesstest starts Xray-core, so it may import it;
	// nothing outside tests may import any of them.
	testHelpers := []string{mod + "/vmess/vmesstest", mod + "/probe/probetest", mod + "/convert/converttest"}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, deps := fields[0], fields[1:]
		seen++
		if slices.Contains(testHelpers, pkg) {
			continue
		}
		for _, d := range deps {
			for _, h := range testHelpers {
				if d == h || strings.HasPrefix(d, h+"/") {
					t.Errorf("%s imports the test helper %s", pkg, d)
				}
			}
		}
		for prefix, bad := range forbidden {
			if pkg != prefix && !strings.HasPrefix(pkg, prefix+"/") {
				continue
			}
			for _, d := range deps {
				for _, b := range bad {
					if d == b || strings.HasPrefix(d, b+"/") || (strings.HasSuffix(b, "/") && strings.HasPrefix(d, b)) {
						t.Errorf("%s depends on %s, which the package rules forbid", pkg, d)
					}
				}
			}
		}
	}
	if seen < 2 {
		t.Fatalf("go list returned only %d packages; the test is not looking at the module", seen)
	}
}

// TestVMessCodecStaysInternal: the VMess wire format (key derivation,
// sealed headers, chunk framing) lives in vmess/internal/; only the vmess
// package itself (and its tests) may import it, so every other package,
// vmess/transport and vmess/vmesstest included, goes through the client
// API. The go tool enforces internal/ only for packages outside vmess/;
// this also covers the siblings and the test files. Direct imports are
// checked, since everything that uses vmess depends on the codec through
// it.
func TestVMessCodecStaysInternal(t *testing.T) {
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`,
		"github.com/xvmtools/xvm/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const vmess = "github.com/xvmtools/xvm/vmess"
	const internal = vmess + "/internal/"
	importers := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		for _, d := range fields[1:] {
			if !strings.HasPrefix(d, internal) {
				continue
			}
			if pkg == vmess || strings.HasPrefix(pkg, internal) {
				importers++
				continue
			}
			t.Errorf("%s imports %s; use the vmess client API instead", pkg, d)
		}
	}
	if importers == 0 {
		t.Fatal("not even the vmess package imports its internal codec; the test is not looking at the module")
	}
}

// TestModuleAllowList: the non-test code of the module imports only the
// modules listed here, and the vmess packages fewer still, so a new
// dependency is a decision made in review, not a side effect. sing-box
// and sing-vmess (github.com/sagernet/...) are test-only peers, like
// Xray-core: vmesstest starts them, and nothing else may reach them.
func TestModuleAllowList(t *testing.T) {
	const mod = "github.com/xvmtools/xvm"
	// Test helpers start peers (Xray-core, sing-box); tests alone use them.
	helpers := []string{mod + "/vmess/vmesstest", mod + "/probe/probetest", mod + "/convert/converttest"}
	vmessOnly := []string{"golang.org/x/crypto", "golang.org/x/net", "golang.org/x/sys", "golang.org/x/text"}
	transport := append(slices.Clone(vmessOnly),
		"github.com/gorilla/websocket",
		"github.com/refraction-networking/utls", "github.com/klauspost/compress", "github.com/andybalholm/brotli", // uTLS and its certificate compression
	)
	all := append(slices.Clone(transport),
		"google.golang.org/protobuf", "gopkg.in/yaml.v3", "github.com/pelletier/go-toml/v2",
		"github.com/santhosh-tekuri/jsonschema/v5", "github.com/aymanbagabas/go-udiff",
		// Prometheus exposition (probe/serve)
		"github.com/prometheus/client_golang", "github.com/prometheus/client_model", "github.com/prometheus/common",
		"github.com/prometheus/procfs", "github.com/beorn7/perks", "github.com/cespare/xxhash/v2", "github.com/munnerz/goautoneg",
		// the CLI (cmd/xvm only, see TestDependencyDirection)
		"github.com/spf13/cobra", "github.com/spf13/pflag", "github.com/charmbracelet/lipgloss", "github.com/charmbracelet/colorprofile",
		"github.com/charmbracelet/x/ansi", "github.com/charmbracelet/x/cellbuf", "github.com/charmbracelet/x/term",
		"github.com/aymanbagabas/go-osc52/v2", "github.com/lucasb-eyer/go-colorful", "github.com/mattn/go-isatty",
		"github.com/mattn/go-runewidth", "github.com/muesli/termenv", "github.com/rivo/uniseg", "github.com/xo/terminfo",
	)
	rules := []struct {
		pkgs    string // a package pattern
		allowed []string
	}{
		{mod + "/vmess", vmessOnly},
		{mod + "/vmess/transport", transport},
		{mod + "/...", all},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}`, r.pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		var roots []string
		for _, p := range strings.Fields(string(out)) {
			if !slices.ContainsFunc(helpers, func(h string) bool { return p == h || strings.HasPrefix(p, h+"/") }) {
				roots = append(roots, p)
			}
		}
		args := append([]string{"list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}{{end}}`}, roots...)
		out, err = exec.Command("go", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps: %v\n%s", err, out)
		}
		modules := 0
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			pkg, m, _ := strings.Cut(line, " ")
			if m == "" || m == mod {
				continue
			}
			modules++
			switch {
			case strings.HasPrefix(m, "github.com/sagernet/"):
				t.Errorf("%s (from %s) reaches %s: sing-box is a test-only peer", r.pkgs, pkg, m)
			case !slices.Contains(r.allowed, m):
				t.Errorf("%s reaches %s (package %s), which is not on its allow-list; add it here if it is meant", r.pkgs, m, pkg)
			}
		}
		if modules == 0 {
			t.Errorf("%s: no module outside the standard library; the test is not looking at the code", r.pkgs)
		}
	}
}
