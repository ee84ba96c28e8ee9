package convert

import (
	"github.com/xvmtools/xvm/schema"
)

// entryLines returns the 1-based line where each outbound of a document
// starts (a top-level list, or the list under "outbounds"), using schema's
// positioned loader in format f, the format convert's own decoder read it
// as. It is called only after that decoder accepted the document, and
// returns nil when the positions cannot be had; diagnostics then name the
// entry by index only.
func entryLines(name string, f schema.Format, data []byte) []int {
	doc, err := schema.LoadFormat(name, f, data)
	if err != nil || doc.Root == nil {
		return nil
	}
	list := doc.Root
	if list.Kind == schema.Object {
		list = list.Get("outbounds")
	}
	if list == nil || list.Kind != schema.Array {
		return nil
	}
	lines := make([]int, len(list.Items))
	for i, it := range list.Items {
		lines[i] = int(it.Pos.Line)
	}
	return lines
}

func lineAt(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}
