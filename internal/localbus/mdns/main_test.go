package mdns_test

import (
	"flag"
	"os"
	"testing"

	"github.com/hubagent/hubagent/internal/testutil"
)

func TestMain(m *testing.M) {
	// The parallel tests here each have a network namespace of their own
	// and mostly wait on the wire (TTLs, query schedules, Avahi's probes),
	// not on the CPU; the idle-cost figures come from a child process. An
	// explicit -parallel wins.
	flag.Parse()
	testutil.ParallelAtLeast(8)
	os.Exit(m.Run())
}
