package main

import (
	"context"

	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/schema/safetext"
)

// What xvm prints for a person passes through here: text from the input
// (a link's remark, a file name, a server's error) is escaped with
// safetext.Escape, so that it can neither drive the terminal (ANSI
// sequences, a title change) nor start a line of its own (a forged table
// row, a GitHub workflow command), and user ids are masked with a
// safetext.Masker unless --show-secrets. lint's renderers do the same in
// package lint; machine formats (JSON) escape control characters already.

// safeLine escapes a message that starts a line (safetext.AtLineStart:
// not even after blanks may it begin with "::") and masks UUID-shaped
// text in it.
func safeLine(s string) string {
	var m safetext.Masker
	return safetext.AtLineStart(m.Mask(s))
}

// escapeRows escapes every cell of a table; the first cell starts a line.
func escapeRows(rows []probe.TableRow) []probe.TableRow {
	out := make([]probe.TableRow, len(rows))
	for i, r := range rows {
		out[i] = r
		out[i].Cells = make([]string, len(r.Cells))
		for j, c := range r.Cells {
			if j == 0 {
				out[i].Cells[j] = safetext.AtLineStart(c)
			} else {
				out[i].Cells[j] = safetext.Escape(c)
			}
		}
	}
	return out
}

// probeHidingIDs is probe.Run with the targets' user ids masked in every
// result's error message, unless po.ShowSecrets: an error may quote what
// the input holds (a WebSocket path that carries the id, a server's
// answer), and every output format (table, json, ndjson) prints it.
func probeHidingIDs(ctx context.Context, targets []probe.Target, po probe.Options) ([]probe.Result, error) {
	if po.ShowSecrets {
		return probe.Run(ctx, targets, po)
	}
	var ids safetext.Masker
	for _, t := range targets {
		ids.Add(t.ID)
	}
	hide := func(r probe.Result) probe.Result {
		if r.Error != nil {
			e := *r.Error
			e.Message = ids.Mask(e.Message)
			r.Error = &e
		}
		return r
	}
	if on := po.OnResult; on != nil {
		po.OnResult = func(r probe.Result) { on(hide(r)) }
	}
	results, err := probe.Run(ctx, targets, po)
	for i := range results {
		results[i] = hide(results[i])
	}
	return results, err
}
