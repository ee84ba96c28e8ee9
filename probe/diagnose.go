package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// diagnosis explains one rejected entry: a server closes a VMess request
// it will not take without a byte, whether the id is unknown to it or the
// request's timestamp is more than 120 s from its clock. The evidence is
// sought in order, cheapest first, and the first that decides ends it:
//
//  1. for the legacy header, whether AEAD is accepted — first, because
//     every handshake of a diagnosis, and so everything other entries
//     proved, is about AEAD requests;
//  2. what other entries on the same route proved: one accepted our clock
//     (the id is wrong), one with the same id found no offset (the same
//     verdict), one found the route's offset (one handshake verifies it);
//  3. for RAW without TLS, whether the server speaks TLS;
//  4. the server's own clock, from the Date header of an HTTP-based
//     transport, confirmed by one handshake at that offset;
//  5. our own clock against the run's reference: when it is off, one
//     handshake at the reference's time;
//  6. a clock search (SkewSearch): bounded by default, exhaustive on
//     request, and always inside the server's connection budget.
//
// Every handshake, and the Date request and the TLS check, count against
// the server's budget; the verdict says what was ruled out.
type diagnosis struct {
	p      *prober
	e      *entry
	sl     *slot
	legacy bool
	// local is our clock against the reference, when it is off.
	local  *ClockReading
	search *skewSearch
	// extra counts connections made outside the search (the TLS check,
	// the Date request).
	extra int
	data  Diagnosis
	// core is the message of a verdict that the id is wrong, before the
	// ending of a legacy entry: what another entry with the same id and
	// route reuses (see rejectedID).
	core string
}

// diagnose explains e's rejected first attempt.
func (p *prober) diagnose(ctx context.Context, e *entry, sl *slot) (*Failure, *Skew) {
	dg := &diagnosis{p: p, e: e, sl: sl, legacy: e.acct.AlterID > 0 || e.t.ForceLegacy}
	parallel := p.opts.PerServer
	if n := p.opts.SkewSearch.Parallel; n > 0 && n < parallel {
		parallel = n
	}
	dg.search = newSkewSearch(func(ctx context.Context, offset int) (bool, time.Duration, error) {
		return p.handshakeAt(ctx, e, sl, time.Duration(offset)*time.Second)
	}, parallel)
	if r := p.checkClock(ctx); r != nil && math.Abs(r.OffsetS) > LocalClockTolerance.Seconds() {
		dg.local = r
	}
	f, skew := dg.run(ctx)
	if f.Diagnosis == nil {
		f.Diagnosis = &dg.data
	}
	if f.Diagnosis == &dg.data {
		dg.data.Handshakes = dg.extra + dg.search.handshakes()
		if dg.search.budgetSpent() {
			dg.data.BudgetSpent = true
		}
		if dg.data.BudgetSpent && !slices.Contains(f.Advice, AdviceBudget) {
			f.Advice = append(f.Advice, AdviceBudget)
		}
	}
	if dg.core != "" && f.Diagnosis == &dg.data && dg.data.Evidence != EvidenceSameID {
		d := dg.data
		d.LocalClock = nil // each entry's verdict adds its own
		e.route.recordRejected(e.acct.ID.String(), &rejection{message: dg.core, diag: d, advice: slices.Clone(f.Advice)})
	}
	if dg.local != nil {
		f.Diagnosis.LocalClock = dg.local
		f.Message = dg.localText() + f.Message
	}
	if skew != nil {
		skew.Handshakes = f.Diagnosis.Handshakes
	}
	return f, skew
}

