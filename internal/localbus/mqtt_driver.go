package localbus

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery"
)

// commandPart is the write for one entity of a device.
type commandPart struct {
	te    *trackedEntity
	props map[string]device.Value // entity-local names
	names map[string]string       // entity-local → device name
}

// split divides a device write by entity, under tabMu.
func (m *MQTT) split(d *device.Device, props map[string]device.Value) ([]commandPart, error) {
	m.disc.tabMu.RLock()
	defer m.disc.tabMu.RUnlock()
	td := m.disc.byID[d.ID]
	if td == nil || td.bind == nil {
		return nil, &device.Error{Code: device.CodeDeviceOffline, DeviceID: d.ID,
			Message: fmt.Sprintf("device %s has not been announced by the MQTT broker since the agent started", d.ID)}
	}
	byEntity, err := td.bind.Split(props)
	if err != nil {
		return nil, err
	}
	parts := make([]commandPart, 0, len(byEntity))
	for _, topic := range slices.Sorted(maps.Keys(byEntity)) {
		te := td.entities.get(topic)
		if te == nil {
			return nil, &device.Error{Code: device.CodeDeviceOffline, DeviceID: d.ID,
				Message: fmt.Sprintf("device %s: entity %s is gone", d.ID, topic)}
		}
		names := map[string]string{}
		for _, be := range td.bind.Entities {
			if be.ConfigTopic == topic {
				for devName, local := range be.Props.All() {
					names[local] = devName
				}
			}
		}
		parts = append(parts, commandPart{te: te, props: byEntity[topic], names: names})
	}
	return parts, nil
}

// withLastBrightness gives a write to a light that turns on by its
// brightness (any write but a power-off: in Home Assistant all are
// turn_on) the brightness the device last reported, as Home Assistant
// does (a reported 0 counts as none: full brightness then).
func withLastBrightness(d *device.Device, p commandPart) {
	if !hadiscovery.OnByBrightness(p.te.e) {
		return
	}
	if on, ok := p.props["power"].AsBool(); ok && !on {
		return
	}
	if _, ok := p.props["brightness"]; ok {
		return
	}
	if v, ok := d.State[p.names["brightness"]].AsInt(); ok && v > 0 {
		p.props["brightness"] = device.Int(v)
	}
}

// Send publishes a write (hub.Driver). Entities that never report state
// (optimistic) are confirmed at once: the whole write when all of them
// are, else by reporting their part as state here.
func (m *MQTT) Send(ctx context.Context, d *device.Device, props map[string]device.Value) (bool, error) {
	offline := func(msg string) error {
		return &device.Error{Code: device.CodeDeviceOffline, DeviceID: d.ID, Message: fmt.Sprintf("device %s: %s", d.ID, msg)}
	}
	c := m.currentClient()
	if c == nil || !m.connected.Load() || !c.IsConnectionOpen() {
		return false, offline("the MQTT broker is not connected")
	}
	parts, err := m.split(d, props)
	if err != nil {
		return false, err
	}
	var pubs []hadiscovery.Publish
	allOptimistic := true
	optimistic := map[string]device.Value{}
	for _, p := range parts {
		withLastBrightness(d, p)
		ps, err := hadiscovery.EncodeCommand(p.te.e, p.props)
		if err != nil {
			return false, err
		}
		pubs = append(pubs, ps...)
		if hadiscovery.Optimistic(p.te.e) {
			for local, v := range p.props {
				optimistic[p.names[local]] = v
			}
			for local, v := range hadiscovery.Expect(p.te.e, p.props) {
				optimistic[p.names[local]] = v
			}
		} else {
			allOptimistic = false
		}
	}
	for _, p := range pubs {
		tok := c.Publish(p.Topic, p.QoS, p.Retain, p.Payload)
		select {
		case <-tok.Done():
		case <-ctx.Done():
			return false, fmt.Errorf("localbus: mqtt publish to %s: %w", p.Topic, ctx.Err())
		}
		if err := tok.Error(); err != nil {
			if !c.IsConnectionOpen() {
				return false, offline("the MQTT broker connection was lost")
			}
			return false, fmt.Errorf("localbus: mqtt publish to %s: %w", p.Topic, err)
		}
	}
	if !allOptimistic && len(optimistic) > 0 {
		m.hub.ReportState(d.ID, optimistic, time.Now())
	}
	return allOptimistic, nil
}

// Expect returns the values the device will report after a write, for the
// properties that travel lossily (hub.Expecter). It runs under the hub's
// lock and only takes the table's read lock.
func (m *MQTT) Expect(d *device.Device, props map[string]device.Value) map[string]device.Value {
	parts, err := m.split(d, props)
	if err != nil {
		return nil
	}
	out := map[string]device.Value{}
	for _, p := range parts {
		for local, v := range hadiscovery.Expect(p.te.e, p.props) {
			if name, ok := p.names[local]; ok {
				out[name] = v
			}
		}
	}
	return out
}
