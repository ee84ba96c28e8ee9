package main

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The architecture page (docs/architecture.md) names files and Go
// identifiers all over the tree, so that a newcomer can follow each verb
// from cmd/xvm to its output. These patterns find those names, so that a
// rename or a removal elsewhere fails here instead of leaving the map
// pointing at nothing.
var (
	// archPath is a path from the repository root: a top-level directory,
	// a slash, then path characters; <placeholder> parts stand for any
	// name. It must follow the start of a line, a space or an opening
	// quote, bracket or backtick, so that a URL or an Xray source path
	// (proxy/vmess/…) is not taken for one of ours.
	archPath = regexp.MustCompile("(?:^|[\\s`(\\[\"'])((?:\\.ci|cmd|schema|lint|convert|probe|vmess|testdata|docs)/[A-Za-z0-9_.*<>/-]*)")
	// archSpan is a Markdown code span.
	archSpan = regexp.MustCompile("`([^`\n]+)`")
	// archIdent is a Go name qualified by its package: pkg.Name, or
	// pkg.Type.Member for a method or a struct field. Package main
	// (cmd/xvm) is written main.
	archIdent = regexp.MustCompile(`^([a-z][a-z0-9]*)\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$`)
	// archTestFunc is a test, benchmark, fuzz target or example named
	// on its own.
	archTestFunc = regexp.MustCompile(`^(?:Test|Benchmark|Fuzz|Example)[A-Z][A-Za-z0-9_]*$`)
	// archPlaceholder is a <name> part of a path.
	archPlaceholder = regexp.MustCompile(`<[^<>/]*>`)
)

// notIdentifiers are the endings of code spans that name a file, not a Go
// identifier (probe.md, schema.json).
var notIdentifiers = map[string]bool{
	"md": true, "go": true, "json": true, "jsonc": true, "yaml": true, "yml": true, "toml": true,
	"txt": true, "out": true, "html": true, "py": true, "sarif": true, "golden": true, "ndjson": true, "mod": true, "sum": true,
}

// TestArchitectureNamesExist reads docs/architecture.md and fails for
// every path from the repository root that matches no file or directory,
// every `pkg.Name` or `pkg.Type.Member` whose package has no such
// function, method, type, field, variable or constant, and every test
// function named that no package declares.
func TestArchitectureNamesExist(t *testing.T) {
	root := repoRoot(t)
	page := filepath.Join(root, "docs", "architecture.md")
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := goPackages(t, root)
	stdlib := stdlibNames(t)
	var paths, idents, tests int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		for _, m := range archPath.FindAllStringSubmatch(line, -1) {
			p := strings.TrimRight(m[1], ".")
			paths++
			if !pathExists(root, p) {
				t.Errorf("docs/architecture.md:%d: %s does not exist", n, p)
			}
		}
		for _, m := range archSpan.FindAllStringSubmatch(line, -1) {
			span := m[1]
			if archTestFunc.MatchString(span) {
				tests++
				if !pkgs.anyDeclares(t, span) {
					t.Errorf("docs/architecture.md:%d: no package declares %s", n, span)
				}
				continue
			}
			im := archIdent.FindStringSubmatch(span)
			if im == nil {
				continue
			}
			pkg, name, member := im[1], im[2], im[3]
			last := name
			if member != "" {
				last = member
			}
			if notIdentifiers[last] {
				continue // a file name such as probe.md
			}
			names, ok := pkgs.byName[pkg]
			if !ok {
				// Not one of ours: the standard library's
				// (context.WithTimeout) is not checked; anything else
				// exported is a package name spelt wrong.
				if isExported(last) && !stdlib[pkg] {
					t.Errorf("docs/architecture.md:%d: %s: no package %s in the module or the standard library", n, span, pkg)
				}
				continue
			}
			idents++
			if names == nil {
				t.Errorf("docs/architecture.md:%d: %s: more than one package is called %s", n, span, pkg)
				continue
			}
			decls := names.load(t)
			ref := name
			if member != "" {
				ref = name + "." + member
			}
			if !decls[ref] {
				rel, _ := filepath.Rel(root, names.dir)
				t.Errorf("docs/architecture.md:%d: %s: package %s (%s) declares no %s", n, span, pkg, filepath.ToSlash(rel), ref)
			}
		}
	}
	// The page names dozens of each; far fewer means the patterns no
	// longer match how it writes them.
	t.Logf("checked %d paths, %d identifiers, %d tests", paths, idents, tests)
	if paths < 40 || idents < 80 || tests < 10 {
		t.Fatalf("found %d paths, %d identifiers and %d tests in docs/architecture.md; the patterns no longer match how the page names things", paths, idents, tests)
	}
}

// isExported reports whether a Go name starts with an upper-case letter.
func isExported(name string) bool { return name != "" && unicode.IsUpper(rune(name[0])) }

// stdlibNames are the last elements of the standard library's package
// paths (context, signal, http), found under GOROOT.
func stdlibNames(t *testing.T) map[string]bool {
	t.Helper()
	src := filepath.Join(build.Default.GOROOT, "src")
	names := map[string]bool{}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "internal" || d.Name() == "vendor" || d.Name() == "cmd") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			names[d.Name()] = true
		}
		return nil
	})
	if err != nil || !names["context"] || !names["signal"] {
		t.Fatalf("cannot list the standard library under %s (%v)", src, err)
	}
	return names
}

