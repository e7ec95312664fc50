package store

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The writer's memory follows what waits, not its bounds: an idle writer,
// and one that went through a burst of a change per property of 1,000
// devices, keep a small fraction of what a queue preallocated at its
// bound (8,192 changes, ~0.8 MB) and a burst-sized batch (~0.8 MB) cost.
func TestWriterKeepsLittleAfterBurst(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	const devices, props = 1000, 5
	ids := make([]string, devices)
	for i := range ids {
		ids[i] = fmt.Sprintf("dev-%04d", i)
		if err := s.UpsertDevice(ctx, lamp(ids[i])); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"power", "brightness", "mode", "color_temp", "linkquality"}
	base := heapInUse()
	w := s.NewWriter(WriterOptions{Window: time.Millisecond, FlushInterval: time.Hour, Tick: make(chan time.Time)})
	defer w.Close()
	// Polled like the figure after the burst: the heap is the process's,
	// and what other goroutines of the test binary hold comes and goes.
	var idle int64
	testutil.Poll(5*time.Second, func() bool {
		idle = int64(heapInUse()) - int64(base)
		return idle <= 64<<10
	})
	now := time.Now()
	for i := range devices {
		for _, n := range names[:props] {
			if err := w.Put(Change{DeviceID: ids[i], Property: n, Value: device.Int(int64(i)), At: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The writer gives the burst's buffers back trimAfter after it found
	// itself idle.
	var after int64
	testutil.Poll(10*time.Second, func() bool {
		after = int64(heapInUse()) - int64(base)
		return after <= 128<<10
	})
	t.Logf("writer heap: idle %d B, after a burst of %d changes %d B", idle, devices*props, after)
	if idle > 64<<10 {
		t.Errorf("an idle writer holds %d B of heap; want < 64 KiB", idle)
	}
	if after > 128<<10 {
		t.Errorf("after the burst the writer holds %d B of heap; want < 128 KiB", after)
	}
	if got := w.Stats().Written; got != devices*props {
		t.Errorf("written %d rows, want %d", got, devices*props)
	}
}

// Put blocks while Queue changes wait, and goes on, in order, once the
// writer takes them.
func TestOpQueueBlocksAtItsBound(t *testing.T) {
	q := newOpQueue(3)
	for i := range 3 {
		q.put(Change{Property: fmt.Sprint(i)})
	}
	var done atomic.Bool
	go func() {
		q.put(Change{Property: "3"})
		done.Store(true)
	}()
	// A negative check needs some time: 50 ms is plenty for the goroutine to
	// have returned had it not blocked.
	time.Sleep(50 * time.Millisecond)
	if done.Load() {
		t.Fatal("put did not wait with the queue full")
	}
	ops, closed := q.take(nil)
	if closed || len(ops) != 3 {
		t.Fatalf("took %d ops (closed %v), want 3", len(ops), closed)
	}
	var rest []writerOp
	deadline := time.Now().Add(10 * time.Second)
	for len(rest) == 0 && time.Now().Before(deadline) {
		<-q.ready
		rest, _ = q.take(nil)
	}
	if len(rest) != 1 || rest[0].change.Property != "3" {
		t.Fatalf("after the take, queue holds %+v; want the blocked change", rest)
	}
	// Handing ops back clears their slots. Checked with nothing left to
	// put: the handed-back buffer becomes the queue's, and a put made
	// after that (the blocked one, when it was slow to run) fills it
	// again, as it should.
	q.take(ops)
	for i, op := range ops {
		if op.change.Property != "" {
			t.Errorf("taken buffer slot %d still holds %q after being handed back", i, op.change.Property)
		}
	}
}

// A buffer grown by a burst is given back once empty; a small one is kept.
func TestOpQueueTrimGivesBackBurstBuffers(t *testing.T) {
	q := newOpQueue(100000)
	for i := range 5000 {
		q.put(Change{Property: fmt.Sprint(i)})
	}
	q.trim()
	if len(q.ops) != 5000 {
		t.Fatalf("trim dropped queued ops: %d left of 5000", len(q.ops))
	}
	big, _ := q.take(nil)
	q.take(big)
	if !q.big() {
		t.Fatalf("the burst buffer was not reused as the queue buffer (cap %d)", cap(q.ops))
	}
	q.trim()
	if c := cap(q.ops); c != 0 {
		t.Errorf("queue kept a %d-op buffer after trim; want it given back", c)
	}
	q.take(make([]writerOp, 10))
	q.trim()
	if c := cap(q.ops); c != 10 {
		t.Errorf("queue buffer capacity %d after trim; want the small buffer (10) kept", c)
	}
}
