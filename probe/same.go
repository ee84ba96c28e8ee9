package probe

import (
	"context"
	"fmt"
	"slices"

	"github.com/xvmtools/xvm/vmess"
)

// sameKey is what makes two targets one probe: their whole client
// configuration except the name, with the address's case and the id's
// spelling (dashes, case) normalised. Two entries of a subscription that
// list one server under several names (panels add "traffic left" and
// "expires" entries that copy a real server) are the same target; two
// that differ in anything the client sends (alterId, fingerprint, a
// header) are probed each, since either may change the verdict.
func sameKey(t *Target) string {
	c := *t
	c.Name = ""
	c.warnings = nil // what the source asked for and probing leaves out: nothing sent
	c.Stream.Address = normHost(c.Stream.Address)
	if id, err := vmess.ParseID(c.ID); err == nil {
		c.ID = id.String()
	}
	return fmt.Sprintf("%#v", c)
}

// groupSame maps targets to the distinct ones among them: uniq holds the
// index of the first target of each group, in input order, and members
// the indexes of every target of that group.
func groupSame(targets []Target) (uniq []int, members [][]int) {
	seen := make(map[string]int, len(targets))
	for i := range targets {
		k := sameKey(&targets[i])
		if g, ok := seen[k]; ok {
			members[g] = append(members[g], i)
			continue
		}
		seen[k] = len(uniq)
		uniq = append(uniq, i)
		members = append(members, []int{i})
	}
	return uniq, members
}

// Run probes every target and returns the results in input order. When ctx
// is cancelled, work in flight is abandoned and Run returns the results that
// had finished. The error is non-nil only for unusable options.
//
// Targets that are the same server with the same client configuration
// (they differ only in name) are probed once; each gets the result under
// its own name and position, and OnResult is called for each.
func Run(ctx context.Context, targets []Target, opts Options) ([]Result, error) {
	uniq, members := groupSame(targets)
	if len(uniq) == len(targets) {
		return run(ctx, targets, opts)
	}
	distinct := make([]Target, len(uniq))
	for g, i := range uniq {
		distinct[g] = targets[i]
	}
	if on := opts.OnResult; on != nil {
		opts.OnResult = func(r Result) {
			for _, m := range members[r.Index] {
				on(asMember(r, &targets[m], m))
			}
		}
	}
	done, err := run(ctx, distinct, opts)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, r := range done {
		for _, m := range members[r.Index] {
			results = append(results, asMember(r, &targets[m], m))
		}
	}
	slices.SortFunc(results, func(a, b Result) int { return a.Index - b.Index })
	return results, nil
}

// asMember is the result of a group's probe reported for one of its
// members: the same measurements under the member's name, position and
// address as it spelled it. A failure found before probing (no id, no
// port) is the member's own, since its message names the entry.
func asMember(r Result, t *Target, index int) Result {
	r.Name = t.Name
	r.Index = index
	r.Address = t.Stream.Address
	if f := planFailure(t); f != nil {
		r.Error = f
	}
	return r
}
