package localbus

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery"
	"github.com/hubagent/hubagent/internal/testutil"
)

// TestDeviceDiscoveryMixedWithPerEntityDiscovery drives device-based
// discovery (cmps) through a real broker next to a per-entity config:
// state, a command, removal of one component, removal of the device.
func TestDeviceDiscoveryMixedWithPerEntityDiscovery(t *testing.T) {
	t.Parallel() // its own broker and store
	broker := testutil.StartMosquitto(t)
	r := newRig(t, broker, "", rigOptions{})
	rec := record(t, broker, "kitchen/+/set")
	const devTopic = "homeassistant/device/kitchen01/config"
	full := `{"dev":{"ids":"ea334450945afc","name":"Kitchen"},"o":{"name":"bla2mqtt"},"state_topic":"kitchen/state",
	 "cmps":{"temp":{"p":"sensor","device_class":"temperature","unit_of_measurement":"°C","value_template":"{{ value_json.temperature }}","unique_id":"k_t"},
	  "hum":{"p":"sensor","device_class":"humidity","unit_of_measurement":"%","value_template":"{{ value_json.humidity }}","unique_id":"k_h"},
	  "relay":{"p":"switch","command_topic":"kitchen/relay/set","value_template":"{{ value_json.relay }}","unique_id":"k_r"}}}`
	r.publish(devTopic, full, true)
	// A per-entity config of another device on the same broker.
	r.publish("homeassistant/switch/plug1/config", `{"name":"Plug","stat_t":"plug1/state","cmd_t":"plug1/set","uniq_id":"plug1"}`, true)
	r.publish("kitchen/state", `{"temperature":21.5,"humidity":58.3,"relay":"ON"}`, true)
	r.publish("plug1/state", "OFF", true)
	const id = "mqtt-ea334450945afc"
	testutil.Eventually(t, 5*time.Second, "the cmps device's state", func() bool {
		return hasState(r.device(id), map[string]device.Value{"currentTemperature": device.Float(21.5),
			"humidity": device.Float(58.3), "power": device.Bool(true)})
	})
	testutil.Eventually(t, 5*time.Second, "the per-entity plug", func() bool {
		return hasState(r.device(hadiscovery.DeviceID("unique_id:plug1")), map[string]device.Value{"power": device.Bool(false)})
	})
	if d := r.device(id); d.Category != device.CategorySwitch || d.Name != "Kitchen" {
		t.Errorf("device %+v", d)
	}
	if _, err := r.mq.Send(context.Background(), r.device(id), map[string]device.Value{"power": device.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the relay command", func() bool { return rec.len() >= 1 })
	if got := rec.take(); !slices.Equal(got, []string{"kitchen/relay/set OFF"}) {
		t.Errorf("published %q", got)
	}

	// One component reduced to its platform: removed, the rest stays.
	r.publish(devTopic, `{"dev":{"ids":"ea334450945afc","name":"Kitchen"},"state_topic":"kitchen/state",
	 "cmps":{"temp":{"p":"sensor","device_class":"temperature","unit_of_measurement":"°C","value_template":"{{ value_json.temperature }}","unique_id":"k_t"},
	  "hum":{"p":"sensor"},
	  "relay":{"p":"switch","command_topic":"kitchen/relay/set","value_template":"{{ value_json.relay }}","unique_id":"k_r"}}}`, true)
	testutil.Eventually(t, 5*time.Second, "humidity gone", func() bool {
		d := r.device(id)
		return d != nil && !slices.ContainsFunc(d.Properties, func(p device.Property) bool { return p.Name == "humidity" }) &&
			slices.ContainsFunc(d.Properties, func(p device.Property) bool { return p.Name == "currentTemperature" })
	})
	listed := map[string]string{}
	for _, dc := range r.mq.Discovered() {
		listed[dc.Topic] = dc.Status
	}
	if listed[devTopic+"#temp"] != StatusAccepted || listed[devTopic] != StatusAccepted || listed[devTopic+"#hum"] != "" {
		t.Errorf("discovered %v", listed)
	}

	// The whole device removed; the per-entity device stays.
	r.publish(devTopic, "", true)
	testutil.Eventually(t, 5*time.Second, "device removed", func() bool { return r.device(id) == nil })
	if r.device(hadiscovery.DeviceID("unique_id:plug1")) == nil {
		t.Error("the per-entity device went with it")
	}
	for _, dc := range r.mq.Discovered() {
		if dc.Topic == devTopic || len(dc.Topic) > len(devTopic) && dc.Topic[:len(devTopic)+1] == devTopic+"#" {
			t.Errorf("still listed: %+v", dc)
		}
	}
}
