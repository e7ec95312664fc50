package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
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
		free:    debug.FreeOSMemory,
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
// devices is a burst too).
func manageMemory(ctx context.Context, t memoryTuning, settle, maxPolls int, log *slog.Logger) error {
	last, still, polls, done := -1, 0, 0, -1
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
		if n == done || (still < settle && !(first && polls >= maxPolls)) {
			continue
		}
		done = n
		t.free()
		log.Debug("memory released", "devices", n)
	}
}