func (dg *diagnosis) run(ctx context.Context) (*Failure, *Skew) {
	e, t := dg.e, dg.e.t
	route := e.route
	key := e.acct.ID.String() // the parsed id: a UUID in any case, or a name's UUID

	// 1. The legacy header first: what other entries proved is about
	// AEAD requests (every handshake of a diagnosis is one), so an entry
	// whose own header differs tries AEAD before it shares their
	// verdicts.
	if dg.legacy {
		if accepted, err := dg.search.handshake(ctx, 0); err == nil && accepted {
			dg.data.Evidence = EvidenceAEAD
			if t.ForceLegacy {
				f := dg.fail(KindAuthRejected, "legacy (non-AEAD) auth was forced, and %s does not speak it: it accepts AEAD with the same id, as current Xray accepts only AEAD", t.server())
				f.Advice = append(f.Advice, AdviceLegacyForced)
				return f, nil
			}
			return dg.fail(KindAuthRejected, "%s rejects the legacy header (alterId %d) but accepts AEAD with the same id: set alterId to 0", t.server(), e.acct.AlterID), nil
		}
	}

	// 2. What other entries on this route proved.
	if route.clockConfirmed() {
		dg.data.Evidence = EvidenceClockAccepted
		return dg.fail(KindAuthRejected, "%s rejected the user id %s, but accepted another entry's id with our clock, so the clock is fine: this id is wrong or not on that server%s",
			t.server(), dg.p.idText(t.ID), dg.aeadToo()), nil
	}
	if other, ok := route.wasRejected(key); ok {
		// Its verdict and what it rested on; the handshakes are this
		// entry's own (none, or the AEAD check of a legacy header).
		dg.data = other.diag
		dg.data.Evidence = EvidenceSameID
		f := dg.fail(KindAuthRejected, "%s (found for another entry with the same id and route)%s", other.message, dg.aeadToo())
		f.Advice = slices.Clone(other.advice)
		return f, nil
	}
	if known, ok := route.knownSkew(); ok {
		if accepted, err := dg.search.handshake(ctx, known.center); err == nil && accepted {
			dg.data.Evidence = EvidenceKnownOffset
			f := dg.skewed(known)
			f.Message += "; measured with another entry on the same route to this server, and this id was accepted at that offset"
			return f, &Skew{OffsetS: known.Offset, UncertaintyS: known.Uncertainty}
		}
	}

	// 3. A TLS server probed without TLS.
	if t.drains() {
		speaks, made := dg.p.speaksTLS(ctx, e, dg.sl)
		if made {
			dg.extra++
		}
		if speaks {
			dg.data.Evidence = EvidenceTLS
			return dg.fail(KindProtocol, "%s speaks TLS, but the entry has no TLS: set security to tls (with the server's serverName)", t.server()), nil
		}
	}

	// 4. The server's own clock, where its transport shows one.
	if f, skew, done := dg.fromServerDate(ctx); done {
		return f, skew
	}

	// 5. Our own clock, when the run's reference says it is off.
	if dg.local != nil {
		at := int(math.Round(dg.local.OffsetS))
		if accepted, err := dg.search.handshake(ctx, at); err == nil && accepted {
			dg.data.Evidence = EvidenceLocalClock
			return dg.found(ctx, at)
		}
	}

	// 6. The clock search, as far as the budget allows.
	dg.data.Evidence = EvidenceSearch
	decided := dg.search.tried()
	grid := slices.DeleteFunc(dg.p.opts.SkewSearch.grid(), func(o int) bool { return slices.Contains(decided, o) })
	found, at, err := dg.search.scan(ctx, grid)
	switch {
	case found:
		return dg.found(ctx, at)
	case err != nil && !errors.Is(err, errBudget):
		f := dg.fail(KindAuthRejected, "%s closed the connection without answering: it rejected the user id %s or our clock, and the clock search could not finish (%v)", t.server(), dg.p.idText(t.ID), err)
		f.Advice = []Advice{AdviceTimeout}
		return f, nil
	}
	cov := dg.search.coverage()
	dg.data.Searched = cov
	f := dg.noOffset(cov)
	if dg.p.opts.SkewSearch.Range <= 0 {
		f.Advice = append(f.Advice, AdviceSkewRange)
	}
	return f, nil
}

