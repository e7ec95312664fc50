package localbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/localbus/hadiscovery"
)

// deviceConfig handles a device-based discovery config
// (<prefix>/device/<id>/config, Home Assistant 2024.11+): each component
// of its cmps is tracked as an entity under "<topic>#<component id>", next
// to per-entity configs on the same broker. A component reduced to its
// platform, or left out of a newer config, is removed; an empty payload
// removes them all. Called under procMu like config.
func (d *discovery) deviceConfig(ctx context.Context, topic string, payload []byte) {
	now := time.Now()
	prefix := topic + "#"
	if len(payload) == 0 {
		d.untrackComponents(ctx, prefix, nil)
		d.forgetSeen(topic)
		return
	}
	h := payloadHash(payload)
	rec := d.touchSeen(topic, now)
	if rec != nil && rec.hash == h {
		if rec.Status == StatusRefused {
			d.m.refused.Add(1)
			return
		}
		for t, te := range d.entities {
			if strings.HasPrefix(t, prefix) && te.gen != d.gen {
				te.gen = d.gen
				d.refreshOnline(te.dev)
			}
		}
		return
	}
	if rec == nil && len(d.seen) >= 2*d.m.opts.MaxEntities {
		d.m.refused.Add(1)
		return
	}
	if rec == nil {
		rec = &seenConfig{DiscoveredConfig: DiscoveredConfig{Topic: topic, Component: "device", FirstSeen: now, LastSeen: now}}
		d.tabMu.Lock()
		d.seen[topic] = rec
		d.tabMu.Unlock()
	}
	comps, err := hadiscovery.ParseDeviceConfig(topic, payload)
	if err != nil {
		d.tabMu.Lock()
		rec.hash, rec.Status = h, StatusRefused
		rec.Reason = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "hadiscovery: "), topic+": ")
		d.tabMu.Unlock()
		d.m.refused.Add(1)
		d.m.log.Warn("MQTT discovery config refused", "topic", topic, "reason", rec.Reason)
		return
	}
	keep := map[string]bool{}
	accepted, refused := 0, 0
	for _, c := range comps {
		if c.Removed {
			continue
		}
		keep[c.ConfigTopic] = true
		err := c.Err
		if err == nil && d.entities[c.ConfigTopic] == nil && len(d.entities) >= d.m.opts.MaxEntities {
			err = errors.New("too many MQTT entities tracked (limit reached)")
		}
		if err == nil {
			err = d.track(ctx, c.Entity)
		}
		crec := &seenConfig{DiscoveredConfig: DiscoveredConfig{Topic: c.ConfigTopic, Component: c.Platform, FirstSeen: now, LastSeen: now}}
		d.tabMu.Lock()
		if old := d.seen[c.ConfigTopic]; old != nil {
			crec.FirstSeen = old.FirstSeen
		}
		if err != nil {
			refused++
			crec.Status = StatusRefused
			crec.Reason = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "hadiscovery: "), c.ConfigTopic+": ")
		} else {
			accepted++
			crec.Status, crec.Warnings, crec.DeviceID = StatusAccepted, c.Entity.Warnings, d.entities[c.ConfigTopic].dev.id
		}
		d.seen[c.ConfigTopic] = crec
		d.tabMu.Unlock()
		if err != nil {
			d.m.refused.Add(1)
			d.m.log.Warn("MQTT discovery component refused", "topic", c.ConfigTopic, "reason", crec.Reason)
		}
	}
	d.untrackComponents(ctx, prefix, keep)
	d.tabMu.Lock()
	rec.hash, rec.Status, rec.Reason = h, StatusAccepted, fmt.Sprintf("%d components accepted, %d refused", accepted, refused)
	for _, te := range d.entities {
		if strings.HasPrefix(te.e.ConfigTopic, prefix) {
			rec.DeviceID = te.dev.id
			break
		}
	}
	d.tabMu.Unlock()
}

// untrackComponents removes the tracked components of a device config
// that keep does not list (all of them when keep is nil).
func (d *discovery) untrackComponents(ctx context.Context, prefix string, keep map[string]bool) {
	var gone []*trackedEntity
	for t, te := range d.entities {
		if strings.HasPrefix(t, prefix) && !keep[t] {
			gone = append(gone, te)
		}
	}
	for _, te := range gone {
		d.m.log.Info("MQTT device component removed", "topic", te.e.ConfigTopic, "device", te.dev.id)
		d.untrack(ctx, te)
	}
	d.tabMu.Lock()
	for t := range d.seen {
		if strings.HasPrefix(t, prefix) && !keep[t] {
			delete(d.seen, t)
		}
	}
	d.tabMu.Unlock()
}
