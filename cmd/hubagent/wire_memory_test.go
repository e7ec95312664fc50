package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

// fakeTuning drives manageMemory poll by poll: each poll reads the next
// device count from counts, and records what manageMemory did.
type fakeTuning struct {
	mu      sync.Mutex
	counts  []int
	polls   int
	live    uint64
	freed   []int // the poll at which memory was released
	limits  []int64
	userSet bool
	ticks   chan struct{}
}

func (f *fakeTuning) tuning() memoryTuning {
	return memoryTuning{
		free: func() { f.mu.Lock(); f.freed = append(f.freed, f.polls); f.mu.Unlock() },
		live: func() uint64 { f.mu.Lock(); defer f.mu.Unlock(); return f.live },
		setLimit: func(l int64) int64 {
			f.mu.Lock()
			f.limits = append(f.limits, l)
			f.mu.Unlock()
			return 0
		},
		userSet: f.userSet,
		devices: func() int {
			f.mu.Lock()
			defer f.mu.Unlock()
			n := f.counts[min(f.polls, len(f.counts)-1)]
			f.polls++
			return n
		},
		tick: func() <-chan struct{} { return f.ticks },
	}
}

// run feeds polls ticks and stops manageMemory.
func (f *fakeTuning) run(t *testing.T, settle, maxPolls, polls int) {
	t.Helper()
	f.ticks = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		manageMemory(ctx, f.tuning(), settle, maxPolls, slog.New(slog.DiscardHandler))
		close(done)
	}()
	for range polls {
		select {
		case f.ticks <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("manageMemory stopped polling")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("manageMemory did not stop with its context")
	}
}

func TestMemoryIsReleasedAndLimitedEachTimeTheDeviceCountSettles(t *testing.T) {
	// Discovery: 10, 500, 1000 devices, still for 3 polls, then 1,200 more
	// appear and the count is still again.
	counts := []int{10, 500, 1000, 1000, 1000, 1000, 1000, 1000, 2200, 2200, 2200, 2200, 2200}
	f := &fakeTuning{counts: counts, live: 8 << 20}
	f.run(t, 3, 100, len(counts))
	// Poll 0 reads 10; 1000 is first read at poll 2 and still at 3, 4, 5;
	// 2200 first at poll 8, still at 9, 10, 11. The fake records the polls
	// already made when free is called.
	if want := []int{6, 12}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v", f.freed, want)
	}
	if want := []int64{memLimitFloor, memLimitFloor}; !slices.Equal(f.limits, want) {
		t.Errorf("limits %v, want %v (8 MiB live + headroom is under the floor)", f.limits, want)
	}
}

func TestMemoryLimitFollowsTheLiveHeapAboveTheFloor(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int64
	}{
		{0, memLimitFloor},
		{7 << 20, memLimitFloor},
		{memLimitFloor - memLimitHeadroom, memLimitFloor},
		{40 << 20, 40<<20 + memLimitHeadroom},
	} {
		if got := memoryLimitFor(tc.live); got != tc.want {
			t.Errorf("memoryLimitFor(%d) = %d, want %d", tc.live, got, tc.want)
		}
	}
}

func TestMemoryLimitFromTheEnvironmentIsLeftAlone(t *testing.T) {
	f := &fakeTuning{counts: []int{5}, live: 8 << 20, userSet: true}
	f.run(t, 2, 100, 5)
	if len(f.freed) != 1 || len(f.limits) != 0 {
		t.Errorf("released %v times, limits set %v; want one release and no limit", f.freed, f.limits)
	}
}

func TestMemoryIsReleasedByTheDeadlineWhileDevicesKeepComing(t *testing.T) {
	counts := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	f := &fakeTuning{counts: counts, live: 50 << 20}
	f.run(t, 3, 5, len(counts))
	if want := []int{5}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v (the first release waits at most 5 polls)", f.freed, want)
	}
	if want := []int64{50<<20 + memLimitHeadroom}; !slices.Equal(f.limits, want) {
		t.Errorf("limits %v, want %v", f.limits, want)
	}
}

func TestRuntimeMemoryTuningReadsTheRealRuntime(t *testing.T) {
	tu := runtimeMemoryTuning(nil)
	if tu.userSet {
		t.Skip("GOMEMLIMIT is set in this test's environment")
	}
	tu.free()
	if live := tu.live(); live == 0 {
		t.Error("live heap reads 0 after a GC")
	}
	select {
	case <-tu.tick():
	case <-time.After(5 * time.Second):
		t.Error("no tick within 5 s")
	}
}

// The running agent sets its memory limit once discovery has settled, and
// keeps an operator's GOMEMLIMIT.
func TestAgentSetsItsMemoryLimitUnlessGOMEMLIMITIsSet(t *testing.T) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		t.Skip("GOMEMLIMIT is set in this test's environment; the agent would inherit it")
	}
	for _, tc := range []struct {
		name string
		wrap []string
		want float64
	}{
		{"derived", nil, memLimitFloor},
		{"from GOMEMLIMIT", []string{"env", "GOMEMLIMIT=40MiB"}, 40 << 20},
		{"GOMEMLIMIT=off", []string{"env", "GOMEMLIMIT=off"}, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := startAgentVia(t, t.TempDir(), tc.wrap)
			a.healthz(t, 20*time.Second)
			var got float64
			if tc.wrap == nil {
				if !testutil.Poll(30*time.Second, func() bool { got = a.metric(t, "go_gc_gomemlimit_bytes"); return got == tc.want }) {
					t.Fatalf("go_gc_gomemlimit_bytes %v, want %v", got, tc.want)
				}
				return
			}
			// The operator's value must hold past the point where the
			// agent would set its own (5 s after the device count settles).
			start := time.Now()
			testutil.Poll(30*time.Second, func() bool {
				if got = a.metric(t, "go_gc_gomemlimit_bytes"); got != tc.want {
					t.Fatalf("go_gc_gomemlimit_bytes %v after %v, want %v throughout", got, time.Since(start), tc.want)
				}
				return time.Since(start) > 10*time.Second
			})
		})
	}
}

func TestGOMEMLIMITCountsAsSetWhateverItsValue(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"GOMEMLIMIT": ""}, false}, // the runtime ignores an empty value too
		{map[string]string{"GOMEMLIMIT": "off"}, true},
		{map[string]string{"GOMEMLIMIT": "64MiB"}, true},
	} {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		if got := goMemLimitSet(lookup); got != tc.want {
			t.Errorf("env %v: set = %v, want %v", tc.env, got, tc.want)
		}
	}
}
