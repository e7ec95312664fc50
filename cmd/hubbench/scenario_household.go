package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/config"
)

// The household day: an ordinary home's load, the one a router's flash
// lives with all day.
const (
	householdDevices = 200
	householdPeriod  = 20 * time.Second // one state update per device per period
	day              = 24 * time.Hour
	flashTarget      = 50e6 // bytes written per day
	walFrameBytes    = 4096 + 24
	pageBytes        = 4096
)

// household plays householdDevices devices each reporting a new state once
// per householdPeriod, spread evenly, with every partner subscribed. It
// reports what the agent wrote to its storage scaled to a day (write_bytes
// of /proc/<pid>/io: the WAL, the database and its checkpoints, anything
// else the process writes) and the state writer's commits per second.
//
// The agent writes state once per store.flush_interval, so a measurement
// that began or ended between two flushes would leave out or add part of
// one: the measurement starts right after a flush and ends right after the
// first flush at least o.household later, however long that takes (with
// the default 10 min interval, a run of 10 to 20 minutes).
func (w *world) household(ctx context.Context) ([]row, error) {
	n := min(householdDevices, w.o.devices)
	interval := householdPeriod / time.Duration(n)
	flushEvery := w.flushInterval()
	var published atomic.Uint64
	var measuring atomic.Bool
	stop := progress(ctx, w.log, "household", w.o.household, func() string {
		if !measuring.Load() {
			return "playing the load until the agent's next state flush (flush_interval " + flushEvery.String() + ")"
		}
		return fmt.Sprintf("%d updates published, measuring until the flush after this", published.Load())
	})
	defer stop()

	var payload int
	tick := time.NewTicker(interval)
	defer tick.Stop()
	i := 0
	// play publishes until the agent's commit counter passes after, or the
	// wait (flush interval and a margin) runs out, and returns the metrics
	// read right after that commit.
	play := func(after float64, minimum time.Duration, count bool) (map[string]float64, error) {
		t0 := time.Now()
		limit := minimum + flushEvery + 30*time.Second
		lastPoll := time.Time{}
		for {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-tick.C:
			}
			p := statePayload(w.fleet.next(i % n))
			if count {
				payload += len(p)
				published.Add(1)
			}
			w.fleet.pub.Publish(stateTopic(i%n), 0, false, p)
			i++
			// Polled every 2 s: a /metrics scrape allocates in the agent, and
			// four a second made the household's allocation rate mostly ours.
			if time.Since(t0) < minimum || time.Since(lastPoll) < 2*time.Second {
				continue
			}
			lastPoll = time.Now()
			m, err := w.agent.metrics(ctx)
			if err != nil {
				return nil, err
			}
			if m["hubagent_store_commits_total"] > after {
				return m, nil
			}
			if time.Since(t0) > limit {
				return nil, fmt.Errorf("household: no state commit within %v (flush_interval %v)", limit, flushEvery)
			}
		}
	}
	m, err := w.agent.metrics(ctx)
	if err != nil {
		return nil, err
	}
	// Up to a flush, unmeasured.
	m0, err := play(m["hubagent_store_commits_total"], 0, false)
	if err != nil {
		return nil, err
	}
	io0, err := readIO(w.agent.p.pid())
	if err != nil {
		return nil, err
	}
	posts0 := w.notify.posts.Load()
	measuring.Store(true)
	t0 := time.Now()
	m1, err := play(m0["hubagent_store_commits_total"], w.o.household, true)
	if err != nil {
		return nil, err
	}
	io1, err := readIO(w.agent.p.pid())
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(t0)
	stop()

	perDay := float64(day) / float64(elapsed)
	delta := func(k string) float64 { return m1[k] - m0[k] }
	bytes := io1.writeBytes - io0.writeBytes
	written := float64(bytes) * perDay
	commits := delta("hubagent_store_commits_total")
	reports := delta("hubagent_state_reports_total")
	walB := delta("hubagent_store_wal_frames_total") * walFrameBytes
	ckptB := delta("hubagent_store_checkpointed_pages_total") * pageBytes
	updRate := float64(published.Load()) / elapsed.Seconds()
	split := "WAL/checkpoint split not counted (flush_interval 0: SQLite's autocheckpoint)"
	if flushEvery > 0 {
		split = fmt.Sprintf("of which WAL frames %.0f B, checkpoint copies %.0f B, other %.0f B",
			walB, ckptB, float64(bytes)-walB-ckptB)
	}
	r1 := row{Scenario: "household", Figure: "bytes written to flash per day", Value: written / 1e6, Unit: "MB/day",
		Note: fmt.Sprintf("%d devices × 1 update per %v (%.0f published, %.0f reached the agent), %d partners subscribed, "+
			"%d notification POSTs; flush_interval %v: measured from just after a flush to just after the %.0f-th flush "+
			"later, %v (write_bytes %d B, %s; wchar %d B), scaled to 24 h",
			n, householdPeriod, float64(published.Load()), reports, len(w.partners), w.notify.posts.Load()-posts0,
			flushEvery, commits, elapsed.Round(time.Second), bytes, split, io1.wchar-io0.wchar)}
	r1 = r1.withBaseline("MQTT payload bytes per day", float64(payload)*perDay/1e6).withTarget("≤ 50 MB/day", written <= flashTarget)
	r2 := row{Scenario: "household", Figure: "state writer commits/s", Value: commits / elapsed.Seconds(), Unit: "/s",
		Note: fmt.Sprintf("transactions of the state writer: state rows, undelivered events and their acknowledgements "+
			"(%.0f per day); events are delivered from memory between them; the agent allocated %.0f KB/s of Go heap meanwhile",
			commits*perDay, delta("go_memstats_alloc_bytes_total")/elapsed.Seconds()/1e3)}
	r2 = r2.withBaseline("state updates/s", updRate).withTarget("reported", true)
	return []row{r1, r2}, nil
}

// flushNote says, for the figures of short slices, when state reaches the
// disk: with a flush interval longer than a slice, not within it.
func (w *world) flushNote() string {
	if d := w.flushInterval(); d > 0 {
		return fmt.Sprintf("store.flush_interval %v: state rows reach the disk at flushes, so a slice shorter than that "+
			"may write none; bytes per day are the household row's", d)
	}
	return "store.flush_interval 0s: every coalescing window commits"
}

// flushInterval is the agent's store.flush_interval: the run's
// --agent-env setting, else the default.
func (w *world) flushInterval() time.Duration {
	d := config.Default().Store.FlushInterval
	for _, kv := range w.o.agentEnv {
		if v, ok := strings.CutPrefix(kv, "HUBAGENT_STORE_FLUSH_INTERVAL="); ok {
			if p, err := time.ParseDuration(v); err == nil {
				d = p
			}
		}
	}
	return d
}
