package probe

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
	"github.com/xvmtools/xvm/vmess"
	"github.com/xvmtools/xvm/vmess/vmesstest"
)

// TestProbeWrongIDBesideWorkingOne: when another entry for the same server
// was accepted at our clock, a rejected id needs no clock search of its
// own: the verdict is auth_rejected at once, with a handful of handshakes.
func TestProbeWrongIDBesideWorkingOne(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	rel, host, port := relay(t, srv.Addr, nil)
	wrong := vmesstest.NewUUID()
	targets := []Target{
		spec{name: "right", host: host, port: port, id: srv.ID}.target(t),
		spec{name: "wrong", host: host, port: port, id: wrong}.target(t),
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 1 // the working entry finishes first
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := res[1]
	if !res[0].OK || r.OK || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "accepted another entry's id with our clock") {
		t.Fatalf("results %s", jsonOf(res))
	}
	if strings.Contains(r.Error.Message, wrong) || !strings.Contains(r.Error.Message, vmess.MaskID(wrong)) {
		t.Fatalf("message %q: want the id masked", r.Error.Message)
	}
	// right: 1 sample; wrong: 1 sample and the TLS check.
	if n := rel.Conns(); n > 3 {
		t.Fatalf("the server saw %d connections, want 3", n)
	}
}

