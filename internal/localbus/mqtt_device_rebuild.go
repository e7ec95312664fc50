package localbus

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery"
)

// Building a device costs O(N) in its N entities (and writes the whole
// description to the store), so doing it for every config that arrives
// made a device announced with N entities cost O(N²): minutes of CPU for a
// few thousand, again at every start when the broker replays them. Configs
// are therefore tracked at once but their device is rebuilt after a short
// pause, once for all the configs of a burst: rebuildDelay plus ten times
// what its last rebuild cost, so that rebuilding a big device takes at most
// about a tenth of the time while its configs keep coming, and a burst of N
// configs costs a bounded number of O(N) rebuilds.
const rebuildDelay = 100 * time.Millisecond

// rebuildCounter counts device builds (tests pin that a burst costs few).
type rebuildCounter = atomic.Uint64

// deviceRebuild is a device's rebuild schedule (under procMu).
type deviceRebuild struct {
	scheduled bool
	cost      time.Duration // of the last rebuild
}

// markDirty schedules td's rebuild unless one is pending. procMu is held.
// Once ctx ends no rebuild starts: the client stops.
func (d *discovery) markDirty(ctx context.Context, td *trackedDevice) {
	if td.rebuild.scheduled {
		return
	}
	td.rebuild.scheduled = true
	time.AfterFunc(rebuildDelay+10*td.rebuild.cost, func() {
		d.procMu.Lock()
		defer d.procMu.Unlock()
		if td.rebuild.scheduled && ctx.Err() == nil {
			d.rebuild(ctx, td)
		}
	})
}

// flushRebuilds rebuilds every device with a pending rebuild now (on
// shutdown, so that what was announced is stored).
func (d *discovery) flushRebuilds(ctx context.Context) {
	d.procMu.Lock()
	defer d.procMu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(d.devices)) {
		if td := d.devices[key]; td.rebuild.scheduled {
			d.rebuild(ctx, td)
		}
	}
}

// stash keeps the state of an entity its device's binding does not include
// yet; the rebuild reports it. Called by state workers.
func (d *discovery) stash(te *trackedEntity, local map[string]device.Value) {
	d.stashMu.Lock()
	if te.stash == nil {
		te.stash = make(map[string]device.Value, len(local))
	}
	maps.Copy(te.stash, local)
	d.stashMu.Unlock()
}

// rebuild builds and upserts td from its entities, or removes it when none
// is left. procMu is held.
func (d *discovery) rebuild(ctx context.Context, td *trackedDevice) {
	td.rebuild.scheduled = false
	if len(td.entities) == 0 {
		d.tabMu.Lock()
		delete(d.devices, td.key)
		delete(d.byID, td.id)
		d.tabMu.Unlock()
		if err := d.m.hub.RemoveDevice(ctx, td.id); err != nil && device.CodeOf(err) != device.CodeDeviceNotFound {
			d.m.log.Error("MQTT device not removed", "device", td.id, "err", err)
		}
		return
	}
	start := time.Now()
	d.rebuilds.Add(1)
	dev, bind := d.build(ctx, td)
	if dev == nil {
		return
	}
	d.tabMu.Lock()
	td.bind = bind
	d.tabMu.Unlock()
	for _, te := range td.entities {
		te.built = true
	}
	upsert := d.m.hub.UpsertDevice
	online, known := d.online(td)
	if dev.Online = online; !known {
		upsert = d.m.hub.UpsertDeviceUnconfirmed
	}
	if err := upsert(ctx, dev); err != nil {
		// A full or failing disk: try again later. New entities stay
		// unbound, their state stashed, until the device is stored.
		d.m.log.Error("MQTT device not stored; will retry", "device", td.id, "err", err)
		td.rebuild.cost = max(time.Since(start), time.Second)
		d.markDirty(ctx, td)
		return
	}
	// State that arrived before the entities were bound.
	d.stashMu.Lock()
	for _, te := range td.entities {
		if te.bound {
			continue
		}
		te.bound = true
		if len(te.stash) > 0 {
			if props := bind.ToDevice(te.e.ConfigTopic, te.stash); len(props) > 0 {
				d.m.hub.ReportState(td.id, props, time.Now())
			}
		}
		te.stash = nil
	}
	d.stashMu.Unlock()
	td.rebuild.cost = time.Since(start)
}

// build makes td's device from all its entities. When they do not combine
// (rare: each is checked alone when tracked), the device is built from the
// last good set adding the new entities one at a time, and those that break
// it are refused and dropped. It returns nil when nothing could be built.
func (d *discovery) build(ctx context.Context, td *trackedDevice) (*device.Device, *hadiscovery.Binding) {
	ents := make([]*hadiscovery.Entity, 0, len(td.entities))
	for _, te := range td.entities {
		ents = append(ents, te.e)
	}
	dev, bind, err := hadiscovery.BuildDeviceBinding(ents)
	if err != nil {
		ents = ents[:0]
		var fresh []*trackedEntity
		for _, te := range td.entities {
			if te.built {
				ents = append(ents, te.e)
			} else {
				fresh = append(fresh, te)
			}
		}
		slices.SortFunc(fresh, func(a, b *trackedEntity) int { return strings.Compare(a.e.ConfigTopic, b.e.ConfigTopic) })
		for _, te := range fresh {
			if err := hadiscovery.CheckDevice(append(ents, te.e)); err != nil {
				d.refuseTracked(te, err)
				continue
			}
			ents = append(ents, te.e)
		}
		if len(ents) == 0 {
			d.rebuild(ctx, td) // nothing left: remove the device
			return nil, nil
		}
		if dev, bind, err = hadiscovery.BuildDeviceBinding(ents); err != nil {
			d.m.log.Error("MQTT device not rebuilt", "device", td.id, "err", err)
			return nil, nil
		}
	}
	return dev, bind
}

// refuseTracked drops an entity the rebuild found unusable with its
// device's others, and records why.
func (d *discovery) refuseTracked(te *trackedEntity, err error) {
	topic := te.e.ConfigTopic
	d.dropRoutes(te)
	d.tabMu.Lock()
	delete(d.entities, topic)
	te.dev.entities.remove(topic)
	reason := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "hadiscovery: "), topic+": ")
	if rec := d.seen[topic]; rec != nil {
		rec.Status, rec.Reason = StatusRefused, reason
	}
	d.tabMu.Unlock()
	d.m.refused.Add(1)
	d.m.log.Warn("MQTT discovery config refused", "topic", topic, "reason", reason)
}
