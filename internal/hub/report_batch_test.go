package hub

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

// ReportStates applies each report as ReportState would, in order, and
// writes and announces only what changed.
func TestReportStatesAppliesEachReportInOrder(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		reports     []StateReport
		wantChanged int
		wantState   map[string]map[string]device.Value // device → properties checked
		wantWritten int                                // store rows after Flush
		wantEvents  int                                // StateChanged events
	}{
		{
			name: "two devices, later report of a property wins",
			reports: []StateReport{
				{DeviceID: "l1", Props: map[string]device.Value{"brightness": device.Int(10)}, At: at},
				{DeviceID: "l2", Props: map[string]device.Value{"power": device.Bool(true)}, At: at},
				{DeviceID: "l1", Props: map[string]device.Value{"brightness": device.Int(20)}, At: at},
			},
			wantChanged: 3,
			wantState: map[string]map[string]device.Value{
				"l1": {"brightness": device.Int(20)}, "l2": {"power": device.Bool(true)},
			},
			wantWritten: 2, // coalesced by the writer's window: l1.brightness, l2.power
			wantEvents:  3,
		},
		{
			name: "unknown device, undeclared property, null and unchanged values are skipped",
			reports: []StateReport{
				{DeviceID: "nope", Props: map[string]device.Value{"brightness": device.Int(1)}, At: at},
				{DeviceID: "l1", Props: map[string]device.Value{"colour": device.Int(1), "power": device.Value{}}, At: at},
				{DeviceID: "l1", Props: map[string]device.Value{"brightness": device.Int(5)}, At: at},
				{DeviceID: "l1", Props: map[string]device.Value{"brightness": device.Int(5)}, At: at},
			},
			wantChanged: 1,
			wantState:   map[string]map[string]device.Value{"l1": {"brightness": device.Int(5)}},
			wantWritten: 1,
			wantEvents:  1,
		},
		{
			name:        "no reports",
			wantChanged: 0,
			wantState:   map[string]map[string]device.Value{"l1": {}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, s := newHub(t, time.Second)
			ctx := context.Background()
			for _, id := range []string{"l1", "l2"} {
				if err := h.UpsertDevice(ctx, light(id)); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			w0 := h.Stats().Writer.Changes
			r0 := h.Stats().Reports
			sub := h.Subscribe(64, StateChanged)
			defer sub.Close()
			if got := h.ReportStates(tc.reports); got != tc.wantChanged {
				t.Errorf("ReportStates = %d reports changed something, want %d", got, tc.wantChanged)
			}
			if got := h.Stats().Reports - r0; got != uint64(len(tc.reports)) {
				t.Errorf("reports counted = %d, want %d", got, len(tc.reports))
			}
			for id, want := range tc.wantState {
				d, _ := h.Device(id)
				for name, v := range want {
					if !d.State[name].Equal(v) {
						t.Errorf("%s.%s = %v, want %v", id, name, d.State[name], v)
					}
				}
				if len(want) > 0 && !d.UpdatedAt.Equal(at) {
					t.Errorf("%s updated at %v, want %v", id, d.UpdatedAt, at)
				}
			}
			if err := h.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if got := h.Stats().Writer.Changes - w0; got != uint64(tc.wantChanged) {
				t.Errorf("changes handed to the writer = %d, want %d", got, tc.wantChanged)
			}
			for id, want := range tc.wantState {
				d, err := s.Device(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				for name, v := range want {
					if !d.State[name].Equal(v) {
						t.Errorf("stored %s.%s = %v, want %v", id, name, d.State[name], v)
					}
				}
			}
			events := 0
			for len(sub.C) > 0 {
				ev := <-sub.C
				if ev.Type != StateChanged || len(ev.State) == 0 {
					t.Errorf("event %+v, want a StateChanged with state", ev)
				}
				events++
			}
			if events != tc.wantEvents {
				t.Errorf("%d StateChanged events, want %d", events, tc.wantEvents)
			}
		})
	}
}

// With no consumer of StateChanged events the hub builds none: a batch of
// reports costs no allocation in the hub (the MQTT ingest path).
func TestReportStatesWithoutStateConsumersAllocatesNothing(t *testing.T) {
	// AllocsPerRun counts every goroutine's allocations. The writer's window
	// and interval are an hour so that it only gathers what the hub queues
	// while the loop runs: with a zero window it committed each change as
	// it came, and under -race on a loaded machine those commits' own
	// allocations (~200 each) showed up as the hub's.
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(ctx, Options{Store: s, CommandTimeout: time.Second,
		Writer: store.WriterOptions{Window: time.Hour, FlushInterval: time.Hour, Tick: make(chan time.Time)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); s.Close() })
	if err := h.UpsertDevice(ctx, light("l1")); err != nil {
		t.Fatal(err)
	}
	other := h.Subscribe(8, DeviceAdded) // consumers of other types do not count
	defer other.Close()
	props := map[string]device.Value{"brightness": device.Int(0)}
	rs := []StateReport{{DeviceID: "l1", Props: props}}
	i := int64(0)
	allocs := testing.AllocsPerRun(200, func() {
		i++
		props["brightness"] = device.Int(i % 100)
		h.ReportStates(rs)
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per ReportStates, want 0", allocs)
	}
	if !h.events.wants(DeviceAdded) || h.events.wants(StateChanged) {
		t.Errorf("wanted mask %b: want DeviceAdded only", h.events.wanted.Load())
	}
	all := h.Subscribe(8)
	if !h.events.wants(StateChanged) {
		t.Error("a consumer of every type does not count as wanting StateChanged")
	}
	all.Close()
	if h.events.wants(StateChanged) {
		t.Error("StateChanged still wanted after its consumer closed")
	}
}
