package hadiscovery

import (
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

func mustParse(t *testing.T, topic, config string) *Entity {
	t.Helper()
	e, err := ParseConfig(topic, []byte(config))
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", topic, err)
	}
	return e
}

func TestBuildDeviceGroupsXiaomiSensor(t *testing.T) {
	dev := `"device":{"identifiers":["zigbee2mqtt_0x00158d0001a2b3c4"],"manufacturer":"Aqara","model":"WSDCGQ11LM","name":"Bedroom sensor","suggested_area":"Bedroom"}`
	ents := []*Entity{
		mustParse(t, "homeassistant/sensor/0x00158d0001a2b3c4/humidity/config",
			`{`+dev+`,"device_class":"humidity","state_topic":"zigbee2mqtt/Bedroom sensor","unit_of_measurement":"%","value_template":"{{ value_json.humidity }}"}`),
		mustParse(t, "homeassistant/sensor/0x00158d0001a2b3c4/temperature/config",
			`{`+dev+`,"device_class":"temperature","state_topic":"zigbee2mqtt/Bedroom sensor","unit_of_measurement":"°C","value_template":"{{ value_json.temperature }}"}`),
		mustParse(t, "homeassistant/sensor/0x00158d0001a2b3c4/battery/config",
			`{`+dev+`,"device_class":"battery","state_topic":"zigbee2mqtt/Bedroom sensor","unit_of_measurement":"%","value_template":"{{ value_json.battery }}"}`),
	}
	d, err := BuildDevice(ents)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "mqtt-zigbee2mqtt_0x00158d0001a2b3c4" || d.Category != device.CategorySensor || d.Name != "Bedroom sensor" ||
		d.Manufacturer != "Aqara" || d.Model != "WSDCGQ11LM" || d.Room != "Bedroom" || d.Source != "mqtt" {
		t.Errorf("device = %+v", d)
	}
	var names []string
	for _, p := range d.Properties {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "battery,humidity,currentTemperature" {
		t.Errorf("properties %s", got)
	}
	b, err := ParseBinding(d.Binding)
	if err != nil {
		t.Fatal(err)
	}
	state, _ := DecodeState(ents[1], "zigbee2mqtt/Bedroom sensor", []byte(`{"temperature":21.5,"humidity":40}`))
	if got := b.ToDevice(ents[1].ConfigTopic, state); !got["currentTemperature"].Equal(device.Float(21.5)) || len(got) != 1 {
		t.Errorf("ToDevice = %v", got)
	}
}

func TestBuildDeviceDisambiguatesCollidingNames(t *testing.T) {
	dev := `"dev":{"ids":["relay-2ch"],"name":"Relay"}`
	l1 := mustParse(t, "homeassistant/switch/relay/l1/config", `{`+dev+`,"cmd_t":"relay/l1/set","stat_t":"relay/l1"}`)
	l2 := mustParse(t, "homeassistant/switch/relay/l2/config", `{`+dev+`,"cmd_t":"relay/l2/set","stat_t":"relay/l2"}`)
	light := mustParse(t, "homeassistant/light/relay/lamp/config", `{`+dev+`,"cmd_t":"relay/lamp/set"}`)
	d, err := BuildDevice([]*Entity{l2, l1, light})
	if err != nil {
		t.Fatal(err)
	}
	if d.Category != device.CategoryLight {
		t.Errorf("category %s, want light (the main entity)", d.Category)
	}
	var names []string
	for _, p := range d.Properties {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "power,power_l1,power_l2" {
		t.Errorf("properties %s", got)
	}
	b, _ := ParseBinding(d.Binding)
	split, err := b.Split(map[string]device.Value{"power_l2": device.Bool(true), "power": device.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if v := split[l2.ConfigTopic]["power"]; !v.Equal(device.Bool(true)) || len(split) != 2 {
		t.Errorf("Split = %v", split)
	}
	pubs, err := EncodeCommand(l2, split[l2.ConfigTopic])
	if err != nil || fmtPubs(pubs) != "relay/l2/set ON\n" {
		t.Errorf("routed command %q, %v", fmtPubs(pubs), err)
	}
	if _, err := b.Split(map[string]device.Value{"nope": device.Bool(true)}); device.CodeOf(err) != device.CodePropertyNotSupported {
		t.Errorf("unknown property: %v", err)
	}
	if got := b.ToDevice(l2.ConfigTopic, map[string]device.Value{"power": device.Bool(true)}); !got["power_l2"].Equal(device.Bool(true)) {
		t.Errorf("ToDevice = %v", got)
	}
}

func TestBuildDeviceRefusesMixedDevices(t *testing.T) {
	a := mustParse(t, "homeassistant/switch/a/config", `{"cmd_t":"a","dev":{"ids":"A"}}`)
	b := mustParse(t, "homeassistant/switch/b/config", `{"cmd_t":"b","dev":{"ids":"B"}}`)
	if _, err := BuildDevice([]*Entity{a, b}); err == nil {
		t.Error("BuildDevice mixed two devices")
	}
}

func TestDeviceKeyFallbacks(t *testing.T) {
	tests := []struct {
		topic, config, wantKey, wantID string
	}{
		{"homeassistant/switch/a/config", `{"cmd_t":"a","dev":{"ids":["plug-1","x"]}}`, "plug-1", "mqtt-plug-1"},
		{"homeassistant/switch/a/config", `{"cmd_t":"a","dev":{"cns":[["mac","AA:BB:CC:DD:EE:FF"]]}}`, "mac:aa:bb:cc:dd:ee:ff", "mqtt-mac_aa_bb_cc_dd_ee_ff-"},
		{"homeassistant/switch/a/config", `{"cmd_t":"a","uniq_id":"u1"}`, "unique_id:u1", "mqtt-unique_id_u1-"},
		{"homeassistant/switch/a/config", `{"cmd_t":"a"}`, "topic:homeassistant/switch/a/config", "mqtt-topic_homeassistant_switch_a_config-"},
	}
	for _, tt := range tests {
		e := mustParse(t, tt.topic, tt.config)
		if got := DeviceKey(e); got != tt.wantKey {
			t.Errorf("DeviceKey = %q, want %q", got, tt.wantKey)
		}
		if got := DeviceID(DeviceKey(e)); !strings.HasPrefix(got, tt.wantID) {
			t.Errorf("DeviceID = %q, want prefix %q", got, tt.wantID)
		}
	}
}

func TestDeviceIDIsStableBoundedAndDistinct(t *testing.T) {
	long := strings.Repeat("k", 300)
	id := DeviceID(long)
	if len(id) > 128 || id != DeviceID(long) || id == DeviceID(long+"x") {
		t.Errorf("DeviceID(long) = %q", id)
	}
	if DeviceID("a:b") == DeviceID("a_b") {
		t.Error("sanitising made two keys collide")
	}
	for _, c := range DeviceID("ключ/é") {
		if !(c < 128 && (isAlnum(byte(c)) || c == '_' || c == '-' || c == '.')) {
			t.Errorf("id has %q", c)
		}
	}
}

func TestClimateCategory(t *testing.T) {
	ac := mustParse(t, "homeassistant/climate/ac/config", `{"mode_cmd_t":"m","modes":["off","cool","heat"]}`)
	trv := mustParse(t, "homeassistant/climate/trv/config", `{"mode_cmd_t":"m","modes":["off","heat"]}`)
	for _, tt := range []struct {
		e    *Entity
		want device.Category
	}{{ac, device.CategoryAirConditioner}, {trv, device.CategoryThermostat}} {
		d, err := BuildDevice([]*Entity{tt.e})
		if err != nil || d.Category != tt.want {
			t.Errorf("category %v, %v; want %s", d, err, tt.want)
		}
	}
}
