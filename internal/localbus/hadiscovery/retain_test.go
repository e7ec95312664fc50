package hadiscovery

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery/hafixtures"
)

// z2mDevice returns the discovery configs Zigbee2MQTT publishes for one
// colour-temperature bulb: its json-schema light and a sensor entity
// (linkquality-like), sharing the device block, availability and state
// topic, as a real bridge does. n makes every device distinct.
func z2mDevice(n int) (topics, configs [2]string) {
	ieee := fmt.Sprintf("0x000b57fffe%06x", n)
	name := fmt.Sprintf("Lamp %d", n)
	dev := `"device":{"identifiers":["zigbee2mqtt_` + ieee + `"],"manufacturer":"IKEA",
		"model":"TRADFRI bulb E27 WS opal 980lm (LED1545G12)","name":"` + name + `","sw_version":"2.3.087",
		"via_device":"zigbee2mqtt_bridge_0x00124b00226f6f6b"},"origin":{"name":"Zigbee2MQTT","sw":"1.35.1",
		"url":"https://www.zigbee2mqtt.io"}`
	topics[0] = "homeassistant/light/" + ieee + "/light/config"
	configs[0] = `{` + hafixtures.Z2MAvail + `,"brightness":true,"brightness_scale":254,"color_mode":true,
		"command_topic":"zigbee2mqtt/` + name + `/set",` + dev + `,
		"json_attributes_topic":"zigbee2mqtt/` + name + `","max_mireds":454,"min_mireds":250,"name":null,
		"object_id":"lamp_` + ieee + `","schema":"json","state_topic":"zigbee2mqtt/` + name + `",
		"supported_color_modes":["color_temp"],"unique_id":"` + ieee + `_light_zigbee2mqtt"}`
	topics[1] = "homeassistant/sensor/" + ieee + "/linkquality/config"
	configs[1] = `{` + hafixtures.Z2MAvail + `,` + dev + `,"enabled_by_default":false,"entity_category":"diagnostic",
		"icon":"mdi:signal","name":"Linkquality","object_id":"lamp_` + ieee + `_linkquality","state_class":"measurement",
		"state_topic":"zigbee2mqtt/` + name + `","unique_id":"` + ieee + `_linkquality_zigbee2mqtt",
		"unit_of_measurement":"lqi","value_template":"{{ value_json.linkquality }}"}`
	return topics, configs
}

// retained is what the agent keeps per discovered device: its entities
// and the device built from them.
type retained struct {
	entities []*Entity
	devices  []*device.Device
}

// parseZ2MDevices parses n devices' configs and builds their devices.
func parseZ2MDevices(tb testing.TB, n int) *retained {
	r := &retained{}
	for i := range n {
		topics, configs := z2mDevice(i)
		var ents []*Entity
		for j := range topics {
			e, err := ParseConfig(topics[j], []byte(configs[j]))
			if err != nil {
				tb.Fatal(err)
			}
			ents = append(ents, e)
		}
		d, err := BuildDevice(ents)
		if err != nil {
			tb.Fatal(err)
		}
		r.entities = append(r.entities, ents...)
		r.devices = append(r.devices, d)
	}
	return r
}

func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRetainedEntities measures the heap that 1,000 Zigbee2MQTT
// devices (a json light and a sensor each) keep alive once parsed: the
// agent's idle footprint grows with it.
//
//	go test -run '^$' -bench RetainedEntities -benchtime 5x ./internal/localbus/hadiscovery
func BenchmarkRetainedEntities(b *testing.B) {
	const devices = 1000
	var total uint64
	for b.Loop() {
		before := heapAfterGC()
		r := parseZ2MDevices(b, devices)
		after := heapAfterGC()
		runtime.KeepAlive(r)
		if after > before {
			total += after - before
		}
	}
	b.ReportMetric(float64(total)/float64(b.N)/(2*devices), "retained-B/entity")
}

// TestRetainedEntitiesStillWork checks that the entities the benchmark
// keeps decode and encode after everything else was collected.
func TestRetainedEntitiesStillWork(t *testing.T) {
	r := parseZ2MDevices(t, 3)
	runtime.GC()
	light, sensor := r.entities[2], r.entities[3]
	got, err := DecodeState(light, "zigbee2mqtt/Lamp 1", []byte(`{"state":"ON","brightness":127,"color_temp":370,"linkquality":80}`))
	if err != nil || !equalState(got, map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(50),
		"colorTemperature": device.Int(2703)}) {
		t.Errorf("light DecodeState = %v, %v", got, err)
	}
	got, err = DecodeState(sensor, "zigbee2mqtt/Lamp 1", []byte(`{"linkquality":80}`))
	if err != nil || !equalState(got, map[string]device.Value{"linkquality": device.Float(80)}) {
		t.Errorf("sensor DecodeState = %v, %v", got, err)
	}
	pubs, err := EncodeCommand(light, map[string]device.Value{"power": device.Bool(false)})
	if err != nil || len(pubs) != 1 || pubs[0].Topic != "zigbee2mqtt/Lamp 1/set" || string(pubs[0].Payload) != `{"state":"OFF"}` {
		t.Errorf("EncodeCommand = %v, %v", pubs, err)
	}
	a := NewAvailability(light)
	if a.Online() || !a.Update("zigbee2mqtt/bridge/state", []byte(`{"state":"online"}`)) {
		t.Error("availability did not follow the bridge state")
	}
	if r.devices[1].ID != "mqtt-zigbee2mqtt_0x000b57fffe000001" || r.devices[1].Category != device.CategoryLight {
		t.Errorf("device = %s %s", r.devices[1].ID, r.devices[1].Category)
	}
}
