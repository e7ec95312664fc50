package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
)

// releaseStartupMemory gives the start-up burst's memory back to the OS
// once discovery has settled: the broker replays every retained config and
// state at connect, which grows the heap far beyond what the agent keeps,
// and the Go runtime would otherwise return it only slowly. Settled means
// the device count has not moved for settle (checked every second, for at
// most 2 minutes).
func releaseStartupMemory(ctx context.Context, h *hub.Hub, settle time.Duration, log *slog.Logger) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	last, since := -1, time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if n := h.Len(); n != last {
			last, since = n, time.Now()
			continue
		}
		if time.Since(since) >= settle {
			break
		}
	}
	debug.FreeOSMemory()
	log.Debug("start-up memory released", "devices", last)
	return nil
}
