package vmess_test

import (
	"os"
	"testing"

	"github.com/xvmtools/xvm/vmess/vmesstest"
)

func TestMain(m *testing.M) { os.Exit(vmesstest.RunTests(m)) }
