package shelly_test

import (
	"flag"
	"os"
	"testing"

	"github.com/hubagent/hubagent/internal/testutil"
)

func TestMain(m *testing.M) {
	// Every driver test has a network namespace and Avahi of its own and
	// mostly waits on Avahi's probes, not on the CPU. An explicit
	// -parallel wins.
	flag.Parse()
	testutil.ParallelAtLeast(8)
	os.Exit(m.Run())
}
