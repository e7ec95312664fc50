package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// The agent sets no memory limit of its own. A soft limit of 24 MiB (the
// settled live heap plus 16 MiB at 1,000 devices) cut hubbench's peak RSS
// from 44-54 MB to 37-39 MB, but cost the same run's QueryStatus and
// ingest ratios a quarter on a quiet machine, so it is the operator's
// choice: GOMEMLIMIT in the service's environment (docs/performance.md).

// memoryTuning is what manageMemory acts through; tests replace it.
type memoryTuning struct {
	free    func()                 // give free memory back to the OS
	devices func() int             // the hub's device count
	tick    func() <-chan struct{} // one poll interval
}

func runtimeMemoryTuning(h *hub.Hub) memoryTuning {
	return memoryTuning{
		free: func() {
			debug.FreeOSMemory()
			// SQLite's freed pages are held by its own allocator, which the
			// Go runtime's release does not reach.
			_ = store.ReleaseMemory()
		},
		devices: h.Len,
		tick: func() <-chan struct{} {
			c := make(chan struct{})
			time.AfterFunc(time.Second, func() { close(c) })
			return c
		},
	}
}

// manageMemory gives the start-up burst's memory back to the OS once
// discovery has settled: the broker replays every retained config and
// state at connect, which grows the heap far beyond what the agent keeps,
// and the Go runtime would otherwise return it only slowly. Settled means
// the device count has not moved for settle polls (one a second); the
// first time, at most maxPolls polls after start. It does it again
// whenever the count settles at a new value (a bridge re-announcing its
// devices is a burst too), and every `every` polls after the first (0:
// never), because flushes and partner backlogs are bursts as well and
// SQLite's allocator keeps what they freed.
func manageMemory(ctx context.Context, t memoryTuning, settle, maxPolls, every int, log *slog.Logger) error {
	last, still, polls, done, freedAt := -1, 0, 0, -1, 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.tick():
		}
		polls++
		n := t.devices()
		if n != last {
			last, still = n, 0
		} else {
			still++
		}
		first := done < 0
		due := !first && every > 0 && polls-freedAt >= every
		if !due && (n == done || (still < settle && !(first && polls >= maxPolls))) {
			continue
		}
		done, freedAt = n, polls
		t.free()
		log.Debug("memory released", "devices", n)
	}
}
