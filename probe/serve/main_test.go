package serve

import (
	"os"
	"testing"

	"github.com/xvmtools/xvm/probe/probetest"
)

// TestMain lets the tests that wait run side by side (see
// probetest.RunWaiting).
func TestMain(m *testing.M) { os.Exit(probetest.RunWaiting(m)) }
