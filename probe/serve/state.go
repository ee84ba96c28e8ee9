package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/xvmtools/xvm/probe"
)

// target is one server under watch: its schedule state and everything
// measured about it. Every field after key is guarded by Server.mu.
type target struct {
	// key identifies the target across reloads: its group and a hash of
	// everything probing uses (the user id among it). It is never shown.
	key   string
	probe probe.Target
	group *group

	// Label values: name is unique in the group (see dedupeNames), server
	// is host:port, transport is the network with "+tls" when wrapped.
	name, server, transport string
	labels                  seriesLabels

	// busy is set while a probe of the target runs; done is closed when
	// it ends. No second probe of a busy target starts.
	busy bool
	done chan struct{}
	// claimed is Server.claims when the target was last claimed.
	claimed uint64

	has    bool
	last   probe.Result
	lastAt time.Time

	hasOffset   bool
	offset      float64 // seconds; > 0: the server's clock is ahead
	uncertainty float64
	offsetAt    time.Time
	// searchedAt is when the clock search last ran in full: the offset was
	// measured, or the server rejected us at every offset.
	searchedAt time.Time

	samples, lost uint64
	phases        [numPhases]histogram
	history       history
}

// verdict is the kind of the last result: "ok", a probe.Kind, or "" before
// the first result.
func (t *target) verdict() string {
	switch {
	case !t.has:
		return ""
	case t.last.OK:
		return verdictOK
	case t.last.Error != nil:
		return string(t.last.Error.Kind)
	}
	return string(probe.KindProtocol)
}

const verdictOK = "ok"

// knownVerdicts are the values of the kind label of xvm_probe_verdict, in
// the order of probe's kinds. Each target has a series for every one
// (0 or 1), so that a verdict's series exists before it first happens.
var knownVerdicts = []string{
	verdictOK,
	string(probe.KindDNS), string(probe.KindRefused), string(probe.KindTimeout),
	string(probe.KindTLS), string(probe.KindTransport), string(probe.KindAuthRejected),
	string(probe.KindClockSkew), string(probe.KindDestination), string(probe.KindProtocol),
}

// targetKey is a target's identity within a group.
func targetKey(group string, t *probe.Target) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("serve: target %s cannot be keyed: %w", t.Label(), err)
	}
	sum := sha256.Sum256(append([]byte(group+"\x00"), b...))
	return hex.EncodeToString(sum[:16]), nil
}

// The phases of xvm_probe_<phase>_seconds, as probe.Timings names them.
const (
	phaseDNS = iota
	phaseConnect
	phaseTLS
	phaseUpgrade
	phaseHandshake
	phaseFirstByte
	phaseTotal
	numPhases
)

var phaseNames = [numPhases]string{"dns", "connect", "tls", "upgrade", "handshake", "first_byte", "total"}

// phaseValues are r's timings in seconds, NaN for a phase that did not
// happen.
func phaseValues(tm *probe.Timings) [numPhases]float64 {
	var v [numPhases]float64
	for i, p := range [numPhases]*probe.Millis{tm.DNS, tm.Connect, tm.TLS, tm.Upgrade, tm.Handshake, tm.FirstByte, tm.Total} {
		v[i] = math.NaN()
		if p != nil {
			v[i] = float64(*p) / 1000
		}
	}
	return v
}

// bucketBounds are the upper bounds (seconds) of the phase histograms: from
// a loopback hop to a slow intercontinental handshake.
var bucketBounds = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// histogram is a fixed-bucket histogram; counts are per bucket (not
// cumulative) until exported.
type histogram struct {
	count   uint64
	sum     float64
	buckets [len(bucketBounds)]uint64
}

func (h *histogram) observe(v float64) {
	h.count++
	h.sum += v
	for i, b := range bucketBounds {
		if v <= b {
			h.buckets[i]++
			return
		}
	}
}

// History keeps 24 hours of latency per target in fixed slots, so its
// memory does not grow with time.
const (
	historySlot  = 5 * time.Minute
	historySlots = int(24 * time.Hour / historySlot)
)

// historyPoint is one slot: how many probes ended in it, how many failed,
// and the mean and worst latency of the successful ones (milliseconds).
type historyPoint struct {
	epoch    uint32 // slot number since the Unix epoch; 0: empty
	n, fails uint16
	sum, max float32
}

type history struct {
	slots [historySlots]historyPoint
}

func slotOf(t time.Time) uint32 { return uint32(t.Unix() / int64(historySlot/time.Second)) }

// add records one probe's outcome at time at.
func (h *history) add(at time.Time, ok bool, latencyMS float64) {
	e := slotOf(at)
	p := &h.slots[int(e)%historySlots]
	if p.epoch != e {
		*p = historyPoint{epoch: e}
	}
	if p.n < math.MaxUint16 {
		p.n++
	}
	if !ok {
		if p.fails < math.MaxUint16 {
			p.fails++
		}
		return
	}
	p.sum += float32(latencyMS)
	p.max = max(p.max, float32(latencyMS))
}

// window calls f for every slot of the 24 hours ending at now, oldest
// first, with the slot's index (0 … historySlots-1) and its point (zero
// when nothing was recorded then).
func (h *history) window(now time.Time, f func(i int, p historyPoint)) {
	last := slotOf(now)
	for i := 0; i < historySlots; i++ {
		e := last - uint32(historySlots-1-i)
		p := h.slots[int(e)%historySlots]
		if p.epoch != e {
			p = historyPoint{}
		}
		f(i, p)
	}
}

// group is a resolved group and its schedule. Fields are guarded by
// Server.mu.
type group struct {
	Group
	targets []*target
	// invalid counts the entries of the group's sources that could not be
	// probed at the last load.
	invalid int

	// base advances by exactly Interval each cycle; next is base plus
	// this cycle's jitter.
	base, next time.Time

	cycles, skipped uint64
	lastCycle       time.Duration
}
