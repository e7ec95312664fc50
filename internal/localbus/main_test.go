package localbus

import (
	"flag"
	"os"
	"testing"

	"github.com/hubagent/hubagent/internal/testutil"
)

func TestMain(m *testing.M) {
	// The parallel tests here mostly wait on their own brokers and Avahi,
	// not on the CPU. An explicit -parallel wins.
	flag.Parse()
	testutil.ParallelAtLeast(8)
	os.Exit(m.Run())
}