// pathExists reports whether p (relative to root) names a file or a
// directory; <placeholders> and * match any name.
func pathExists(root, p string) bool {
	p = strings.TrimSuffix(p, "/")
	glob := archPlaceholder.ReplaceAllString(p, "*")
	matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(glob)))
	return err == nil && len(matches) > 0
}

// goPackage is one directory of Go files; its declarations are read when
// first asked for.
type goPackage struct {
	dir   string
	decls map[string]bool
}

// goPackageSet is every Go package of the module, by package name (the
// directory's name but for main).
type goPackageSet struct {
	byName map[string]*goPackage // nil value: the name is ambiguous
	all    []*goPackage
}

// goPackages finds every directory of Go files under root (testdata
// excluded) and the package name its files declare.
func goPackages(t *testing.T, root string) *goPackageSet {
	t.Helper()
	set := &goPackageSet{byName: map[string]*goPackage{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		name := packageName(t, path)
		if name == "" {
			return nil
		}
		p := &goPackage{dir: path}
		set.all = append(set.all, p)
		if _, seen := set.byName[name]; seen {
			set.byName[name] = nil
		} else {
			set.byName[name] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.all) < 10 {
		t.Fatalf("found only %d Go packages under %s", len(set.all), root)
	}
	return set
}

// packageName is the package clause of dir's first non-test Go file, or
// "" when dir has none.
func packageName(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		return af.Name.Name
	}
	return ""
}

// load parses the package's files, tests included, and returns its
// declarations: top-level functions, types, variables and constants by
// name, and methods and struct fields (and interface methods) as
// Type.Member.
func (p *goPackage) load(t *testing.T) map[string]bool {
	t.Helper()
	if p.decls != nil {
		return p.decls
	}
	p.decls = map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(p.dir, "*.go"))
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || len(d.Recv.List) == 0 {
					p.decls[d.Name.Name] = true
					continue
				}
				if recv := receiverType(d.Recv.List[0].Type); recv != "" {
					p.decls[recv+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						p.decls[s.Name.Name] = true
						p.addMembers(s.Name.Name, s.Type)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							p.decls[n.Name] = true
						}
					}
				}
			}
		}
	}
	return p.decls
}

// addMembers records the fields of a struct type and the methods of an
// interface type as typ.Name.
func (p *goPackage) addMembers(typ string, e ast.Expr) {
	var fields *ast.FieldList
	switch e := e.(type) {
	case *ast.StructType:
		fields = e.Fields
	case *ast.InterfaceType:
		fields = e.Methods
	default:
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			p.decls[typ+"."+n.Name] = true
		}
		if len(f.Names) == 0 { // embedded: known by its type's name
			if name := receiverType(f.Type); name != "" {
				p.decls[typ+"."+name] = true
			}
		}
	}
}

// receiverType is the type name of a receiver or an embedded field: T,
// *T, T[P] or pkg.T.
func receiverType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return receiverType(e.X)
	case *ast.IndexExpr:
		return receiverType(e.X)
	case *ast.IndexListExpr:
		return receiverType(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// anyDeclares reports whether some package declares a top-level function
// called name (a test, a benchmark, a fuzz target).
func (s *goPackageSet) anyDeclares(t *testing.T, name string) bool {
	t.Helper()
	for _, p := range s.all {
		if p.load(t)[name] {
			return true
		}
	}
	return false
}

// archImports is a line of the page's import list: "pkg -> a, b, c".
var archImports = regexp.MustCompile(`^([a-z][a-z/]*[a-z])\s+->\s+(.*)$`)

// TestArchitectureImportsMatch holds the list of what each package
// imports of the module, on docs/architecture.md, to what the go tool
// says: every package that imports another of the module has its line,
// and each line names exactly those imports (tests aside). A package that
// imports nothing of xvm may have a line saying "nothing of xvm".
func TestArchitectureImportsMatch(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/xvmtools/xvm/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	want := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		var own []string
		for _, d := range fields[1:] {
			if strings.HasPrefix(d, mod) {
				own = append(own, strings.TrimPrefix(d, mod))
			}
		}
		slices.Sort(own)
		want[pkg] = own
	}
	got := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		m := archImports.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var list []string
		if !strings.HasPrefix(m[2], "nothing of xvm") {
			for _, p := range strings.Split(m[2], ",") {
				list = append(list, strings.TrimSpace(p))
			}
		}
		slices.Sort(list)
		got[m[1]] = list
	}
	if len(got) < 5 {
		t.Fatalf("found %d import lines on docs/architecture.md; the pattern no longer matches the list", len(got))
	}
	for pkg, list := range got {
		w, ok := want[pkg]
		switch {
		case !ok:
			t.Errorf("docs/architecture.md lists the imports of %s, which is not a package", pkg)
		case !slices.Equal(list, w):
			t.Errorf("docs/architecture.md: %s -> %s; the go tool says %s", pkg, strings.Join(list, ", "), strings.Join(w, ", "))
		}
	}
	for pkg, w := range want {
		if _, ok := got[pkg]; !ok && len(w) > 0 {
			t.Errorf("docs/architecture.md does not list what %s imports (%s)", pkg, strings.Join(w, ", "))
		}
	}
}
