package hub

import (
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

// StateReport is one device's reported state, for ReportStates. Props is
// only read, never kept.
type StateReport struct {
	DeviceID string
	Props    map[string]device.Value
	// At is when the state was reported; zero means now.
	At time.Time
}

// maxReportBatch bounds the reports applied under one hold of the registry
// lock, so that readers (QueryStatus) wait for at most this many.
const maxReportBatch = 256

// ReportStates records several devices' reported state at once, each as
// ReportState would, in order: one registry lock, one hand-off of every
// change to the state writer, and no allocation when no consumer wants
// StateChanged events. The MQTT client reports the messages it took
// together this way. It returns how many reports changed something.
func (h *Hub) ReportStates(rs []StateReport) int {
	changed := 0
	for len(rs) > 0 {
		n := min(len(rs), maxReportBatch)
		changed += h.reportStates(rs[:n])
		rs = rs[n:]
	}
	return changed
}

func (h *Hub) reportStates(rs []StateReport) int {
	// Counted once applied, queued to the writer and announced: a reader
	// of the counter (hubbench) may take the state as in the hub.
	defer h.reports.Add(uint64(len(rs)))
	buf := h.changeBufs.Get().(*[]store.Change)
	changes := (*buf)[:0]
	wantEvents := h.events.wants(StateChanged)
	var events []Event
	var now time.Time
	reportsChanged := 0
	h.mu.Lock()
	for i := range rs {
		r := &rs[i]
		e, ok := h.devices[r.DeviceID]
		if !ok {
			continue
		}
		at := r.At
		if at.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			at = now
		}
		first := len(changes)
		for name, v := range r.Props {
			if v.IsNull() {
				continue
			}
			if old, had := e.dev.State[name]; had && old.Equal(v) {
				continue
			}
			if _, declared := e.dev.Property(name); !declared {
				continue
			}
			e.dev.State[name] = v
			changes = append(changes, store.Change{DeviceID: r.DeviceID, Property: name, Value: v, At: at})
		}
		if len(changes) > first {
			e.dev.UpdatedAt = at
			reportsChanged++
			if wantEvents {
				state := make(map[string]device.Value, len(changes)-first)
				for _, c := range changes[first:] {
					state[c.Property] = c.Value
				}
				events = append(events, Event{Type: StateChanged, DeviceID: r.DeviceID, State: state, At: at})
			}
		}
		e.checkWaiters()
	}
	h.mu.Unlock()
	if len(changes) > 0 {
		h.changes.Add(uint64(len(changes)))
		if err := h.w.PutBatch(changes); err != nil {
			h.log.Debug("state not stored", "changes", len(changes), "err", err)
		}
	}
	for _, ev := range events {
		h.events.publish(ev)
	}
	clear(changes) // the pooled buffer keeps no values alive
	*buf = changes[:0]
	h.changeBufs.Put(buf)
	return reportsChanged
}