// TestProbeSkewSharedConcurrent: five entries for one server an hour
// behind, all probed at once: the first search finds the offset, and each
// of the others verifies it with one handshake.
func TestProbeSkewSharedConcurrent(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	rel, host, port := relay(t, srv.Addr, nil)
	var targets []Target
	// Five ciphers, so the entries are not one configuration (which Run
	// would probe once) but five clients of one server.
	for i, sec := range []string{"auto", "aes-128-gcm", "chacha20-poly1305", "none", "zero"} {
		targets = append(targets, spec{name: fmt.Sprint(i), host: host, port: port, id: srv.ID, security: sec}.target(t))
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Now = func() time.Time { return time.Now().Add(time.Hour) }
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	verified := 0
	for _, r := range res {
		if r.OK || r.Error.Kind != KindClockSkew || r.Skew == nil || r.Skew.OffsetS > -3597 || r.Skew.OffsetS < -3603 {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		if r.Skew.Handshakes == 1 {
			verified++
		}
	}
	// Diagnoses take turns per server: one whole diagnosis (a TLS check
	// and about 26 handshakes) and four one-handshake checks, plus a first
	// attempt per entry: about 36 connections, against 5 × 28 without.
	if n := settled(rel.Conns); verified != 4 || n > 40 {
		t.Fatalf("%d of 5 verified another's offset; the server saw %d connections", verified, n)
	}
}

// TestProbeSkewSharedPerServer: once one entry's search found a server's
// clock offset, another rejected entry for the same server verifies it
// with one handshake instead of searching again.
func TestProbeSkewSharedPerServer(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	rel, host, port := relay(t, srv.Addr, nil)
	targets := []Target{
		spec{name: "first", host: host, port: port, id: srv.ID}.target(t),
		spec{name: "second", host: host, port: port, id: srv.ID, security: "aes-128-gcm"}.target(t),
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 1
	opts.Now = func() time.Time { return time.Now().Add(time.Hour) } // the server is an hour behind
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.OK || r.Error.Kind != KindClockSkew || r.Skew == nil || r.Skew.OffsetS > -3597 || r.Skew.OffsetS < -3603 || !strings.Contains(r.Error.Message, "1h behind") {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
	}
	first, second := res[0].Skew.Handshakes, res[1].Skew.Handshakes
	if second != 1 || !strings.Contains(res[1].Error.Message, "measured with another entry") {
		t.Fatalf("second entry: %d handshakes, message %q; want 1, citing the other entry", second, res[1].Error.Message)
	}
	// Each entry: its first attempt, plus its diagnosis (the first's
	// includes the TLS check).
	if n := settled(rel.Conns); n != int64(1+first+1+second) {
		t.Fatalf("the server saw %d connections, want %d", n, 1+first+1+second)
	}
}

// TestProbeSameWrongIDTwice: two entries with the same wrong id for one
// server (a subscription's duplicates) cost one diagnosis: the second
// takes its turn after the first and reuses its verdict, with what it
// ruled out.
func TestProbeSameWrongIDTwice(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	rel, host, port := relay(t, srv.Addr, nil)
	wrong := vmesstest.NewUUID()
	targets := []Target{
		spec{name: "a", host: host, port: port, id: wrong}.target(t),
		spec{name: "b", host: host, port: port, id: strings.ToUpper(wrong), security: "aes-128-gcm"}.target(t),
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.SkewSearch.Range = time.Hour // 33 handshakes a search
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	evidence := map[Evidence]int{}
	for _, r := range res {
		if r.OK || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "no clock offset within ±1h2m was accepted") ||
			*r.Error.Diagnosis.Searched != (Coverage{WithinS: 3720}) {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		evidence[r.Error.Diagnosis.Evidence]++
	}
	// Two first attempts, one TLS check, one search of 33.
	if n := settled(rel.Conns); evidence[EvidenceSameID] != 1 || evidence[EvidenceSearch] != 1 || n != 2+1+33 {
		t.Fatalf("evidence %v, %d connections; want one search, one shared, and 36", evidence, n)
	}
}

// TestProbeDiagnosesShareTheBudget: three different wrong ids on one
// server are diagnosed one after another inside the server's budget of
// 64 connections: the first searches all of ±1h, the second as far as the
// budget allows and says so, the third cannot search and says why. The
// working entries of another server are not held up: every entry is
// screened before anything is diagnosed.
func TestProbeDiagnosesShareTheBudget(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	relay := probetest.StartRelay(t, srv.Addr, 0)
	other := startServer(t, vmesstest.ServerOptions{})
	var targets []Target
	for i := range 3 {
		targets = append(targets, spec{name: fmt.Sprint("wrong", i), host: relay.Host, port: relay.Port, id: vmesstest.NewUUID()}.target(t))
	}
	for i := range 4 {
		targets = append(targets, spec{name: fmt.Sprint("ok", i), host: other.Host, port: other.Port, id: other.ID}.target(t))
	}
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 2
	opts.SkewSearch = SkewSearch{Range: time.Hour}
	place := recordOrder(&opts)
	res, err := Run(context.Background(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	firstWrong := len(targets)
	for _, r := range res[:3] {
		firstWrong = min(firstWrong, place[r.Name])
	}
	for _, r := range res[3:] {
		if !r.OK {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		if place[r.Name] > firstWrong {
			t.Errorf("%s finished after the first diagnosis (order %v)", r.Name, place)
		}
	}
	roles := map[string]int{}
	for _, r := range res[:3] {
		if r.OK || r.Error.Kind != KindAuthRejected {
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
		d := r.Error.Diagnosis
		switch {
		case d.Evidence == EvidenceSearch && !d.BudgetSpent && *d.Searched == (Coverage{WithinS: 3720}):
			roles["whole"]++
		case d.Evidence == EvidenceSearch && d.BudgetSpent && slices.Contains(r.Error.Advice, AdviceBudget) &&
			strings.Contains(r.Error.Message, "before the connections allowed to this server in one run were spent"):
			roles["cut"]++
		case d.Evidence == EvidenceNone && strings.Contains(r.Error.Message, "were spent before this entry's clock search could start"):
			roles["none"]++
		default:
			t.Fatalf("%s: %s", r.Name, jsonOf(r))
		}
	}
	if roles["whole"] != 1 || roles["cut"] != 1 || roles["none"] != 1 {
		t.Fatalf("roles %v, want one whole search, one cut by the budget, one without", roles)
	}
	if n := settled(relay.Conns); n != DefaultBudget {
		t.Fatalf("the server saw %d connections, want the budget, %d", n, DefaultBudget)
	}
}

// TestProbeLegacy: alterId > 0 against Xray (AEAD only) is rejected, and
// the message says AEAD works.
func TestProbeLegacy(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	tg := spec{name: "legacy", host: srv.Host, port: srv.Port, id: srv.ID}.target(t)
	tg.AlterID = 4
	r := runOne(t, tg, testOptions(web.URL))
	if r.Error == nil || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "set alterId to 0") {
		t.Fatalf("result %s", jsonOf(r))
	}
}

// TestProbeLegacyBesideAEADEntry: two entries with the same (right) id on
// one Xray server, one with alterId 0 and one with alterId 4. The first is
// accepted at our clock; the second must still be told to set alterId to 0
// (one AEAD handshake), not that its id is wrong because another entry was
// accepted. A legacy entry with a wrong id beside them says AEAD failed
// too only because it tried AEAD.
func TestProbeLegacyBesideAEADEntry(t *testing.T) {
	web := startURL(t)
	srv := startServer(t, vmesstest.ServerOptions{})
	legacy := spec{name: "aid4", host: srv.Host, port: srv.Port, id: srv.ID}.target(t)
	legacy.AlterID = 4
	wrong := spec{name: "wrong aid4", host: srv.Host, port: srv.Port, id: vmesstest.NewUUID()}.target(t)
	wrong.AlterID = 4
	opts := testOptions(web.URL)
	opts.Count = 1
	opts.Concurrency = 1 // the alterId 0 entry is accepted first
	res, err := Run(context.Background(), []Target{
		spec{name: "aid0", host: srv.Host, port: srv.Port, id: srv.ID}.target(t), legacy, wrong,
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].OK {
		t.Fatalf("aid0: %s", jsonOf(res[0]))
	}
	r := res[1]
	if r.OK || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "set alterId to 0") ||
		r.Error.Diagnosis.Evidence != EvidenceAEAD || r.Error.Diagnosis.Handshakes != 1 {
		t.Fatalf("aid4: %s, want \"set alterId to 0\" from one AEAD handshake", jsonOf(r))
	}
	r = res[2]
	if r.OK || r.Error.Kind != KindAuthRejected || r.Error.Diagnosis.Evidence != EvidenceClockAccepted ||
		!strings.Contains(r.Error.Message, "alterId > 0 also failed with AEAD") || r.Error.Diagnosis.Handshakes != 1 {
		t.Fatalf("wrong aid4: %s, want the id wrong after one AEAD handshake", jsonOf(r))
	}
}

// TestProbeSameWrongIDTwiceByDate: two entries with the same wrong id on
// a WebSocket server, whose Date header settles the first (no search).
// The second reuses that verdict and its reasoning; it must not say the
// budget was spent, which it was not.
func TestProbeSameWrongIDTwiceByDate(t *testing.T) {
	web := startURL(t)
	ws := `{"network":"ws","wsSettings":{"path":"/ws"}}`
	srv := startServer(t, vmesstest.ServerOptions{StreamSettings: ws})
	wrong := vmesstest.NewUUID()
	opts := testOptions(web.URL)
	opts.Count = 1
	res, err := Run(context.Background(), []Target{
		spec{name: "a", host: srv.Host, port: srv.Port, id: wrong, stream: ws}.target(t),
		spec{name: "b", host: srv.Host, port: srv.Port, id: wrong, stream: ws, security: "aes-128-gcm"}.target(t),
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	evidence := map[Evidence]int{}
	for _, r := range res {
		if r.OK || r.Error.Kind != KindAuthRejected || !strings.Contains(r.Error.Message, "at its own clock") ||
			strings.Contains(r.Error.Message, "spent") || r.Error.Diagnosis.BudgetSpent || slices.Contains(r.Error.Advice, AdviceBudget) {
			t.Fatalf("%s: %s, want the Date's verdict, and no word of a spent budget", r.Name, jsonOf(r))
		}
		evidence[r.Error.Diagnosis.Evidence]++
	}
	if evidence[EvidenceServerDate] != 1 || evidence[EvidenceSameID] != 1 {
		t.Fatalf("evidence %v, want one from the Date and one shared", evidence)
	}
}
