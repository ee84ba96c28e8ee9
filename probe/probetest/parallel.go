package probetest

import (
	"flag"
	"strconv"
	"testing"
)

// WaitingTests is how many parallel tests RunWaiting lets run at once.
const WaitingTests = 16

// RunWaiting runs a package's tests (call it from TestMain) with up to
// WaitingTests parallel tests at once, unless -parallel was given. Tests
// of probing mostly wait — for a timeout, a relay's delay, a dead host's
// connect, a peer's scrape — rather than compute, so the default of one
// per CPU (two on a small CI machine) would only make them wait for each
// other.
func RunWaiting(m *testing.M) int {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(WaitingTests))
	}
	return m.Run()
}
