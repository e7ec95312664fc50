package testutil

import (
	"flag"
	"runtime"
	"strconv"
)

// ParallelAtLeast raises go test's -parallel to at least n, unless
// -parallel was given on the command line. TestMain calls it after
// flag.Parse in packages whose parallel tests mostly wait on other
// processes (brokers, Avahi, the agent) rather than on the CPU: go test's
// default of one per CPU would leave them queueing on a 2-core machine.
func ParallelAtLeast(n int) {
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(max(n, runtime.GOMAXPROCS(0))))
	}
}
