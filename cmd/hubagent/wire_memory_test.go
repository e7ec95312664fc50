package main

import (
	"context"
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
	polls  int
	freed  []int // the poll at which memory was released
	ticks  chan struct{}
}

func (f *fakeTuning) tuning() memoryTuning {
	return memoryTuning{
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
}

// run feeds polls ticks and stops manageMemory.
func (f *fakeTuning) run(t *testing.T, settle, maxPolls, every, polls int) {
	t.Helper()
	f.ticks = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		manageMemory(ctx, f.tuning(), settle, maxPolls, every, slog.New(slog.DiscardHandler))
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
	f.run(t, 3, 100, 0, len(counts))
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
	f.run(t, 3, 5, 0, len(counts))
	if want := []int{5}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v (the first release waits at most 5 polls)", f.freed, want)
	}
}

func TestMemoryIsReleasedPeriodicallyOnceSettled(t *testing.T) {
	// Settled at 1,000 from poll 3 on; every 4 polls after that release.
	counts := []int{1000}
	f := &fakeTuning{counts: counts}
	f.run(t, 3, 100, 4, 15)
	if want := []int{4, 8, 12}; !slices.Equal(f.freed, want) {
		t.Errorf("released after polls %v, want %v", f.freed, want)
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
