package hadiscovery

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

// A device config in the form of Home Assistant core's own test
// (tests/components/mqtt/test_discovery.py, TEST_DEVICE_CONFIG), with
// shared keys (origin, state_topic, qos) as the MQTT docs' example has.
const testDeviceConfig = `{
 "dev": {"ids": "ea334450945afc", "name": "Kitchen", "mf": "Bla electronics", "mdl": "xya"},
 "o": {"name": "bla2mqtt", "sw": "2.1"},
 "cmps": {
  "some_unique_component_id1": {"p": "sensor", "device_class": "temperature", "unit_of_measurement": "°C",
   "value_template": "{{ value_json.temperature }}", "unique_id": "temp01ae_t"},
  "some_unique_id2": {"p": "sensor", "device_class": "humidity", "unit_of_measurement": "%",
   "value_template": "{{ value_json.humidity }}", "unique_id": "temp01ae_h"},
  "relay": {"p": "switch", "cmd_t": "kitchen/relay/set", "stat_t": "kitchen/relay", "unique_id": "relay01"},
  "bla1": {"platform": "holodeck", "topic": "x"}
 },
 "state_topic": "sensorBedroom/state",
 "qos": 2
}`

func TestParseDeviceConfigSharesKeysAndParsesEachComponent(t *testing.T) {
	const topic = "homeassistant/device/kitchen01/config"
	comps, err := ParseDeviceConfig(topic, []byte(testDeviceConfig))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]DeviceComponent{}
	for _, c := range comps {
		byID[c.ID] = c
	}
	if len(byID) != 4 {
		t.Fatalf("components %v", comps)
	}
	temp := byID["some_unique_component_id1"]
	if temp.Err != nil || temp.Entity.ConfigTopic != topic+"#some_unique_component_id1" ||
		temp.Entity.StateTopics()[0] != "sensorBedroom/state" || DeviceKey(temp.Entity) != "ea334450945afc" || temp.Entity.qos() != 2 {
		t.Fatalf("temperature component %+v", temp)
	}
	relay := byID["relay"]
	if relay.Err != nil || relay.Entity.StateTopics()[0] != "kitchen/relay" {
		t.Fatalf("relay: own state topic must win over the shared one: %+v", relay)
	}
	if bad := byID["bla1"]; bad.Err == nil || !strings.Contains(bad.Err.Error(), `unsupported component "holodeck"`) {
		t.Errorf("unknown platform: %+v", bad)
	}
	var ents []*Entity
	for _, c := range comps {
		if c.Entity != nil {
			ents = append(ents, c.Entity)
		}
	}
	d, err := BuildDevice(ents)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "mqtt-ea334450945afc" || d.Name != "Kitchen" || d.Category != device.CategorySwitch || len(d.Properties) != 3 {
		t.Errorf("device %+v", d)
	}
	st, _ := DecodeState(temp.Entity, "sensorBedroom/state", []byte(`{"temperature":23.2,"humidity":43.7}`))
	if st["currentTemperature"] != device.Float(23.2) {
		t.Errorf("state %v", st)
	}
}

func TestParseDeviceConfigRemovals(t *testing.T) {
	const topic = "homeassistant/device/kitchen01/config"
	if _, err := ParseDeviceConfig(topic, nil); !errors.Is(err, ErrRemoved) {
		t.Errorf("empty payload: %v, want ErrRemoved", err)
	}
	comps, err := ParseDeviceConfig(topic, []byte(`{"dev":{"ids":"x"},"cmps":{"a":{"p":"sensor"},"b":{"p":"sensor","stat_t":"s"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !comps[0].Removed || comps[0].Entity != nil || comps[1].Removed || comps[1].Entity == nil {
		t.Errorf("components %+v", comps)
	}
}

func TestParseDeviceConfigRefusesInvalid(t *testing.T) {
	tests := []struct{ name, topic, payload, want string }{
		{"no cmps", "homeassistant/device/x/config", `{"dev":{"ids":"x"}}`, "cmps (components) must be an object"},
		{"no device", "homeassistant/device/x/config", `{"cmps":{}}`, "needs a device block"},
		{"not JSON", "homeassistant/device/x/config", `{`, "invalid JSON"},
		{"not a device topic", "homeassistant/sensor/x/config", `{}`, "not a device discovery topic"},
		{"too many components", "homeassistant/device/x/config",
			`{"dev":{"ids":"x"},"cmps":{` + manyComponents(MaxDeviceComponents+1) + `}}`, "exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDeviceConfig(tt.topic, []byte(tt.payload))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func manyComponents(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"c%d":{"p":"sensor"}`, i)
	}
	return b.String()
}
