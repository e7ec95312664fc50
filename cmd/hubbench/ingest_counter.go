package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// ingestPollEvery is how often an ingest phase reads the measured side's
// counter. The same for both sides: the agent's counter is a /metrics
// scrape (milliseconds under load, and agent CPU), the bare subscriber's an
// atomic, and reading them at different rates would measure the reading.
const ingestPollEvery = 10 * time.Millisecond

// counterPoller reads a counter in the background, so the publisher never
// waits on the read: before, the agent phase's publisher scraped /metrics
// between every 1,000 publishes while the bare phase's read an atomic, and
// the scrape's latency, not the agent, capped the agent's rate.
type counterPoller struct {
	last    atomic.Uint64
	movedAt atomic.Int64 // UnixNano of the first read that saw last

	mu  sync.Mutex
	err error

	stop func()
	done chan struct{}
}

// pollCounter starts reading seen every ingestPollEvery, starting from
// start (a value already read, at t0).
func pollCounter(ctx context.Context, seen func() (uint64, error), start uint64, t0 time.Time) *counterPoller {
	ctx, cancel := context.WithCancel(ctx)
	p := &counterPoller{stop: cancel, done: make(chan struct{})}
	p.last.Store(start)
	p.movedAt.Store(t0.UnixNano())
	go func() {
		defer close(p.done)
		t := time.NewTicker(ingestPollEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v, err := seen()
			if err != nil {
				if ctx.Err() == nil {
					p.mu.Lock()
					p.err = err
					p.mu.Unlock()
				}
				return
			}
			// The time of the read's answer, not of its request: a late
			// answer counts against the measured side, never for it.
			if v != p.last.Load() {
				p.last.Store(v)
				p.movedAt.Store(time.Now().UnixNano())
			}
		}
	}()
	return p
}

// value is the last count read and when it was first seen.
func (p *counterPoller) value() (uint64, time.Time) {
	return p.last.Load(), time.Unix(0, p.movedAt.Load())
}

// Err is the read error that stopped the poller, if any.
func (p *counterPoller) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close stops the poller and waits for it.
func (p *counterPoller) Close() {
	p.stop()
	<-p.done
}
