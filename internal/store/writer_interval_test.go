package store

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

func stateRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	testutil.Scan(t, s.DB().QueryRow("SELECT count(*) FROM state"), &n)
	return n
}

// publishLog records what the writer hands to Hooks.Publish.
type publishLog struct {
	mu      sync.Mutex
	changes int
}

func (p *publishLog) publish(b []Change) {
	p.mu.Lock()
	p.changes += len(b)
	p.mu.Unlock()
}

func (p *publishLog) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changes
}

func TestWriterIntervalPublishesAtOnceAndCommitsOnTick(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	tick := make(chan time.Time)
	w := s.NewWriter(WriterOptions{Window: time.Millisecond, FlushInterval: time.Hour, Tick: tick})
	defer w.Close()
	var pub publishLog
	w.SetHooks(Hooks{Publish: pub.publish})
	for i := 0; i < 10; i++ {
		w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(int64(i)), At: time.Now()})
	}
	w.Put(Change{DeviceID: "l", Property: "power", Value: device.Bool(true), At: time.Now()})
	testutil.Eventually(t, 5*time.Second, "the window's batches published", func() bool { return pub.count() >= 2 })
	if n := stateRows(t, s); n != 0 || w.Stats().Commits != 0 {
		t.Fatalf("before the interval: %d state rows, %d commits; want none", n, w.Stats().Commits)
	}
	tick <- time.Now()
	testutil.Eventually(t, 5*time.Second, "the interval's commit", func() bool { return w.Stats().Commits == 1 })
	if n := stateRows(t, s); n != 2 {
		t.Fatalf("after the interval: %d state rows, want 2 (one per property)", n)
	}
	// The checkpoint after the flush copied what the flush wrote to the WAL.
	if st := w.Stats(); st.WALFrames == 0 || st.CheckpointedPages == 0 {
		t.Errorf("after the interval's checkpoint: %d WAL frames, %d pages copied; want both counted", st.WALFrames, st.CheckpointedPages)
	}
	d, _ := s.Device(ctx, "l")
	if !d.State["brightness"].Equal(device.Int(9)) {
		t.Errorf("brightness = %v, want the last value 9", d.State["brightness"])
	}
	// Nothing pending: a tick commits nothing.
	tick <- time.Now()
	tick <- time.Now() // the loop took the first tick when it takes the second
	if c := w.Stats().Commits; c != 1 {
		t.Errorf("idle ticks committed: %d commits, want 1", c)
	}
}

func TestWriterIntervalFlushAndCloseCommit(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	w := s.NewWriter(WriterOptions{Window: time.Hour, FlushInterval: time.Hour, Tick: make(chan time.Time)})
	w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(1), At: time.Now()})
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stateRows(t, s); n != 1 {
		t.Fatalf("after Flush: %d state rows, want 1", n)
	}
	w.Put(Change{DeviceID: "l", Property: "power", Value: device.Bool(true), At: time.Now()})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := stateRows(t, s); n != 2 {
		t.Fatalf("after Close (graceful shutdown): %d state rows, want 2", n)
	}
}

func TestWriterIntervalBoundCommitsEarly(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	w := s.NewWriter(WriterOptions{Window: time.Millisecond, FlushInterval: time.Hour, Tick: make(chan time.Time), MaxPending: 5})
	defer w.Close()
	var mu sync.Mutex
	lastA := int64(-1) // the last value of "a" the writer published
	w.SetHooks(Hooks{Publish: func(cs []Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			if c.Property == "a" {
				lastA, _ = c.Value.AsInt()
			}
		}
	}})
	published := func(v int64) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return lastA == v }
	}
	for i := 0; i < 4; i++ {
		w.Put(Change{DeviceID: "l", Property: string(rune('a' + i)), Value: device.Int(1), At: time.Now()})
	}
	// Repeats of pending properties do not grow the set.
	for i := 0; i < 20; i++ {
		w.Put(Change{DeviceID: "l", Property: "a", Value: device.Int(int64(i)), At: time.Now()})
	}
	testutil.Eventually(t, 5*time.Second, "the repeats published", published(19))
	// One more repeat through a window of its own: the writer weighed the
	// bound after the window before it (publish, then the check, on one
	// goroutine).
	w.Put(Change{DeviceID: "l", Property: "a", Value: device.Int(20), At: time.Now()})
	testutil.Eventually(t, 5*time.Second, "one more repeat published", published(20))
	if c := w.Stats().Commits; c != 0 {
		t.Fatalf("%d commits below the bound, want 0", c)
	}
	w.Put(Change{DeviceID: "l", Property: "e", Value: device.Int(1), At: time.Now()})
	testutil.Eventually(t, 5*time.Second, "the bound's early commit", func() bool { return w.Stats().Commits == 1 })
	if n := stateRows(t, s); n != 5 {
		t.Fatalf("%d state rows, want 5", n)
	}
}

// A hook with rows of its own (the notifier's undelivered events) is
// committed by the interval even when no state is pending, and hears the
// outcome.
func TestWriterIntervalCommitsDirtyHook(t *testing.T) {
	s := openTemp(t)
	tick := make(chan time.Time)
	w := s.NewWriter(WriterOptions{FlushInterval: time.Hour, Tick: tick})
	defer w.Close()
	var mu sync.Mutex
	dirty, txs, dones := true, 0, 0
	w.SetHooks(Hooks{
		Dirty: func() bool { mu.Lock(); defer mu.Unlock(); return dirty },
		Tx: func(context.Context, *sql.Tx, []Change) error {
			mu.Lock()
			defer mu.Unlock()
			txs++
			return nil
		},
		Done: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				dones++
				dirty = false
			}
		},
	})
	tick <- time.Now()
	tick <- time.Now()
	mu.Lock()
	defer mu.Unlock()
	if txs != 1 || dones != 1 {
		t.Fatalf("hook ran %d times, done %d; want 1 and 1", txs, dones)
	}
}

// Without a window, the writer drains queued changes and may meet a flush
// barrier there: the barrier is answered by a commit even though the
// interval defers commits.
func TestWriterIntervalFlushBarrierInDrainIsAnswered(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	s.UpsertDevice(ctx, lamp("l"))
	w := s.NewWriter(WriterOptions{FlushInterval: time.Hour, Tick: make(chan time.Time)})
	defer w.Close()
	for i := 0; i < 200; i++ {
		w.Put(Change{DeviceID: "l", Property: "brightness", Value: device.Int(int64(i)), At: time.Now()})
		if i%10 == 0 {
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := w.Flush(fctx)
			cancel()
			if err != nil {
				t.Fatalf("flush %d: %v", i, err)
			}
		}
	}
}
