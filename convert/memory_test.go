package convert

import (
	"context"
	"runtime"
	"testing"
	"unsafe"
)

// TestParsedNodesLiveHeap bounds what a parsed list keeps alive per node,
// the memory that sets xvm convert's peak (docs/convert.md): a Node of the
// fields most servers set, its rare fields only when present, and strings
// of its own rather than slices of the input text, so that the text is
// freed once read. The bound is on live heap after a collection, not on
// time or RSS, so it holds on a loaded machine.
func TestParsedNodesLiveHeap(t *testing.T) {
	if size := unsafe.Sizeof(Node{}); size > 288 {
		t.Errorf("Node is %d bytes; want at most 288 (rarely set fields belong in NodeExtra)", size)
	}
	const n = 30000
	live := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	links := linkList(n)
	res, err := Parse(context.Background(), "links", links, Options{})
	if err != nil || len(res.Nodes) != n {
		t.Fatalf("parse: %v, %d nodes", err, len(res.Nodes))
	}
	inputBytes := len(links)
	links = nil // the caller drops the input once parsed
	after := live()
	runtime.KeepAlive(res)
	perNode := (int64(after) - int64(before)) / n
	t.Logf("%d bytes live per node after parse (input %d bytes per link)", perNode, inputBytes/n)
	// Today about 330: the 288-byte Node, its own name and address, and
	// the list's pointer. A Node holding every field (608 bytes) or nodes
	// whose strings keep the input (about 200 bytes a link) alive exceed it.
	if perNode > 450 {
		t.Errorf("%d bytes live per parsed node; want at most 450", perNode)
	}
}
