// Package hub is the agent's in-process core: the registry of devices over
// the store, the stream of state-change events, and command dispatch to the
// local bus drivers with confirmation and timeout.
package hub

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

// Options configure a Hub.
type Options struct {
	Store *store.Store
	// Writer options for the state writer the hub owns (coalescing window,
	// transaction hook).
	Writer store.WriterOptions
	// CommandTimeout is how long Control waits for a device to confirm
	// (default 5 s).
	CommandTimeout time.Duration
	Logger         *slog.Logger
}

// Hub holds the devices and routes state in and commands out.
type Hub struct {
	st      *store.Store
	w       *store.Writer
	log     *slog.Logger
	timeout time.Duration
	events  *broadcaster

	descMu  sync.Mutex // serialises description changes (upsert, remove)
	mu      sync.RWMutex
	devices map[string]*entry
	drivers map[string]Driver

	reports, changes, commands, timeouts atomic.Uint64
	changeBufs                           sync.Pool // *[]store.Change, ReportStates' scratch
}

type entry struct {
	dev     *device.Device
	waiters []*waiter
	// told is the online flag last written and announced: what the store
	// holds and subscribers (partners) believe. dev.Online differs from it
	// only while the device is unconfirmed after a start.
	told bool
}

// failWaiters ends every command waiting on the device with code;
// under h.mu.
func (e *entry) failWaiters(code device.Code, msg string) {
	for _, w := range e.waiters {
		w.finish(&device.Error{Code: code, DeviceID: e.dev.ID, Message: msg})
	}
	e.waiters = nil
}

// New loads the registry from the store and starts the state writer.
// The hub is a resource, not a Run(ctx) component: every component reports
// state to it until it has stopped, so its writer must outlive them all;
// the agent closes it after its components returned (see runAgent).
func New(ctx context.Context, opts Options) (*Hub, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("hub: no store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 5 * time.Second
	}
	if opts.Writer.Logger == nil {
		opts.Writer.Logger = opts.Logger
	}
	ds, err := opts.Store.Devices(ctx)
	if err != nil {
		return nil, fmt.Errorf("hub: load devices: %w", err)
	}
	h := &Hub{
		st: opts.Store, log: opts.Logger, timeout: opts.CommandTimeout, events: newBroadcaster(),
		devices: make(map[string]*entry, len(ds)), drivers: map[string]Driver{},
	}
	for _, d := range ds {
		h.devices[d.ID] = &entry{dev: d, told: d.Online}
	}
	h.changeBufs.New = func() any { return new([]store.Change) }
	h.w = opts.Store.NewWriter(opts.Writer)
	return h, nil
}

// Close writes pending state and ends every event subscription.
func (h *Hub) Close() error {
	err := h.w.Close()
	h.events.closeAll()
	return err
}

// Flush waits until all state reported so far is committed.
func (h *Hub) Flush(ctx context.Context) error { return h.w.Flush(ctx) }

// Subscribe returns a new consumer of the event stream with the given
// buffer size (default 256), receiving only the given event types (all
// when none are given): state changes are the bulk of the stream, and a
// consumer that ignores them should not be woken for each.
func (h *Hub) Subscribe(buffer int, types ...EventType) *Subscription {
	return h.events.subscribe(buffer, types)
}

// Len is the number of devices.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.devices)
}

// Devices returns copies of all devices, ordered by id.
func (h *Hub) Devices() []*device.Device {
	h.mu.RLock()
	out := make([]*device.Device, 0, len(h.devices))
	for _, e := range h.devices {
		out = append(out, e.dev.Clone())
	}
	h.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Device returns a copy of one device.
func (h *Hub) Device(id string) (*device.Device, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	e, ok := h.devices[id]
	if !ok {
		return nil, false
	}
	return e.dev.Clone(), true
}

// View calls fn with the live device under the registry's read lock, for
// hot paths that must not copy. fn must not keep or modify d.
func (h *Hub) View(id string, fn func(d *device.Device)) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	e, ok := h.devices[id]
	if ok {
		fn(e.dev)
	}
	return ok
}

// UpsertDevice adds a device or updates its description. Known state is
// kept; state in d is merged over it. An unchanged description writes
// nothing (discovery configs are republished often; flash is finite).
func (h *Hub) UpsertDevice(ctx context.Context, d *device.Device) error {
	return h.upsert(ctx, d, false)
}

// UpsertDeviceUnconfirmed is UpsertDevice for a device whose source does
// not know yet whether it is online (MQTT availability not heard since the
// start): d.Online is ignored, the device is offline to requests, and what
// is stored and announced about its reachability stays what partners were
// last told, as with SetSourceUnconfirmed. A new device is offline.
func (h *Hub) UpsertDeviceUnconfirmed(ctx context.Context, d *device.Device) error {
	return h.upsert(ctx, d, true)
}

