package probe

import (
	"os"
	"testing"
	"time"

	"github.com/xvmtools/xvm/probe/probetest"
)

// TestMain lets the tests that wait run side by side (see
// probetest.RunWaiting).
func TestMain(m *testing.M) { os.Exit(probetest.RunWaiting(m)) }

// shortOr is long, or short with -short: a timeout a test spends in full
// (a blackhole, a dead host), made smaller so that the package's tests run
// in seconds; the verdicts asserted are the same.
func shortOr(long, short time.Duration) time.Duration {
	if testing.Short() {
		return short
	}
	return long
}
