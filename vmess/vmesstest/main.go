package vmesstest

import (
	"flag"
	"runtime"
	"strconv"
	"testing"
)

// RunTests runs a package's tests (call it from TestMain) with more
// parallel tests than Go's default of GOMAXPROCS, unless -test.parallel
// was given: the interop tests mostly wait on loopback peers and on
// timers (deadlines, Xray's own idle timers), not on the CPU, and on a
// 2-core machine two at a time leaves most of the run waiting.
func RunTests(m *testing.M) int {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(8*runtime.GOMAXPROCS(0)))
	}
	return m.Run()
}
