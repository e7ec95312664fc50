package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// ingestWindow bounds how far the publisher may run ahead of the side
// being measured: enough to keep it busy, small enough that the broker's
// queue (unlimited, see startMosquitto) stays a few MB.
const ingestWindow = 20000

// diskFigures are what the ingest scenario measured for the footprint
// rows: bytes the agent wrote per state report, and the MQTT payload bytes
// per report as the yardstick.
type diskFigures struct {
	writeBytes, wchar, payload float64 // per 1,000 reports
	rowsPer1000                float64
}

// ingest publishes state updates for every device as fast as the side
// being measured takes them, alternating a bare paho subscriber on its
// own topics (baseline) and the agent (hubagent_state_reports_total), two
// slices each, and compares the rates.
func (w *world) ingest(ctx context.Context) ([]row, error) {
	var bareSeen, bareBytes atomic.Uint64
	bare, err := connectMQTT(ctx, w.brokerURL, "hubbench-bare", nil)
	if err != nil {
		return nil, err
	}
	defer bare.Disconnect(50)
	if err := waitToken(ctx, bare.Subscribe("hbbare/+", 0, func(_ paho.Client, m paho.Message) {
		bareBytes.Add(uint64(len(m.Payload())))
		bareSeen.Add(1)
	}), "bare subscribe"); err != nil {
		return nil, err
	}
	bareTopics, devTopics := make([]string, w.o.devices), make([]string, w.o.devices)
	for i := range w.o.devices {
		bareTopics[i], devTopics[i] = fmt.Sprintf("hbbare/%05d", i), stateTopic(i)
	}
	agentSeen := func() (uint64, error) {
		v, err := w.agent.metric(ctx, "hubagent_state_reports_total")
		return uint64(v), err
	}
	var done atomic.Uint64
	// The phase name is read by the progress goroutine.
	var label atomic.Value
	label.Store("bare")
	stop := progress(ctx, w.log, "ingest", w.o.duration, func() string {
		return fmt.Sprintf("%s phase, %d updates published", label.Load(), done.Load())
	})
	defer stop()

	slice := w.o.duration / 4
	var bareN, agentN uint64
	var bareD, agentD, agentCPU time.Duration
	// hubbench's own CPU in each kind of slice: the publisher in both, the
	// bare subscriber only in the bare ones.
	var bareSelf, agentSelf time.Duration
	m0, err := w.agent.metrics(ctx)
	if err != nil {
		return nil, err
	}
	io0, err := readIO(w.agent.p.pid())
	if err != nil {
		return nil, err
	}
	for range 2 {
		label.Store("bare")
		self0 := selfCPU()
		n, d, err := w.ingestPhase(ctx, bareTopics, func() (uint64, error) { return bareSeen.Load(), nil }, slice, &done)
		if err != nil {
			return nil, fmt.Errorf("bare phase: %w", err)
		}
		bareN, bareD, bareSelf = bareN+n, bareD+d, bareSelf+selfCPU()-self0
		label.Store("agent")
		cpu0, self0 := cpuTime(w.agent.p.pid()), selfCPU()
		if n, d, err = w.ingestPhase(ctx, devTopics, agentSeen, slice, &done); err != nil {
			return nil, fmt.Errorf("agent phase: %w", err)
		}
		agentN, agentD, agentCPU = agentN+n, agentD+d, agentCPU+cpuTime(w.agent.p.pid())-cpu0
		agentSelf += selfCPU() - self0
	}
	// The writer commits a coalescing window after the last report; give
	// it that and a bit before reading what reached the disk.
	if err := sleepCtx(ctx, time.Second); err != nil {
		return nil, err
	}
	m1, err := w.agent.metrics(ctx)
	if err != nil {
		return nil, err
	}
	io1, err := readIO(w.agent.p.pid())
	if err != nil {
		return nil, err
	}
	stop()

	reports := m1["hubagent_state_reports_total"] - m0["hubagent_state_reports_total"]
	rowsW := m1["hubagent_store_rows_written_total"] - m0["hubagent_store_rows_written_total"]
	updates := m1["hubagent_state_updates_total"] - m0["hubagent_state_updates_total"]
	if reports > 0 {
		w.disk = diskFigures{
			writeBytes:  float64(io1.writeBytes-io0.writeBytes) / reports * 1000,
			wchar:       float64(io1.wchar-io0.wchar) / reports * 1000,
			payload:     float64(bareBytes.Load()) / float64(max(bareSeen.Load(), 1)) * 1000,
			rowsPer1000: rowsW / reports * 1000,
		}
	}
	agentRate := float64(agentN) / agentD.Seconds()
	bareRate := float64(bareN) / bareD.Seconds()
	rowsRate := rowsW / agentD.Seconds()
	r1 := row{Scenario: "ingest", Figure: "state updates/s into the store", Value: agentRate, Unit: "/s",
		Note: fmt.Sprintf("%d devices, QoS 0, %.0f reports (counted once applied) → %.0f values changed → %.0f rows written "+
			"(coalesce_window 200ms); both sides' counters read every %v; partners are notified of every change meanwhile",
			w.o.devices, reports, updates, rowsW, ingestPollEvery)}
	if agentN > 0 && bareN > 0 {
		// CPU per update is steadier than the rate on a shared machine.
		// The bare subscriber's is hubbench's CPU per message in the bare
		// slices less its CPU per message in the agent slices (the
		// publisher alone).
		perMsg := func(d time.Duration, n uint64) float64 { return float64(d.Nanoseconds()) / 1000 / float64(n) }
		r1.Note += fmt.Sprintf("; CPU per update: agent %.1f µs, bare subscriber ≈ %.1f µs",
			perMsg(agentCPU, agentN), perMsg(bareSelf, bareN)-perMsg(agentSelf, agentN))
	}
	r1 = r1.withBaseline("bare paho subscriber", bareRate)
	r1 = r1.withTarget("≥ 0.8× bare, ≥ 20,000/s", agentRate >= 0.8*bareRate && agentRate >= 20000)
	r2 := row{Scenario: "ingest", Figure: "store rows written/s", Value: rowsRate, Unit: "/s", Note: w.flushNote()}.
		withBaseline("state updates/s", agentRate)
	return []row{r1, r2}, nil
}

// ingestPhase publishes one state update per device in turn on topics for
// about d, never more than ingestWindow ahead of seen, then waits until
// everything published was seen (or nothing moves for 3 s). seen is read
// by a counterPoller at the same pace for both sides. It returns the count
// seen and the time from the first publish to the read that saw the last.
func (w *world) ingestPhase(ctx context.Context, topics []string, seen func() (uint64, error), d time.Duration, done *atomic.Uint64) (uint64, time.Duration, error) {
	start, err := seen()
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	p := pollCounter(ctx, seen, start, t0)
	defer p.Close()
	end := t0.Add(d)
	var published uint64
	next := 0
	for time.Now().Before(end) {
		if err := p.Err(); err != nil {
			return 0, 0, err
		}
		if got, _ := p.value(); published-(got-start) > ingestWindow {
			if err := sleepCtx(ctx, time.Millisecond); err != nil {
				return 0, 0, err
			}
			continue
		}
		for range 1000 {
			i := next % len(topics)
			next++
			w.fleet.pub.Publish(topics[i], 0, false, statePayload(w.fleet.next(i)))
			published++
		}
		done.Add(1000)
	}
	for {
		if err := p.Err(); err != nil {
			return 0, 0, err
		}
		got, at := p.value()
		if got-start >= published || time.Since(at) > 3*time.Second {
			return got - start, at.Sub(t0), nil
		}
		if err := sleepCtx(ctx, time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
}
