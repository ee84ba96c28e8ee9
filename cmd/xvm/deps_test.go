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