func (h *Hub) upsert(ctx context.Context, d *device.Device, unconfirmed bool) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	d = d.Clone()
	// descMu orders description changes of all devices; the registry lock
	// is never held across database I/O, so the state writer's hooks may
	// read the registry while a description is being written.
	h.descMu.Lock()
	defer h.descMu.Unlock()
	h.mu.RLock()
	old, exists := h.devices[d.ID]
	var same, told bool
	if exists {
		same, told = sameDescription(old.dev, d), old.told
	}
	h.mu.RUnlock()
	if unconfirmed {
		d.Online = told // stored with the description: what partners were told
	}
	if same {
		// Also when the flag is unchanged: an unconfirmed device is
		// confirmed (or announced offline) by its next description.
		if unconfirmed {
			h.unconfirm(d.ID)
		} else {
			h.SetOnline(d.ID, d.Online)
		}
		if len(d.State) > 0 {
			h.ReportState(d.ID, d.State, d.UpdatedAt)
		}
		return nil
	}
	if d.State == nil {
		d.State = map[string]device.Value{}
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = time.Now()
	}
	// The description's row carries the online flag: an older online
	// change still waiting for the writer's flush interval must not
	// overwrite it afterwards.
	if exists {
		if err := h.w.Flush(ctx); err != nil {
			h.log.Warn("flush before a description change failed", "device", d.ID, "err", err)
		}
	}
	if err := h.st.UpsertDevice(ctx, d); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	// Only state the caller brought that differs from what is known is
	// written and announced; the rest of the state is unchanged.
	changed := map[string]device.Value{}
	h.mu.Lock()
	if cur, ok := h.devices[d.ID]; ok {
		// Merge at the last moment: state reported while the description
		// was being written is kept.
		merged := cur.dev.State
		for k, v := range d.State {
			if old, had := merged[k]; !had || !old.Equal(v) {
				changed[k] = v
			}
			merged[k] = v
		}
		d.State = merged
		if d.UpdatedAt.Before(cur.dev.UpdatedAt) {
			d.UpdatedAt = cur.dev.UpdatedAt
		}
		if unconfirmed {
			cur.unconfirm(d.ID)
		}
		cur.dev, cur.told = d, d.Online
	} else {
		h.devices[d.ID] = &entry{dev: d, told: d.Online}
		for k, v := range d.State {
			changed[k] = v
		}
	}
	snapshot := d.Clone()
	if unconfirmed {
		d.Online = false // to requests, until the source says
	}
	h.mu.Unlock()
	for name, v := range changed {
		h.w.Put(store.Change{DeviceID: d.ID, Property: name, Value: v, At: snapshot.UpdatedAt})
	}
	typ := DeviceAdded
	if exists {
		typ = DeviceUpdated
	}
	h.events.publish(Event{Type: typ, DeviceID: d.ID, Device: snapshot, At: time.Now()})
	return nil
}

func sameDescription(a, b *device.Device) bool {
	return a.Name == b.Name && a.Category == b.Category && a.Manufacturer == b.Manufacturer &&
		a.Model == b.Model && a.Room == b.Room && a.Source == b.Source &&
		bytes.Equal(a.Binding, b.Binding) && reflect.DeepEqual(a.Properties, b.Properties)
}

// RemoveDevice deletes a device. Commands waiting on it fail with
// DEVICE_NOT_FOUND.
func (h *Hub) RemoveDevice(ctx context.Context, id string) error {
	h.descMu.Lock()
	defer h.descMu.Unlock()
	h.mu.RLock()
	_, ok := h.devices[id]
	h.mu.RUnlock()
	if !ok {
		return &device.Error{Code: device.CodeDeviceNotFound, DeviceID: id, Message: "device " + id + " not found"}
	}
	// Commit pending state first; state written after the delete is
	// dropped by the writer (it only writes rows of existing devices).
	if err := h.w.Flush(ctx); err != nil {
		h.log.Warn("flush before device removal failed", "device", id, "err", err)
	}
	if err := h.st.DeleteDevice(ctx, id); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	var last *device.Device
	h.mu.Lock()
	if e, ok := h.devices[id]; ok {
		last = e.dev.Clone()
		delete(h.devices, id)
		e.failWaiters(device.CodeDeviceNotFound, "device "+id+" was removed")
	}
	h.mu.Unlock()
	// The last description goes with the event, so consumers decide who
	// may hear of the removal on the device as it was (exposure).
	h.events.publish(Event{Type: DeviceRemoved, DeviceID: id, Device: last, At: time.Now()})
	return nil
}

// ReportState records state a device reported. Only properties the device
// declares are taken, and only changed values are written and announced.
// It reports whether anything changed. props is only read, never kept:
// the MQTT ingest path reuses its maps for every message.
func (h *Hub) ReportState(id string, props map[string]device.Value, at time.Time) bool {
	r := [1]StateReport{{DeviceID: id, Props: props, At: at}}
	return h.reportStates(r[:]) > 0
}

// Stats are the hub's counters for metrics.
type Stats struct {
	Devices        int
	Reports        uint64 // ReportState calls
	Changes        uint64 // property values that changed
	Commands       uint64
	Timeouts       uint64
	Writer         store.WriterStats
	WriterLastErr  error
	EventConsumers int
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.events.mu.RLock()
	consumers := len(h.events.subs)
	h.events.mu.RUnlock()
	return Stats{
		Devices: h.Len(), Reports: h.reports.Load(), Changes: h.changes.Load(),
		Commands: h.commands.Load(), Timeouts: h.timeouts.Load(),
		Writer: h.w.Stats(), WriterLastErr: h.w.LastError(), EventConsumers: consumers,
	}
}

// SetWriterHooks installs the state writer's hooks (see store.Hooks): the
// notifier takes every published batch and writes its undelivered events
// in the state's transactions.
func (h *Hub) SetWriterHooks(hooks store.Hooks) { h.w.SetHooks(hooks) }
