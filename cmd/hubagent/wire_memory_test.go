package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeTuning drives manageMemory poll by poll: each poll reads the next
// device count from counts, and records what manageMemory did.
type fakeTuning struct {
	mu     sync.Mutex
	counts []int
	rates  []uint64 // bytes allocated in each poll; nil: no load figures
	alloc  uint64
	polls  int
	freed  []int    // the poll at which memory was released
	gc     []string // "poll:percent" of each GOGC change
	ticks  chan struct{}
}

func (f *fakeTuning) tuning() memoryTuning {
	t := memoryTuning{
		free: func() { f.mu.Lock(); f.freed = append(f.freed, f.polls); f.mu.Unlock() },
		devices: func() int {
			f.mu.Lock()
			defer f.mu.Unlock()
			n := f.counts[min(f.polls, len(f.counts)-1)]
			f.polls++
			return n
		},
		tick: func() <-chan struct{} { return f.ticks },
	}
	if f.rates != nil {
		t.allocated = func() uint64 {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.polls > 0 {
				f.alloc += f.rates[min(f.polls-1, len(f.rates)-1)]
			}
			return f.alloc
		}
		t.setGC = func(p int) { f.mu.Lock(); f.gc = append(f.gc, fmt.Sprintf("%d:%d", f.polls, p)); f.mu.Unlock() }
	}
	return t
}

// run feeds polls ticks and stops manageMemory.
func (f *fakeTuning) run(t *testing.T, p memoryPolicy, polls int) {
	t.Helper()
	f.ticks = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		manageMemory(ctx, f.tuning(), p, slog.New(slog.DiscardHandler))
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

func TestMemoryIsReleasedEachTimeTheDeviceCountSettles(t *testing.T) {
	// Discovery: 10, 500, 1000 devices, still for 3 polls, then 1,200 more
	// appear and the count is still again.
	counts := []int{10, 500, 1000, 1000, 1000, 1000, 1000, 1000, 2200, 2200, 2200, 2200, 2200}
	f := &fakeTuning{counts: counts}
	f.run(t, memoryPolicy{settle: 3, maxPolls: 100}, len(counts))
	// Poll 0 reads 10; 1000 is first read at poll 2 and still at 3, 4, 5;
	// 2200 first at poll 8, still at 9, 10, 11. The fake records the polls
	// already made when free is called.
	if want := []int{6, 12}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v", f.freed, want)
	}
}

func TestMemoryIsReleasedByTheDeadlineWhileDevicesKeepComing(t *testing.T) {
	counts := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	f := &fakeTuning{counts: counts}
	f.run(t, memoryPolicy{settle: 3, maxPolls: 5}, len(counts))
	if want := []int{5}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v (the first release waits at most 5 polls)", f.freed, want)
	}
}

func TestMemoryIsReleasedPeriodicallyOnceSettled(t *testing.T) {
	// Settled at 1,000 from poll 3 on; every 4 polls after that release.
	counts := []int{1000}
	f := &fakeTuning{counts: counts}
	f.run(t, memoryPolicy{settle: 3, maxPolls: 100, every: 4}, 15)
	if want := []int{4, 8, 12}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v", f.freed, want)
	}
}

func TestQuietAgentCollectsMoreOftenAndBurstsAreGivenBack(t *testing.T) {
	// Devices settled from the start. Polls allocate (MB): busy start-up,
	// quiet, a burst of queries, quiet again.
	const mib = 1 << 20
	var rates []uint64
	for _, r := range []struct {
		mb uint64
		n  int
	}{{50, 2}, {0, 6}, {30, 3}, {0, 8}} {
		for range r.n {
			rates = append(rates, r.mb*mib)
		}
	}
	f := &fakeTuning{counts: []int{1000}, rates: rates}
	f.run(t, memoryPolicy{settle: 3, maxPolls: 100, busyBytes: 4 * mib, quietBytes: mib, quietPolls: 3, quietGC: 25, busyGC: 100}, len(rates)+1)
	// Settled at poll 4 (released); quiet since poll 3, so lean at the
	// first poll after that release (5); busy at 9-11 (GOGC 100 at 9);
	// quiet for 3 polls again at 14: lean, and the burst given back; at
	// the stop (after poll 20) GOGC is restored.
	if want := []int{4, 14}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v", f.freed, want)
	}
	if want := []string{"5:25", "9:100", "14:25", "20:100"}; !slices.Equal(f.gc, want) {
		t.Errorf("GOGC changes %v, want %v (the last one: restored at stop)", f.gc, want)
	}
}

func TestRuntimeMemoryTuningReleasesAndTicks(t *testing.T) {
	tu := runtimeMemoryTuning(nil)
	var before, after runtime.MemStats
	ballast := make([]byte, 8<<20) // garbage once read: free must return it
	runtime.ReadMemStats(&before)
	runtime.KeepAlive(ballast)
	tu.free()
	runtime.ReadMemStats(&after)
	if after.HeapReleased <= before.HeapReleased || after.NumGC == before.NumGC {
		t.Errorf("free: released %d -> %d bytes, GCs %d -> %d; want a GC that returns memory", before.HeapReleased, after.HeapReleased, before.NumGC, after.NumGC)
	}
	select {
	case <-tu.tick():
	case <-time.After(5 * time.Second):
		t.Error("no tick within 5 s")
	}
}