// fromServerDate is step 4: the Date of the server's answer to a plain
// HTTP request gives its clock, and one handshake at that offset confirms
// it. done is false when it decided nothing (no Date; or a Date that may
// be a front's, rejected).
func (dg *diagnosis) fromServerDate(ctx context.Context) (*Failure, *Skew, bool) {
	t := dg.e.t
	date, made := dg.p.serverDate(ctx, dg.e, dg.sl)
	if made {
		dg.extra++
	}
	if date == nil {
		return nil, nil, false
	}
	dg.data.ServerDate = date
	at := int(math.Round(date.OffsetS))
	accepted, err := dg.search.handshake(ctx, at)
	if err != nil {
		return nil, nil, false
	}
	dg.data.Evidence = EvidenceServerDate
	switch {
	case accepted && math.Abs(date.OffsetS)+date.UncertaintyS < windowHalf:
		// The server's clock agrees with ours, and it took this id now.
		dg.data.Evidence = EvidenceRetry
		return dg.fail(KindAuthRejected, "%s rejected the first request but accepts our clock now (its Date header agrees with our clock); probe it again", t.server()), nil, true
	case accepted && date.Front != "":
		// The Date may be a front's: one accepted handshake puts the
		// server's clock only within ±120 s of it. The window's edges
		// (at most 16 handshakes, inside the budget) give the offset.
		f, skew := dg.found(ctx, at)
		f.Message += fmt.Sprintf("; measured around the offset of its Date header (%s, which may be a front whose clock is not the server's)", date.Front)
		return f, skew, true
	case accepted:
		est := skewEstimate{center: at, Offset: date.OffsetS, Uncertainty: date.UncertaintyS}
		dg.e.route.recordSkew(est)
		f := dg.skewed(est)
		f.Message += "; read from its Date header and confirmed by a handshake at that offset"
		return f, &Skew{OffsetS: est.Offset, UncertaintyS: est.Uncertainty}, true
	case date.Front == "":
		f := dg.rejectedID(fmt.Sprintf("%s rejected the user id %s at its own clock: its Date header puts its clock %s, and a handshake at that offset was rejected too; the id is wrong, or the server is not VMess",
			t.server(), dg.p.idText(t.ID), relative(date.OffsetS, date.UncertaintyS)))
		return f, nil, true
	}
	dg.data.Evidence = ""
	return nil, nil, false
}

// found measures the window around an accepted offset and gives the
// verdict: clock_skew, or — when our own clock is inside the window — a
// rejection that did not hold.
func (dg *diagnosis) found(ctx context.Context, at int) (*Failure, *Skew) {
	t := dg.e.t
	est, err := dg.search.measure(ctx, at)
	if err != nil {
		f := dg.fail(KindClockSkew, "%s accepts the id only at a shifted clock (%s), but measuring the offset could not finish: %v", t.server(), relative(float64(at), windowHalf), err)
		return f, nil
	}
	skew := &Skew{OffsetS: est.Offset, UncertaintyS: est.Uncertainty}
	if est.includesOurs {
		dg.e.route.confirmClock()
		dg.data.Evidence = EvidenceRetry
		// Our own clock is inside the window now: the first rejection
		// was something else (a replay filter, a restart).
		return dg.fail(KindAuthRejected, "%s rejected the first request but accepts our clock now; probe it again", t.server()), skew
	}
	dg.e.route.recordSkew(est)
	return dg.skewed(est), skew
}

// fail is a verdict of this diagnosis.
func (dg *diagnosis) fail(k Kind, format string, args ...any) *Failure {
	return &Failure{Kind: k, Message: fmt.Sprintf(format, args...), Diagnosis: &dg.data}
}

