package lsp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// applyOneByOne is the protocol's definition of a didChange: each edit
// located on the text the edits before it left.
func applyOneByOne(src []byte, changes []contentChange, enc encoding) []byte {
	for _, c := range changes {
		if c.Range == nil {
			src = []byte(c.Text)
			continue
		}
		t := newText(src, enc)
		from, to := t.offset(c.Range.Start), t.offset(c.Range.End)
		if to < from {
			from, to = to, from
		}
		src = append(append(append([]byte{}, src[:from]...), c.Text...), src[to:]...)
	}
	return src
}

func rangeOf(l1, c1, l2, c2 int) *lspRange {
	return &lspRange{Start: position{l1, c1}, End: position{l2, c2}}
}

// TestApplyChangesAsDefined: batched or not, the edits of a didChange
// give the text the protocol defines, for runs in descending order
// (batched), ascending and mixed order, full replacements among them,
// insertions at one point, positions past a line's end, and non-ASCII
// text in each encoding.
func TestApplyChangesAsDefined(t *testing.T) {
	doc := []byte("{\n  \"outbounds\": [\n    {\"tag\": \"ä😀b\", \"port\": \"443\"}\n  ]\n}\n")
	for _, c := range []struct {
		name    string
		changes []contentChange
	}{
		{"descending", []contentChange{{rangeOf(2, 40, 2, 45), "443"}, {rangeOf(2, 14, 2, 16), "X"}, {rangeOf(1, 3, 1, 12), "Outbounds"}}},
		{"ascending", []contentChange{{rangeOf(1, 3, 1, 12), "Outbounds"}, {rangeOf(2, 14, 2, 16), "X"}, {rangeOf(2, 40, 2, 45), "443"}}},
		{"insertions at one point", []contentChange{{rangeOf(0, 1, 0, 1), "a"}, {rangeOf(0, 1, 0, 1), "b"}, {rangeOf(0, 0, 0, 1), "c"}}},
		{"past the line's end", []contentChange{{rangeOf(3, 99, 4, 0), "Z"}, {rangeOf(0, 50, 1, 2), ""}}},
		{"full text between", []contentChange{{rangeOf(0, 0, 0, 1), "["}, {nil, "{}\n"}, {rangeOf(0, 1, 0, 1), "\"a\": 1"}}},
		{"reversed range", []contentChange{{rangeOf(1, 12, 1, 3), "x"}}},
	} {
		for _, enc := range []encoding{utf16, utf8Bytes, utf32} {
			t.Run(fmt.Sprintf("%s/%s", c.name, enc), func(t *testing.T) {
				want := applyOneByOne(doc, c.changes, enc)
				got, ok := applyChanges(doc, c.changes, enc)
				if !ok || !bytes.Equal(got, want) {
					t.Fatalf("got %q (ok %v), want %q", got, ok, want)
				}
			})
		}
	}
	// Random descending runs on a multi-line document.
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		var changes []contentChange
		line := 40
		for line > 0 && len(changes) < 10 {
			l := rng.Intn(line + 1)
			changes = append(changes, contentChange{rangeOf(l, rng.Intn(5), l, 5+rng.Intn(5)), strings.Repeat("é", rng.Intn(3))})
			line = l - 1
		}
		src := []byte(strings.Repeat("abcdefghij😀k\n", 41))
		want := applyOneByOne(src, changes, utf16)
		got, ok := applyChanges(src, changes, utf16)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("round %d: %v\ngot  %q\nwant %q", round, changes, got, want)
		}
	}
}

// TestManyEditsToALargeDocument: 5,000 one-character edits in one
// didChange to a 4 MB document — an editor's replace-all, last occurrence
// first — are applied in one pass (each used to index and copy the whole
// document: 26 s); the same edits first occurrence first cannot be
// batched and pass the work bound, so the document stops being followed
// instead of holding the server for minutes.
func TestManyEditsToALargeDocument(t *testing.T) {
	var b strings.Builder
	for b.Len() < 4<<20 {
		b.WriteString(`{"tag": "a", "port": 443},` + "\n")
	}
	src := []byte(b.String())
	lines := bytes.Count(src, []byte("\n"))
	var desc []contentChange
	for k := 0; k < 5000; k++ {
		l := lines - 1 - k*(lines/5000)
		desc = append(desc, contentChange{rangeOf(l, 9, l, 10), "b"})
	}
	got, ok := applyChanges(src, desc, utf16)
	if !ok || bytes.Count(got, []byte(`"tag": "b"`)) != 5000 || len(got) != len(src) {
		t.Fatalf("descending run: ok %v, %d edits applied", ok, bytes.Count(got, []byte(`"tag": "b"`)))
	}
	asc := make([]contentChange, len(desc))
	for k := range desc {
		asc[k] = desc[len(desc)-1-k]
	}
	if _, ok := applyChanges(src, asc, utf16); ok {
		t.Fatal("5,000 unbatchable edits to a 4 MB document were followed; want the work bound to stop it")
	}
}

// TestChangePastTheWorkBoundStopsFollowing: through the server, a
// didChange that passes the work bound drops the document (diagnostics
// cleared) and tells the user to reopen it; a batched one of the same
// size is followed.
func TestChangePastTheWorkBoundStopsFollowing(t *testing.T) {
	s, out := newTestServer(t)
	doc := strings.Repeat(`{"tag": "a", "port": 443},`+"\n", 160_000) // 4.2 MB
	open := func(uri string) {
		s.handle(&message{Method: "textDocument/didOpen", Params: json.RawMessage(
			`{"textDocument":{"uri":` + mustJSON(t, uri) + `,"languageId":"json","version":1,"text":` + mustJSON(t, doc) + `}}`)})
	}
	edits := func(uri string, ascending bool) {
		var cs []contentChange
		for k := 0; k < 200; k++ {
			l := 159_999 - k*700
			if ascending {
				l = k * 700
			}
			cs = append(cs, contentChange{rangeOf(l, 9, l, 10), "b"})
		}
		params, _ := json.Marshal(didChangeParams{TextDocument: versionedTextDocumentIdentifier{URI: uri, Version: 2}, ContentChanges: cs})
		s.handle(&message{Method: "textDocument/didChange", Params: params})
	}
	open("file:///w/desc.json")
	edits("file:///w/desc.json", false)
	if d := s.docs["file:///w/desc.json"]; d == nil || strings.Count(string(d.text), `"tag": "b"`) != 200 {
		t.Fatal("a batched change of 200 edits was not followed")
	}
	open("file:///w/asc.json")
	edits("file:///w/asc.json", true)
	if s.docs["file:///w/asc.json"] != nil || !strings.Contains(out.String(), "stopped linting file:///w/asc.json: one change held more edits") {
		t.Errorf("200 unbatchable edits to a 4 MB document are still followed:\n%.2000s", out.String())
	}
}
