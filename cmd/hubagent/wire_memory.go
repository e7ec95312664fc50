package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// The agent sets no memory limit of its own. A soft limit of 24 MiB (the
// settled live heap plus 16 MiB at 1,000 devices) cut hubbench's peak RSS
// from 44-54 MB to 37-39 MB, but cost the same run's QueryStatus and
// ingest ratios a quarter on a quiet machine, so it is the operator's
// choice: GOMEMLIMIT in the service's environment (docs/performance.md).
// What the agent does instead is below: give bursts back when they end,
// and collect more often while it is quiet, when that costs nothing.

// memoryTuning is what manageMemory acts through; tests replace it.
type memoryTuning struct {
	free      func()                 // give free memory back to the OS
	devices   func() int             // the hub's device count
	allocated func() uint64          // bytes allocated since start
	setGC     func(percent int)      // nil: the operator set GOGC, leave it
	tick      func() <-chan struct{} // one poll interval
}

// memoryPolicy says when manageMemory acts; polls are one a second.
type memoryPolicy struct {
	settle   int // polls the device count must be still to count as settled
	maxPolls int // the first release waits at most this many polls
	every    int // release again every this many polls (0: never)
	// Load: a poll allocating busyBytes or more is busy; quietPolls in a
	// row allocating less than quietBytes are quiet.
	busyBytes, quietBytes uint64
	quietPolls            int
	quietGC, busyGC       int // GOGC while quiet and otherwise
}

// defaultMemoryPolicy: at a household's pace (200 devices reporting every
// 20 s, 3 partners) the agent allocates tens of KB a second, so GOGC 25
// means a collection of a ~10 MB heap every few minutes, and keeps the
// heap within a quarter of what it holds instead of up to twice it.
// Ingest, queries and controls allocate MBs a second and get GOGC 100
// back within a poll.
var defaultMemoryPolicy = memoryPolicy{settle: 5, maxPolls: 120, every: 600,
	busyBytes: 4 << 20, quietBytes: 1 << 20, quietPolls: 10, quietGC: 25, busyGC: 100}

func runtimeMemoryTuning(h *hub.Hub) memoryTuning {
	t := memoryTuning{
		free: func() {
			debug.FreeOSMemory()
			// SQLite's freed pages are held by its own allocator, which the
			// Go runtime's release does not reach.
			_ = store.ReleaseMemory()
		},
		devices:   h.Len,
		allocated: allocatedBytes,
		tick: func() <-chan struct{} {
			c := make(chan struct{})
			time.AfterFunc(time.Second, func() { close(c) })
			return c
		},
	}
	if os.Getenv("GOGC") == "" {
		t.setGC = func(p int) { debug.SetGCPercent(p) }
	}
	return t
}

func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// manageMemory gives bursts' memory back to the OS. The broker replays
// every retained config and state at connect, which grows the heap far
// beyond what the agent keeps, and the Go runtime would otherwise return
// it only slowly: so the agent releases once discovery has settled (the
// device count still for settle polls; the first time at most maxPolls
// after start), again whenever the count settles at a new value (a bridge
// re-announcing its devices), every `every` polls (flushes and partner
// backlogs are bursts as well, and SQLite's allocator keeps what they
// freed), and when a busy stretch (ingest, queries) has turned quiet.
// While quiet it runs the GC at quietGC.
func manageMemory(ctx context.Context, t memoryTuning, p memoryPolicy, log *slog.Logger) error {
	last, still, polls, done, freedAt := -1, 0, 0, -1, 0
	var lastAlloc uint64
	if t.allocated != nil {
		lastAlloc = t.allocated()
	}
	quietFor, lean, busySinceFree := 0, false, false
	for {
		select {
		case <-ctx.Done():
			if lean {
				t.setGC(p.busyGC)
			}
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
		if t.allocated != nil {
			a := t.allocated()
			rate := a - lastAlloc
			lastAlloc = a
			switch {
			case rate >= p.busyBytes:
				quietFor, busySinceFree = 0, true
				if lean {
					t.setGC(p.busyGC)
					lean = false
					log.Debug("memory: busy", "allocated_per_s", rate)
				}
			case rate < p.quietBytes:
				quietFor++
			default:
				quietFor = 0
			}
		}
		first := done < 0
		quiet := !first && quietFor >= p.quietPolls
		if quiet && !lean && t.setGC != nil {
			t.setGC(p.quietGC)
			lean = true
			log.Debug("memory: quiet")
		}
		due := !first && ((p.every > 0 && polls-freedAt >= p.every) || (quiet && busySinceFree))
		if !due && (n == done || (still < p.settle && !(first && polls >= p.maxPolls))) {
			continue
		}
		done, freedAt, busySinceFree = n, polls, false
		t.free()
		log.Debug("memory released", "devices", n)
	}
}
