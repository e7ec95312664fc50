package localbus

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// FuzzDiscoveryMessages feeds a config and then a state message, both from
// outside, through the client's message handling into a real hub and
// store (no broker: subscriptions are only queued). Nothing may panic, and
// a removal must leave no device behind.
func FuzzDiscoveryMessages(f *testing.F) {
	f.Add("homeassistant/light/lamp/config", []byte(`{"schema":"json","command_topic":"l/set","state_topic":"l","brightness":true}`),
		"l", []byte(`{"state":"ON","brightness":128}`))
	f.Add("homeassistant/sensor/n/t/config", []byte(`{"state_topic":"s","value_template":"{{ value_json.t | float }}","device_class":"temperature"}`),
		"s", []byte("\xff\x00"))
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), store.FileName), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	h, err := hub.New(ctx, hub.Options{Store: st})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	m, err := NewMQTT(MQTTOptions{Hub: h, HubID: "fuzz", Broker: "tcp://127.0.0.1:1", MaxEntities: 100})
	if err != nil {
		f.Fatal(err)
	}
	m.disc.connected = true
	f.Fuzz(func(t *testing.T, configTopic string, config []byte, stateTopic string, state []byte) {
		// handle queues non-config topics for the workers, which this test
		// does not run: message is what they call.
		deliver := func(topic string, payload []byte) {
			if _, ok := m.disc.configTopic(topic); ok {
				m.disc.handle(ctx, topic, payload)
			} else {
				m.disc.message(topic, payload)
			}
		}
		deliver(configTopic, config)
		deliver(stateTopic, state)
		deliver(stateTopic, state)
		deliver(configTopic, nil) // removal
		// Devices are rebuilt after a pause (mqtt_device_rebuild.go); a
		// rebuild an earlier input scheduled may have run in between. What
		// is pending now is what the client would do next.
		m.disc.flushRebuilds(ctx)
		m.disc.procMu.RLock()
		_, tracked := m.disc.entities[configTopic]
		m.disc.procMu.RUnlock()
		if tracked {
			t.Fatalf("entity %q still tracked after its removal", configTopic)
		}
		if h.Len() != 0 {
			t.Fatalf("%d devices left after removing the only config", h.Len())
		}
	})
}
