package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// notifyRate is the offered load of the notify scenario: every device
// once a second (so the coalescing window never merges two changes of one
// device and every change can be matched), at most this many per second.
const notifyRate = 2000

// notifyScenario publishes brightness changes at a steady rate and times
// each one from the publish to its StatusChanged at every partner, against
// a bare MQTT subscriber's one-way latency for publishes interleaved with
// them one for one.
// window names the agent's coalesce_window in the figures.
func (w *world) notifyScenario(ctx context.Context, label, window string) ([]row, error) {
	rate := min(w.o.devices, notifyRate)
	var mu sync.Mutex
	var bareLat []time.Duration
	bare, err := connectMQTT(ctx, w.brokerURL, "hubbench-notify-bare", nil)
	if err != nil {
		return nil, err
	}
	defer bare.Disconnect(50)
	if err := waitToken(ctx, bare.Subscribe("hbnot/+", 0, func(_ paho.Client, m paho.Message) {
		now := time.Now()
		if t, err := strconv.ParseInt(string(m.Payload()), 10, 64); err == nil {
			mu.Lock()
			bareLat = append(bareLat, now.Sub(time.Unix(0, t)))
			mu.Unlock()
		}
	}), "bare subscribe"); err != nil {
		return nil, err
	}
	rec := newNotifyRecorder()
	var published atomic.Int64
	stop := progress(ctx, w.log, label, w.o.duration, func() string {
		ev, _, _ := rec.snapshot()
		return fmt.Sprintf("%d changes published, %d events at partners", published.Load(), ev)
	})
	defer stop()

	// The bare publishes and the device publishes interleave one for one
	// from the same publisher client, so that both see the same machine at
	// the same moment.
	w.notify.rec.Store(rec)
	defer w.notify.rec.Store(nil)
	var sent int64
	if err := paced(ctx, rate, w.o.duration, func(n int) {
		i := n % w.o.devices
		w.fleet.pub.Publish(fmt.Sprintf("hbnot/%05d", i), 0, false, strconv.FormatInt(time.Now().UnixNano(), 10))
		pct := w.fleet.next(i)
		rec.published(i, pct, time.Now())
		w.fleet.pub.Publish(stateTopic(i), 0, false, statePayload(pct))
		sent++
		published.Add(1)
	}); err != nil {
		return nil, err
	}
	// Wait for the tail: until every change reached every partner, or
	// nothing arrived for 2 s (at most 15 s).
	want := sent * int64(len(w.partners))
	deadline := time.Now().Add(15 * time.Second)
	last, lastMove := int64(-1), time.Now()
	for time.Now().Before(deadline) && time.Since(lastMove) < 2*time.Second {
		ev, _, _ := rec.snapshot()
		if ev >= want {
			break
		}
		if ev != last {
			last, lastMove = ev, time.Now()
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, err
		}
	}
	stop()
	events, lat, unmatched := rec.snapshot()
	mu.Lock()
	b50, b99 := percentile(bareLat, 50), percentile(bareLat, 99)
	mu.Unlock()
	n50, n99 := percentile(lat, 50), percentile(lat, 99)
	offered := float64(rate * len(w.partners))
	got := float64(events) / w.o.duration.Seconds()
	suffix := ", coalesce_window " + window
	note := fmt.Sprintf("%d changes/s offered to %d partners; %d of %d events arrived (%d unmatched)",
		rate, len(w.partners), events, want, unmatched)
	if window != "0s" {
		note += "; the coalescing window holds each change up to its length before it is written and pushed, so it dominates latency"
	}
	return []row{
		row{Scenario: "notify", Figure: "publish → partner p50" + suffix, Value: n50, Unit: "ms", Note: note}.
			withBaseline("bare MQTT one-way p50", b50),
		row{Scenario: "notify", Figure: "publish → partner p99" + suffix, Value: n99, Unit: "ms"}.
			withBaseline("bare MQTT one-way p99", b99),
		row{Scenario: "notify", Figure: "events delivered/s" + suffix, Value: got, Unit: "/s"}.
			withBaseline("events offered/s", offered),
	}, nil
}

// paced calls publish(n) rate times a second for d, in 10 ms steps.
func paced(ctx context.Context, rate int, d time.Duration, publish func(n int)) error {
	t0 := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		el := time.Since(t0)
		if el >= d {
			return nil
		}
		for due := int(el.Seconds() * float64(rate)); n < due; n++ {
			publish(n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
