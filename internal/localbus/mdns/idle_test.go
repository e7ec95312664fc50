package mdns_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/testutil"
)

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIdleCostWithFiftyServices measures what browsing costs when nothing
// changes: 50 services announced by Avahi, the default six service types
// browsed. It logs CPU time and packets sent per minute, extrapolated from
// a 10 s window, first right after start (the query burst) and then in the
// steady state. The figures are reported, not asserted tightly.
func TestIdleCostWithFiftyServices(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 25 s")
	}
	// Not parallel: the CPU time it reports is the whole test process's.
	n := mdnstest.New(t)
	dir := t.TempDir()
	types := []string{"_http._tcp", "_wled._tcp", "_shelly._tcp", "_hap._tcp", "_googlecast._tcp"}
	for i := range 50 {
		svc := fmt.Sprintf(`<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group><name>idle-%02d</name><service><type>%s</type><port>%d</port>
<txt-record>id=idle-%02d</txt-record><txt-record>ver=1.0</txt-record></service></service-group>
`, i, types[i%len(types)], 8000+i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("idle-%02d.service", i)), []byte(svc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n.StartAvahi(dir)

	cpu0, start := cpuTime(t), time.Now()
	b := startBrowser(t, n, mdns.Options{Services: []string{"_mqtt._tcp", "_wled._tcp", "_shelly._tcp",
		"_hap._tcp", "_googlecast._tcp", "_http._tcp"}})
	testutil.Eventually(t, 15*time.Second, "all 50 services", func() bool { return b.Stats().Instances == 50 })
	found := time.Since(start)
	time.Sleep(10*time.Second - found) // a measurement window: CPU and packets over the first 10 s
	window := func(from time.Time, cpu time.Duration, st0 mdns.Stats) (cpuPerMin time.Duration, pktPerMin float64) {
		el := time.Since(from)
		st := b.Stats()
		scale := float64(time.Minute) / float64(el)
		return time.Duration(float64(cpuTime(t)-cpu) * scale), float64(st.PacketsSent-st0.PacketsSent) * scale
	}
	c1, p1 := window(start, cpu0, mdns.Stats{})
	t.Logf("start-up (first 10 s, all 50 found after %v): CPU %v/min, %.0f packets sent/min (extrapolated)",
		found.Round(time.Millisecond), c1.Round(time.Millisecond), p1)

	st0, cpu1, from := b.Stats(), cpuTime(t), time.Now()
	time.Sleep(10 * time.Second) // a measurement window: CPU and packets in the steady state
	c2, p2 := window(from, cpu1, st0)
	st := b.Stats()
	t.Logf("steady state (10 s window): CPU %v/min, %.0f packets sent/min, %d packets received in the window",
		c2.Round(time.Millisecond), p2, st.PacketsReceived-st0.PacketsReceived)
	if st.Instances != 50 {
		t.Errorf("%d instances at the end, want 50", st.Instances)
	}
	if p2 > 60 {
		t.Errorf("%.0f packets/min while idle: the query schedule is not backing off", p2)
	}
}
