package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// outsideDocs matches references to design notes that live outside the
// repository. What the code relies on must be in docs/, in the project's
// own words, so a reader of a clone can follow every reference.
var outsideDocs = regexp.MustCompile(`(?i)DESIGN\.md|NOTES-[a-z]+|STYLE\.md|seed-vmess-outbound|link-corpus\.md|\.\./shared|/work/shared|\bnotes\s*§|§\s*[0-9.]+\s+of\s+the\s+notes`)

// docsAnchor matches a reference to a section of a docs page, written
// either from anywhere in the tree (docs/protocol.md#drain-on-rejection) or
// from inside docs/ as a relative Markdown link (](protocol.md#…) or (#…)).
var (
	docsAnchor     = regexp.MustCompile(`docs/([a-z0-9-]+\.md)#([A-Za-z0-9_-]+)`)
	relativeAnchor = regexp.MustCompile(`\]\(([a-z0-9-]+\.md)?#([A-Za-z0-9_-]+)\)`)
)

// TestNoOutsideDocuments fails when any file in the repository, docs/
// included, mentions documents kept outside it (DESIGN.md, NOTES-*.md, …).
func TestNoOutsideDocuments(t *testing.T) {
	root := repoRoot(t)
	self, err := filepath.Abs("docrefs_test.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	walkRepo(t, root, func(path string, data []byte) {
		if path == self {
			return // it spells the patterns out
		}
		checked++
		for i, line := range bytes.Split(data, []byte("\n")) {
			if m := outsideDocs.Find(line); m != nil {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d: refers to %q, a document outside the repository; point at the docs/ page and section that holds the fact", rel, i+1, m)
			}
		}
	})
	if checked < 50 {
		t.Fatalf("looked at only %d files under %s; the test is not looking at the repository", checked, root)
	}
}

// TestDocsAnchorsResolve fails when a reference to a docs section
// (docs/protocol.md#timestamp-window in a comment, or a relative link
// inside docs/) names a page or heading that does not exist, so comments
// keep pointing at text that is there.
func TestDocsAnchorsResolve(t *testing.T) {
	root := repoRoot(t)
	docsDir := filepath.Join(root, "docs")
	anchors := map[string]map[string]bool{} // page -> heading slugs
	pages, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs pages under %s (%v)", docsDir, err)
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		anchors[filepath.Base(p)] = headingSlugs(data)
	}
	refs := 0
	walkRepo(t, root, func(path string, data []byte) {
		rel, _ := filepath.Rel(root, path)
		inDocs := filepath.Dir(path) == docsDir
		for i, line := range bytes.Split(data, []byte("\n")) {
			var found [][]string
			for _, m := range docsAnchor.FindAllSubmatch(line, -1) {
				found = append(found, []string{string(m[1]), string(m[2])})
			}
			if inDocs {
				for _, m := range relativeAnchor.FindAllSubmatch(line, -1) {
					page := string(m[1])
					if page == "" {
						page = filepath.Base(path)
					}
					found = append(found, []string{page, string(m[2])})
				}
			}
			for _, f := range found {
				refs++
				slugs, ok := anchors[f[0]]
				switch {
				case !ok:
					t.Errorf("%s:%d: docs/%s does not exist", rel, i+1, f[0])
				case !slugs[f[1]]:
					t.Errorf("%s:%d: docs/%s has no heading with the anchor #%s", rel, i+1, f[0], f[1])
				}
			}
		}
	})
	if refs == 0 {
		t.Fatal("found no docs anchors at all; the patterns no longer match how the tree refers to docs")
	}
}

// headingSlugs returns the GitHub anchors of a Markdown page's headings:
// lower case, spaces as hyphens, punctuation dropped, "-1", "-2" … for
// repeats. Lines inside fenced code blocks are not headings.
func headingSlugs(md []byte) map[string]bool {
	slugs := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			seen[slug]++
			slug += "-" + string(rune('0'+n))
		} else {
			seen[slug] = 1
		}
		slugs[slug] = true
	}
	return slugs
}

// repoRoot is the directory holding go.mod, above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// walkRepo calls fn with every regular text file under root, skipping
// version-control metadata and binary files.
func walkRepo(t *testing.T, root string, fn func(path string, data []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(data, 0) >= 0 {
			return nil // binary
		}
		fn(path, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