// skewed is the clock_skew verdict for a found offset.
func (dg *diagnosis) skewed(est skewEstimate) *Failure {
	msg := fmt.Sprintf("server clock is %s; VMess allows only ±120s: fix the clock (NTP) on the server or on this machine", relative(est.Offset, est.Uncertainty))
	if l := dg.local; l != nil && math.Abs(est.Offset-l.OffsetS) <= est.Uncertainty+l.UncertaintyS+2 {
		msg = fmt.Sprintf("server clock is %s, in step with %s: the clock to fix is this machine's", relative(est.Offset, est.Uncertainty), l.Reference)
	}
	switch {
	case dg.e.t.ForceLegacy:
		msg += "; legacy auth was forced, which current Xray does not speak: the clock was measured with AEAD requests"
	case dg.legacy:
		msg += "; it accepted AEAD (alterId 0) requests"
	}
	return dg.fail(KindClockSkew, "%s", msg)
}

// noOffset is the auth_rejected verdict of a search that found no
// accepted offset.
func (dg *diagnosis) noOffset(cov *Coverage) *Failure {
	t := dg.e.t
	if cov == nil || cov.WithinS == 0 && cov.HoursS == 0 && cov.HalfHoursS == 0 {
		dg.data.Evidence = EvidenceNone
		return dg.rejectedID(fmt.Sprintf("%s closed the connection without answering: it rejected the user id %s or our clock; the connections allowed to this server in one run were spent before this entry's clock search could start", t.server(), dg.p.idText(t.ID)))
	}
	what := "no clock offset " + cov.describe() + " was accepted"
	if dg.search.budgetSpent() {
		what += " before the connections allowed to this server in one run were spent"
	}
	extra := ""
	if d := dg.data.ServerDate; d != nil && d.Front != "" {
		extra = fmt.Sprintf("; its Date header (%s, which may be a front whose clock is not the server's) put its clock %s, and that offset was rejected too", d.Front, relative(d.OffsetS, d.UncertaintyS))
	}
	return dg.rejectedID(fmt.Sprintf("%s rejected the user id %s: %s%s; the id is wrong, or the server is not VMess",
		t.server(), dg.p.idText(t.ID), what, extra))
}

// rejectedID is the auth_rejected verdict that the id is wrong (or the
// server is not VMess), whose message core an entry with the same id and
// route reuses; a legacy entry adds that AEAD failed too.
func (dg *diagnosis) rejectedID(core string) *Failure {
	dg.core = core
	return dg.fail(KindAuthRejected, "%s%s", core, dg.aeadToo())
}

// aeadToo ends an auth_rejected message of a legacy entry whose
// rejection was checked with AEAD requests as well (every handshake of a
// diagnosis is AEAD); empty when none decided anything.
func (dg *diagnosis) aeadToo() string {
	if len(dg.search.tried()) == 0 {
		return ""
	}
	switch {
	case dg.e.t.ForceLegacy:
		return "; legacy auth was forced, and AEAD failed too"
	case dg.legacy:
		return "; alterId > 0 also failed with AEAD"
	}
	return ""
}

// localText opens the message of every rejection when our own clock is
// off: it is the most common cause of mass rejections, so it comes first.
func (dg *diagnosis) localText() string {
	l := dg.local
	via := "directly"
	if l.Through != "" {
		via = "through " + l.Through
	}
	dir := "behind"
	if l.OffsetS < 0 {
		dir = "ahead of"
	}
	return fmt.Sprintf("this machine's clock is %s %s %s's (its Date header, fetched %s, ±%.1fs), and VMess servers reject requests more than 120s off: fix this clock first (NTP). ",
		fmtDuration(math.Abs(l.OffsetS)), dir, l.Reference, via, l.UncertaintyS)
}

// relative renders a clock offset from ours: "3m20s ahead of yours
// (±1.0s)".
func relative(offset, uncertainty float64) string {
	dir := "ahead of"
	if offset < 0 {
		dir = "behind"
	}
	return fmt.Sprintf("%s %s yours (±%.1fs)", fmtDuration(math.Abs(offset)), dir, uncertainty)
}
