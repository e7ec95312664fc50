package mdns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/mdns"
	"github.com/hubagent/hubagent/internal/localbus/mdns/mdnstest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// idleEnv names the interface TestIdleCostChild browses on; set only by
// TestIdleCostWithFiftyServices.
const idleEnv = "HUBAGENT_MDNS_IDLE_IF"

// idleFigures is what the child measured, printed as one "idle {json}" line.
type idleFigures struct {
	Found          time.Duration // until all 50 were listed
	StartCPUPerMin time.Duration // first 5 s
	StartPktPerMin float64
	IdleCPUPerMin  time.Duration // the next 10 s
	IdlePktPerMin  float64
	IdleReceived   uint64
	Instances      int // at the end
}

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
// the first 5 s after start (the query burst: browse queries at 0, 1, 2 and
// 4 s) and from the 10 s after that (the steady state: the interval has
// doubled past 4 s, one query at 8 s). The figures are reported, not
// asserted tightly, except the steady-state packet rate, which shows the
// query schedule backing off: without back-off, one query a second would
// be 60 a minute.
//
// The browser runs in a child process (TestIdleCostChild) so that the CPU
// time it reports is the browser's alone: the test can then run in
// parallel with the rest of the package.
func TestIdleCostWithFiftyServices(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 17 s")
	}
	t.Parallel() // a network namespace of its own; CPU is measured in the child
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

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIdleCostChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), idleEnv+"="+n.HostIf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var f idleFigures
	found := false
	for line := range strings.Lines(string(out)) {
		if js, ok := strings.CutPrefix(line, "idle "); ok {
			if err := json.Unmarshal([]byte(js), &f); err != nil {
				t.Fatalf("child's figures: %v\n%s", err, out)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("child printed no figures:\n%s", out)
	}
	t.Logf("start-up (first 5 s, all 50 found after %v): CPU %v/min, %.0f packets sent/min (extrapolated)",
		f.Found.Round(time.Millisecond), f.StartCPUPerMin.Round(time.Millisecond), f.StartPktPerMin)
	t.Logf("steady state (10 s window): CPU %v/min, %.0f packets sent/min, %d packets received in the window",
		f.IdleCPUPerMin.Round(time.Millisecond), f.IdlePktPerMin, f.IdleReceived)
	if f.Instances != 50 {
		t.Errorf("%d instances at the end, want 50", f.Instances)
	}
	if f.IdlePktPerMin > 60 {
		t.Errorf("%.0f packets/min while idle: the query schedule is not backing off", f.IdlePktPerMin)
	}
}

// TestIdleCostChild is the child half of TestIdleCostWithFiftyServices: it
// browses on the interface it is given, alone in its process, and prints
// its figures.
func TestIdleCostChild(t *testing.T) {
	ifname := os.Getenv(idleEnv)
	if ifname == "" {
		t.Skip("child of TestIdleCostWithFiftyServices")
	}
	cpu0, start := cpuTime(t), time.Now()
	b, _ := runStack(t, mdns.Options{Interfaces: []string{ifname}, Services: []string{"_mqtt._tcp", "_wled._tcp",
		"_shelly._tcp", "_hap._tcp", "_googlecast._tcp", "_http._tcp"}})
	testutil.Eventually(t, 15*time.Second, "all 50 services", func() bool { return b.Stats().Instances == 50 })
	var f idleFigures
	f.Found = time.Since(start)
	time.Sleep(5*time.Second - f.Found) // a measurement window: CPU and packets over the first 5 s
	window := func(from time.Time, cpu time.Duration, st0 mdns.Stats) (cpuPerMin time.Duration, pktPerMin float64) {
		el := time.Since(from)
		st := b.Stats()
		scale := float64(time.Minute) / float64(el)
		return time.Duration(float64(cpuTime(t)-cpu) * scale), float64(st.PacketsSent-st0.PacketsSent) * scale
	}
	f.StartCPUPerMin, f.StartPktPerMin = window(start, cpu0, mdns.Stats{})

	st0, cpu1, from := b.Stats(), cpuTime(t), time.Now()
	time.Sleep(10 * time.Second) // a measurement window: CPU and packets in the steady state
	f.IdleCPUPerMin, f.IdlePktPerMin = window(from, cpu1, st0)
	st := b.Stats()
	f.IdleReceived, f.Instances = st.PacketsReceived-st0.PacketsReceived, st.Instances
	js, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("idle %s\n", js)
}
