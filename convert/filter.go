package convert

import "regexp"

// Filter keeps the nodes whose name matches include (when it is not nil)
// and does not match exclude (when it is not nil), in input order. It
// returns the kept nodes and how many were left out. A node without a name
// is matched by its host:port, the name Parse gives it.
func Filter(nodes []*Node, include, exclude *regexp.Regexp) ([]*Node, int) {
	if include == nil && exclude == nil {
		return nodes, 0
	}
	kept := make([]*Node, 0, len(nodes))
	for _, n := range nodes {
		name := n.label()
		if include != nil && !include.MatchString(name) {
			continue
		}
		if exclude != nil && exclude.MatchString(name) {
			continue
		}
		kept = append(kept, n)
	}
	return kept, len(nodes) - len(kept)
}
