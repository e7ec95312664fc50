package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// Driver delivers commands to the devices of one source (mqtt, wled, ...).
type Driver interface {
	// Send hands a validated write to the device. It returns once the
	// command left the hub; the device confirms later by reporting state
	// through ReportState. optimistic is true when the device will never
	// report (no state topic): the hub then takes the write as confirmed.
	// Errors should carry a device.Code (DEVICE_OFFLINE, DEVICE_BUSY).
	Send(ctx context.Context, d *device.Device, props map[string]device.Value) (optimistic bool, err error)
}

// Expecter is implemented by drivers whose devices report a written value
// back in a different form (a colour temperature written in kelvin travels
// as mireds and comes back rounded). Expect returns, for the properties it
// knows, the value the device will report after the write; the hub waits
// for those instead of the exact values written. It runs under the hub's
// lock and must not call back into the hub.
type Expecter interface {
	Expect(d *device.Device, props map[string]device.Value) map[string]device.Value
}

// RegisterDriver routes commands for devices of the given source to drv.
func (h *Hub) RegisterDriver(source string, drv Driver) {
	h.mu.Lock()
	h.drivers[source] = drv
	h.mu.Unlock()
}

// waiter is one Control call waiting for a device to report the state it
// asked for.
type waiter struct {
	want map[string]device.Value
	done chan error // buffered(1); receives nil once matched
	sent bool       // set under the hub lock once finished
}

func (w *waiter) finish(err error) {
	if !w.sent {
		w.sent = true
		w.done <- err
	}
}

// checkWaiters completes the waiters whose wanted state is now reported.
// The hub lock is held.
func (e *entry) checkWaiters() {
	if len(e.waiters) == 0 {
		return
	}
	kept := e.waiters[:0]
	for _, w := range e.waiters {
		if matches(e.dev.State, w.want) {
			w.finish(nil)
			continue
		}
		kept = append(kept, w)
	}
	clear(e.waiters[len(kept):])
	e.waiters = kept
}

func matches(state, want map[string]device.Value) bool {
	for k, v := range want {
		if cur, ok := state[k]; !ok || !cur.Equal(v) {
			return false
		}
	}
	return true
}

// Timeout returns the default confirmation timeout.
func (h *Hub) Timeout() time.Duration { return h.timeout }

// Check validates a write without sending it: DEVICE_NOT_FOUND, then
// PROPERTY_NOT_SUPPORTED, PROPERTY_READ_ONLY or VALUE_OUT_OF_RANGE, then
// DEVICE_OFFLINE. It returns the values coerced to the properties' types.
func (h *Hub) Check(id string, props map[string]device.Value) (map[string]device.Value, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	e, ok := h.devices[id]
	if !ok {
		return nil, &device.Error{Code: device.CodeDeviceNotFound, DeviceID: id, Message: "device " + id + " not found"}
	}
	vals, err := e.dev.CheckWrite(props)
	if err != nil {
		return nil, err
	}
	if !e.dev.Online {
		return nil, &device.Error{Code: device.CodeDeviceOffline, DeviceID: id, Message: "device " + id + " is offline"}
	}
	return vals, nil
}

// Control validates a write, sends it through the device's driver and waits
// until the device reports the requested state or the timeout (the hub's
// default, or ctx's deadline if sooner) passes. It returns the device's
// state after confirmation. A command that was sent but not confirmed in
// time is DEVICE_TIMEOUT with a message saying it was sent: it may still
// take effect.
func (h *Hub) Control(ctx context.Context, id string, props map[string]device.Value) (map[string]device.Value, error) {
	h.commands.Add(1)
	vals, err := h.Check(id, props)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	e, ok := h.devices[id]
	if !ok {
		h.mu.Unlock()
		return nil, &device.Error{Code: device.CodeDeviceNotFound, DeviceID: id, Message: "device " + id + " not found"}
	}
	drv := h.drivers[e.dev.Source]
	snapshot := e.dev.Clone()
	// Only readable properties can be confirmed; write-only ones (a cover's
	// motion, a button) are done once sent.
	want := make(map[string]device.Value, len(vals))
	for k, v := range vals {
		if p, _ := e.dev.Property(k); p.Access.Readable() {
			want[k] = v
		}
	}
	if ex, ok := drv.(Expecter); ok && drv != nil {
		for k, v := range ex.Expect(snapshot, want) {
			if _, asked := want[k]; asked {
				want[k] = v
			}
		}
	}
	w := &waiter{want: want, done: make(chan error, 1)}
	// Register before sending: a fast device can answer before Send returns.
	e.waiters = append(e.waiters, w)
	h.mu.Unlock()
	if drv == nil {
		h.dropWaiter(id, w)
		return nil, &device.Error{Code: device.CodeDeviceOffline, DeviceID: id,
			Message: fmt.Sprintf("device %s: no driver for source %q is running", id, snapshot.Source)}
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	optimistic, err := drv.Send(ctx, snapshot, vals)
	if err != nil {
		h.dropWaiter(id, w)
		var de *device.Error
		if errors.As(err, &de) {
			return nil, err
		}
		if ctx.Err() != nil {
			h.timeouts.Add(1)
			return nil, &device.Error{Code: device.CodeDeviceTimeout, DeviceID: id,
				Message: fmt.Sprintf("device %s: command could not be sent in time: %v", id, err)}
		}
		return nil, fmt.Errorf("hub: send to %s: %w", id, err)
	}
	if optimistic {
		h.dropWaiter(id, w)
		h.ReportState(id, want, time.Now())
		return h.state(id), nil
	}
	if len(want) == 0 {
		h.dropWaiter(id, w)
		return h.state(id), nil
	}
	h.mu.Lock()
	if e, ok := h.devices[id]; ok {
		e.checkWaiters() // the device may already be in the wanted state
	}
	h.mu.Unlock()
	select {
	case err := <-w.done:
		if err != nil {
			return nil, err
		}
		return h.state(id), nil
	case <-ctx.Done():
		h.dropWaiter(id, w)
		// The waiter may have finished between ctx.Done and dropWaiter.
		select {
		case err := <-w.done:
			if err == nil {
				return h.state(id), nil
			}
			return nil, err
		default:
		}
		h.timeouts.Add(1)
		return nil, &device.Error{Code: device.CodeDeviceTimeout, DeviceID: id,
			Message: fmt.Sprintf("device %s: command sent, but the device did not confirm within %s", id, time.Since(start).Round(time.Millisecond))}
	}
}

func (h *Hub) dropWaiter(id string, w *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.devices[id]
	if !ok {
		return
	}
	for i, x := range e.waiters {
		if x == w {
			e.waiters = append(e.waiters[:i], e.waiters[i+1:]...)
			break
		}
	}
}

func (h *Hub) state(id string) map[string]device.Value {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if e, ok := h.devices[id]; ok {
		out := make(map[string]device.Value, len(e.dev.State))
		for k, v := range e.dev.State {
			out[k] = v
		}
		return out
	}
	return nil
}
