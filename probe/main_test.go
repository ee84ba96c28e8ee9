package probe

import (
	"flag"
	"os"
	"strconv"
	"testing"
	"time"
)

// waitingTests is how many parallel tests run at once unless -parallel
// says otherwise. The tests marked parallel spend their time waiting (a
// timeout, a relay's delay, a dead host's connect), not computing, so
// the default of one per CPU (two on a small CI machine) would only make
// them wait for each other.
const waitingTests = 16

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(waitingTests))
	}
	os.Exit(m.Run())
}

// shortOr is long, or short with -short: a timeout a test spends in full
// (a blackhole, a dead host), made smaller so that the package's tests run
// in seconds; the verdicts asserted are the same.
func shortOr(long, short time.Duration) time.Duration {
	if testing.Short() {
		return short
	}
	return long
}
