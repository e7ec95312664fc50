package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
)

// Memory limit the agent sets once discovery has settled, unless the
// environment sets GOMEMLIMIT (which the Go runtime reads itself; "off"
// turns the limit off): the heap found live then plus memLimitHeadroom,
// and never below memLimitFloor. Without a limit the GC lets the heap grow
// to twice what is live (GOGC=100), and under partner load the live heap
// doubles too; the limit caps that growth. It is soft: past it the GC
// works harder (at most half the CPU), nothing fails. hubbench at 1,000
// devices and 3 partners, gateway build: peak RSS 45-54 MB without it,
// 37-39 MB with it; the ingest ratio did not move, QueryStatus's and the
// notify p99 may cost a little, within a loaded machine's noise.
const (
	memLimitFloor    = 24 << 20
	memLimitHeadroom = 16 << 20
)

// memoryLimitFor is the limit for a settled live heap of live bytes.
func memoryLimitFor(live uint64) int64 {
	return max(memLimitFloor, int64(live)+memLimitHeadroom)
}

// memoryTuning is what manageMemory acts through; tests replace it.
type memoryTuning struct {
	free     func()                 // give free memory back to the OS
	live     func() uint64          // live heap bytes at the last GC
	setLimit func(int64) int64      // debug.SetMemoryLimit
	userSet  bool                   // GOMEMLIMIT set a limit already
	devices  func() int             // the hub's device count
	tick     func() <-chan struct{} // one poll interval
}

func runtimeMemoryTuning(h *hub.Hub) memoryTuning {
	return memoryTuning{
		free: debug.FreeOSMemory,
		live: func() uint64 {
			s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			metrics.Read(s)
			return s[0].Value.Uint64()
		},
		setLimit: debug.SetMemoryLimit,
		// GOMEMLIMIT is the operator's to choose, "off" included (which
		// reads back as no limit, so the variable itself is looked at); a
		// negative limit only reads the current one.
		userSet: goMemLimitSet(os.LookupEnv) || debug.SetMemoryLimit(-1) != math.MaxInt64,
		devices: h.Len,
		tick: func() <-chan struct{} {
			c := make(chan struct{})
			time.AfterFunc(time.Second, func() { close(c) })
			return c
		},
	}
}

// goMemLimitSet says whether the environment sets GOMEMLIMIT, as the Go
// runtime reads it (the process environment).
func goMemLimitSet(lookup func(string) (string, bool)) bool {
	v, ok := lookup("GOMEMLIMIT")
	return ok && v != ""
}

// manageMemory gives the start-up burst's memory back to the OS once
// discovery has settled, and sets the memory limit from the heap then
// live: the broker replays every retained config and state at connect,
// which grows the heap far beyond what the agent keeps, and the Go runtime
// would otherwise return it only slowly. Settled means the device count
// has not moved for settle polls (one a second); the first time, at most
// maxPolls polls after start. It does it again whenever the count settles
// at a new value, so the limit follows the household's size.
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
		t.free() // a full GC first, so live is what the agent keeps
		if t.userSet {
			log.Debug("memory released", "devices", n)
			continue
		}
		limit := memoryLimitFor(t.live())
		t.setLimit(limit)
		log.Debug("memory released; memory limit set", "devices", n, "limit_bytes", limit)
	}
}
