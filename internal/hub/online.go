package hub

import (
	"slices"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/store"
)

// SetOnline records a device's reachability. It is written and
// announced only when it differs from what was last announced, so
// confirming an unconfirmed device (SetSourceUnconfirmed) that is still
// where it was is silent.
func (h *Hub) SetOnline(id string, online bool) {
	h.mu.Lock()
	e, ok := h.devices[id]
	if !ok || (e.dev.Online == online && e.told == online) {
		h.mu.Unlock()
		return
	}
	wasOnline, announce := e.dev.Online, e.told != online
	e.dev.Online, e.told = online, online
	if !online && wasOnline {
		e.failWaiters(device.CodeDeviceOffline, "device "+id+" went offline")
	}
	h.mu.Unlock()
	if announce {
		h.announceOnline(id, online, time.Now())
	}
}

// announceOnline writes a device's new reachability and announces it.
func (h *Hub) announceOnline(id string, online bool, now time.Time) {
	h.w.Put(store.Change{DeviceID: id, Value: device.Bool(online), At: now})
	h.events.publish(Event{Type: OnlineChanged, DeviceID: id, Online: online, At: now})
}

// SetSourceUnconfirmed marks every device of one source offline until its
// source confirms it with SetOnline, without writing or announcing that:
// at start, no request may see a device online before its source has
// said so, but the devices have not changed, and a partner told "offline"
// then "online" on every restart of the agent would be told wrong. What
// the source then reports is compared with the last announced flag, so a
// device that went offline while the agent was down is announced offline.
func (h *Hub) SetSourceUnconfirmed(source string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, e := range h.devices {
		if e.dev.Source == source {
			e.unconfirm(id)
		}
	}
}

// AnnounceUnconfirmed announces offline the devices of one source that are
// still unconfirmed (SetSourceUnconfirmed) but were last announced online:
// their source has had its chance to confirm them, so they are not where
// they were (an MQTT device whose discovery config vanished while the
// agent was down). It returns how many it announced.
func (h *Hub) AnnounceUnconfirmed(source string) int {
	h.mu.Lock()
	var ids []string
	for id, e := range h.devices {
		if e.dev.Source == source && !e.dev.Online && e.told {
			e.told = false
			ids = append(ids, id)
		}
	}
	h.mu.Unlock()
	slices.Sort(ids)
	now := time.Now()
	for _, id := range ids {
		h.announceOnline(id, false, now)
	}
	return len(ids)
}

// SetSourceOnline marks every device of one source online or offline (for
// example all MQTT devices when the broker connection drops).
func (h *Hub) SetSourceOnline(source string, online bool) {
	h.mu.RLock()
	var ids []string
	for id, e := range h.devices {
		if e.dev.Source == source && (e.dev.Online != online || e.told != online) {
			ids = append(ids, id)
		}
	}
	h.mu.RUnlock()
	slices.Sort(ids)
	for _, id := range ids {
		h.SetOnline(id, online)
	}
}

// unconfirm makes one device offline to requests without writing or
// announcing it (see SetSourceUnconfirmed).
func (h *Hub) unconfirm(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.devices[id]; ok {
		e.unconfirm(id)
	}
}

// unconfirm makes the device id of e offline to requests, ending the
// commands waiting on it; the caller holds the hub's lock.
func (e *entry) unconfirm(id string) {
	if e.dev.Online {
		e.dev.Online = false
		e.failWaiters(device.CodeDeviceOffline, "device "+id+" is not confirmed online yet")
	}
}
