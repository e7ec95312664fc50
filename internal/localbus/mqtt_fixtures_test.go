package localbus

import (
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery/hafixtures"
)

// busFixture is one of hafixtures' real-world discovery configs (the
// fixtures of hadiscovery's parser tests: Zigbee2MQTT, Tasmota, ESPHome,
// Home Assistant docs), here played through a real broker.
type busFixture struct {
	name        string
	topic       string
	config      string
	stateTopic  string
	state       string
	wantState   map[string]device.Value
	write       map[string]device.Value
	wantPublish []string // "topic payload", in order
	wantEventAt []string // device names of properties holding an occurrence time
	refused     string   // a documented refusal: part of the reason
}

func busFixtures() []busFixture {
	var out []busFixture
	for _, fx := range hafixtures.All() {
		var pubs []string
		for _, p := range fx.WantPublish {
			pubs = append(pubs, p.Topic+" "+p.Payload)
		}
		var at []string
		for _, k := range fx.WantEventAt {
			if n, ok := fx.DeviceNames[k]; ok {
				k = n
			}
			at = append(at, k)
		}
		out = append(out, busFixture{name: fx.Name, topic: fx.Topic, config: fx.Config, stateTopic: fx.StateTopic,
			state: fx.State, wantState: rename(fx.WantState, fx.DeviceNames), write: rename(fx.Write, fx.DeviceNames), wantPublish: pubs,
			wantEventAt: at, refused: fx.Refused})
	}
	return out
}

// rename gives a fixture's entity-local values under the device's names.
func rename(m map[string]device.Value, names map[string]string) map[string]device.Value {
	if m == nil || names == nil {
		return m
	}
	out := make(map[string]device.Value, len(m))
	for k, v := range m {
		if n, ok := names[k]; ok {
			k = n
		}
		out[k] = v
	}
	return out
}
