package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// The household day: an ordinary home's load, the one a router's flash
// lives with all day.
const (
	householdDevices = 200
	householdPeriod  = 20 * time.Second // one state update per device per period
	day              = 24 * time.Hour
	flashTarget      = 50e6 // bytes written per day
)

// household plays householdDevices devices each reporting a new state once
// per householdPeriod, spread evenly, with every partner subscribed, for
// o.household. It reports what the agent wrote to its storage scaled to a
// day (write_bytes of /proc/<pid>/io: the WAL, the database and its
// checkpoints, anything else the process writes) and the state writer's
// commits per second.
func (w *world) household(ctx context.Context) ([]row, error) {
	n := min(householdDevices, w.o.devices)
	interval := householdPeriod / time.Duration(n)
	var published atomic.Uint64
	stop := progress(ctx, w.log, "household", w.o.household, func() string {
		return fmt.Sprintf("%d updates published", published.Load())
	})
	defer stop()

	m0, err := w.agent.metrics(ctx)
	if err != nil {
		return nil, err
	}
	io0, err := readIO(w.agent.p.pid())
	if err != nil {
		return nil, err
	}
	posts0 := w.notify.posts.Load()
	var payload int
	t0 := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; time.Since(t0) < w.o.household; i++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		p := statePayload(w.fleet.next(i % n))
		payload += len(p)
		w.fleet.pub.Publish(stateTopic(i%n), 0, false, p)
		published.Add(1)
	}
	elapsed := time.Since(t0)
	m1, err := w.agent.metrics(ctx)
	if err != nil {
		return nil, err
	}
	io1, err := readIO(w.agent.p.pid())
	if err != nil {
		return nil, err
	}
	stop()

	perDay := float64(day) / float64(elapsed)
	written := float64(io1.writeBytes-io0.writeBytes) * perDay
	commits := (m1["hubagent_store_commits_total"] - m0["hubagent_store_commits_total"]) / elapsed.Seconds()
	reports := m1["hubagent_state_reports_total"] - m0["hubagent_state_reports_total"]
	updRate := float64(published.Load()) / elapsed.Seconds()
	r1 := row{Scenario: "household", Figure: "bytes written to flash per day", Value: written / 1e6, Unit: "MB/day",
		Note: fmt.Sprintf("%d devices × 1 update per %v (%.0f published, %.0f reached the agent), %d partners subscribed, "+
			"%d notification POSTs; measured over %v (write_bytes %d B, wchar %d B) and scaled to 24 h",
			n, householdPeriod, float64(published.Load()), reports, len(w.partners), w.notify.posts.Load()-posts0,
			elapsed.Round(time.Second), io1.writeBytes-io0.writeBytes, io1.wchar-io0.wchar)}
	r1 = r1.withBaseline("MQTT payload bytes per day", float64(payload)*perDay/1e6).withTarget("≤ 50 MB/day", written <= flashTarget)
	r2 := row{Scenario: "household", Figure: "state writer commits/s", Value: commits, Unit: "/s",
		Note: "transactions of the state writer (state rows and the outbox rows written with them); the notifier's " +
			"deletes of delivered outbox rows are further transactions, included in the bytes above"}
	r2 = r2.withBaseline("state updates/s", updRate).withTarget("reported", true)
	return []row{r1, r2}, nil
}
