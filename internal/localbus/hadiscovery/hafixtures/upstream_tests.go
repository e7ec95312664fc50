package hafixtures

import "github.com/hubagent/hubagent/internal/device"

// UpstreamTests returns configs taken from the publishers' own test
// suites — Home Assistant core tests/components/mqtt (test_camera,
// test_event, test_siren, test_tag, test_device_tracker, test_update,
// test_discovery) and Zigbee2MQTT test/extensions/homeassistant.test.ts —
// with the messages those tests fire and the publishes they assert.
// Until issue 16b they were only parsed; now they are replayed like the
// rest. Home Assistant's tests each run alone, so they share topic names
// (test-topic, state-topic); here, where all share one broker, those
// topics carry the test's name as a first level (test_event/test-topic).
func UpstreamTests() []Fixture {
	// What a Zigbee2MQTT group of colour-temperature bulbs reports.
	const z2mGroupState = `{"state":"ON","brightness":127,"color_mode":"color_temp","color_temp":300}`
	z2mAvail := `"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}]`
	return []Fixture{
		{
			// test_camera.py DEFAULT_CONFIG; test_run_camera_setup fires
			// "beer" on the topic. Images are not served: the agent
			// reports when one arrived.
			Name:        "HA core test_camera DEFAULT_CONFIG",
			Topic:       "homeassistant/camera/test/config",
			Config:      `{"name":"test","topic":"test/1"}`,
			StateTopic:  "test/1",
			State:       "beer",
			WantEventAt: []string{"imageAt"},
		},
		{
			// test_event.py DEFAULT_CONFIG; test_setting_event_value_via_mqtt_message.
			Name:        "HA core test_event DEFAULT_CONFIG",
			Topic:       "homeassistant/event/test/config",
			Config:      `{"name":"test","state_topic":"test_event/test-topic","event_types":["press"]}`,
			StateTopic:  "test_event/test-topic",
			State:       `{"event_type": "press", "duration": "short" }`,
			WantState:   map[string]device.Value{"test": device.String("press")},
			WantEventAt: []string{"testAt"},
		},
		{
			// test_siren.py DEFAULT_CONFIG (optimistic, no state topic):
			// without a command template Home Assistant publishes
			// {"state": <payload_on>} (test_sending_mqtt_commands_and_optimistic).
			Name:        "HA core test_siren DEFAULT_CONFIG",
			Topic:       "homeassistant/siren/test/config",
			Config:      `{"name":"test","command_topic":"test_siren/test-topic"}`,
			Write:       map[string]device.Value{"power": device.Bool(true)},
			WantPublish: []Publish{{Topic: "test_siren/test-topic", Payload: `{"state":"ON"}`}},
		},
		{
			// test_siren.py test_controlling_state_and_attributes_with_json_message_without_template.
			Name:  "HA core test_siren JSON state without template",
			Topic: "homeassistant/siren/test2/config",
			Config: `{"name":"test","state_topic":"test_siren/state-topic","command_topic":"test_siren/command-topic","payload_on":"beer on",
				"payload_off":"beer off","available_tones":["ping","siren","bell"]}`,
			StateTopic: "test_siren/state-topic",
			State:      `{"state":"beer on", "tone": "bell", "duration": 10, "volume_level": 0.5 }`,
			WantState: map[string]device.Value{"power": device.Bool(true), "tone": device.String("bell"),
				"duration": device.Int(10), "volume": device.Int(50)},
			Write:       map[string]device.Value{"power": device.Bool(false)},
			WantPublish: []Publish{{Topic: "test_siren/command-topic", Payload: `{"state":"beer off"}`}},
		},
		{
			// test_tag.py DEFAULT_CONFIG_JSON and DEFAULT_TAG_SCAN_JSON.
			Name:  "HA core test_tag DEFAULT_CONFIG_JSON",
			Topic: "homeassistant/tag/0AFFD2/bla/config",
			Config: `{"device":{"identifiers":["0AFFD2"],"connections":[["mac","02:5b:26:a8:dc:12"]],"manufacturer":"Whatever","name":"Beer",
				"model":"Glass","sw_version":"0.1-beta"},"topic":"foobar/tag_scanned","value_template":"{{ value_json.PN532.UID }}"}`,
			StateTopic:  "foobar/tag_scanned",
			State:       `{"Time":"2020-09-28T17:02:10","PN532":{"UID":"E9F35959", "DATA":"ILOVETASMOTA"}}`,
			WantState:   map[string]device.Value{"tag": device.String("E9F35959")},
			WantEventAt: []string{"tagAt"},
		},
		{
			// test_device_tracker.py, test_setting_device_tracker_value_via_mqtt_message.
			Name:       "HA core test_device_tracker",
			Topic:      "homeassistant/device_tracker/bla/config",
			Config:     `{"name":"test","state_topic":"test_device_tracker/test-topic"}`,
			StateTopic: "test_device_tracker/test-topic",
			State:      "home",
			WantState:  map[string]device.Value{"home": device.Bool(true), "location": device.String("home")},
		},
		{
			// test_update.py DEFAULT_CONFIG: installed and latest version
			// on one topic, so one plain payload sets both.
			Name:       "HA core test_update DEFAULT_CONFIG",
			Topic:      "homeassistant/update/test/config",
			Config:     `{"name":"test","state_topic":"test_update/test-topic","latest_version_topic":"test_update/test-topic"}`,
			StateTopic: "test_update/test-topic",
			State:      "1.9.0",
			WantState:  map[string]device.Value{"installedVersion": device.String("1.9.0"), "latestVersion": device.String("1.9.0")},
		},
		{
			// test_discovery.py TEST_DEVICE_CONFIG, component bla1.
			Name:  "HA core test_discovery TEST_DEVICE_CONFIG bla1 trigger",
			Topic: "homeassistant/device_automation/0AFFD2/bla1/config",
			Config: `{"device":{"identifiers":["0AFFD2"],"name":"test_device"},"o":{"name":"Foo2Mqtt","sw":"1.50.0","url":"https://www.foo2mqtt.io"},
				"automation_type":"trigger","payload":"short_press","topic":"foobar/triggers/button1","type":"button_short_press","subtype":"button_1"}`,
			StateTopic:  "foobar/triggers/button1",
			State:       "short_press",
			WantEventAt: []string{"buttonShortPressButton1"},
		},
		{
			Name:  "zigbee2mqtt test device trigger action_double",
			Topic: "homeassistant/device_automation/0x0017880104e45522/action_double/config",
			Config: `{"automation_type":"trigger","type":"action","subtype":"double","payload":"double","topic":"zigbee2mqtt/weather_sensor_renamed/action",
				"origin":{"name":"Zigbee2MQTT"},"device":{"identifiers":["zigbee2mqtt_0x0017880104e45522"],"name":"weather_sensor_renamed",
				"model":"Temperature and humidity sensor","model_id":"WSDCGQ11LM","manufacturer":"Aqara","via_device":"zigbee2mqtt_bridge_0x00124b00120144ae"}}`,
			StateTopic:  "zigbee2mqtt/weather_sensor_renamed/action",
			State:       "double",
			WantEventAt: []string{"actionDouble"},
		},
		{
			Name:  "zigbee2mqtt test weather sensor pressure",
			Topic: "homeassistant/sensor/0x0017880104e45522/pressure/config",
			Config: `{"unit_of_measurement":"hPa","device_class":"atmospheric_pressure","state_class":"measurement","value_template":"{{ value_json[\"pressure\"] }}",
				"state_topic":"zigbee2mqtt/weather_sensor","enabled_by_default":true,"object_id":"weather_sensor_pressure","unique_id":"0x0017880104e45522_pressure_zigbee2mqtt",
				"device":{"identifiers":["zigbee2mqtt_0x0017880104e45522"],"name":"weather_sensor"},` + z2mAvail + `}`,
			StateTopic: "zigbee2mqtt/weather_sensor",
			State:      `{"temperature":-0.85,"humidity":58.3,"pressure":1011.4,"battery":100,"linkquality":120}`,
			WantState:  map[string]device.Value{"pressure": device.Float(1011.4)},
		},
		{
			Name:  "zigbee2mqtt test weather sensor humidity",
			Topic: "homeassistant/sensor/0x0017880104e45522/humidity/config",
			Config: `{"unit_of_measurement":"%","device_class":"humidity","state_class":"measurement","value_template":"{{ value_json[\"humidity\"] }}",
				"state_topic":"zigbee2mqtt/weather_sensor","object_id":"weather_sensor_humidity","unique_id":"0x0017880104e45522_humidity_zigbee2mqtt",
				"device":{"identifiers":["zigbee2mqtt_0x0017880104e45522"],"name":"weather_sensor"}}`,
			StateTopic: "zigbee2mqtt/weather_sensor",
			State:      `{"temperature":-0.85,"humidity":58.3,"pressure":1011.4,"battery":100,"linkquality":120}`,
			WantState:  map[string]device.Value{"humidity": device.Float(58.3)},
		},
		{
			Name:  "zigbee2mqtt test group switch",
			Topic: "homeassistant/switch/1221051039810110150109113116116_9/switch/config",
			Config: `{` + z2mAvail + `,"command_topic":"zigbee2mqtt/ha_discovery_group/set","device":{"identifiers":["zigbee2mqtt_1221051039810110150109113116116_9"],
				"name":"HA Discovery Group"},"name":null,"payload_off":"OFF","payload_on":"ON","state_topic":"zigbee2mqtt/ha_discovery_group",
				"unique_id":"9_switch_zigbee2mqtt","value_template":"{{ value_json[\"state\"] }}"}`,
			StateTopic:  "zigbee2mqtt/ha_discovery_group",
			State:       z2mGroupState,
			WantState:   map[string]device.Value{"power": device.Bool(true)},
			Write:       map[string]device.Value{"power": device.Bool(false)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/ha_discovery_group/set", Payload: "OFF"}},
			// The group's light (next) is the device's main entity.
			DeviceNames: map[string]string{"power": "power_switch"},
		},
		{
			// The group's light: the same group, device and state topic
			// as the group switch above.
			Name:  "zigbee2mqtt test group light",
			Topic: "homeassistant/light/1221051039810110150109113116116_9/light/config",
			Config: `{` + z2mAvail + `,"brightness":true,"brightness_scale":254,"command_topic":"zigbee2mqtt/ha_discovery_group/set",
				"device":{"identifiers":["zigbee2mqtt_1221051039810110150109113116116_9"],"name":"HA Discovery Group"},"max_mireds":454,"min_mireds":250,
				"name":null,"schema":"json","state_topic":"zigbee2mqtt/ha_discovery_group","supported_color_modes":["xy","color_temp"],"effect":true,
				"effect_list":["blink","breathe"],"unique_id":"9_light_zigbee2mqtt"}`,
			StateTopic: "zigbee2mqtt/ha_discovery_group",
			State:      z2mGroupState,
			WantState: map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(50),
				"colorTemperature": device.Int(3333)},
			Write:       map[string]device.Value{"brightness": device.Int(50)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/ha_discovery_group/set", Payload: `{"state":"ON","brightness":127}`}},
		},
		{
			Name:  "zigbee2mqtt test bulb_enddevice light",
			Topic: "homeassistant/light/0x0017880104e45553/light/config",
			Config: `{` + z2mAvail + `,"brightness":true,"brightness_scale":254,"command_topic":"zigbee2mqtt/bulb_enddevice/set",
				"device":{"identifiers":["zigbee2mqtt_0x0017880104e45553"],"manufacturer":"Sengled","model":"Element classic (A19)","model_id":"E11-G13","name":"bulb_enddevice"},
				"name":null,"schema":"json","state_topic":"zigbee2mqtt/bulb_enddevice","supported_color_modes":["brightness"],"unique_id":"0x0017880104e45553_light_zigbee2mqtt"}`,
			StateTopic:  "zigbee2mqtt/bulb_enddevice",
			State:       `{"state":"OFF","brightness":254,"linkquality":80}`,
			WantState:   map[string]device.Value{"power": device.Bool(false), "brightness": device.Int(100)},
			Write:       map[string]device.Value{"power": device.Bool(true)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/bulb_enddevice/set", Payload: `{"state":"ON"}`}},
		},
		{
			// Zigbee2MQTT's experimental event entity: its value_template
			// needs for loops, namespace(), zip() and selectattr/rejectattr,
			// which the agent does not implement (bounded templates, see
			// hatemplate): the entity is refused with the construct named.
			// Zigbee2MQTT also announces these buttons as device triggers
			// (the action_double fixture above), which work.
			Name:  "zigbee2mqtt test event entity (experimental_event_entities, pattern list abbreviated)",
			Topic: "homeassistant/event/0x0017880104e45520/action/config",
			Config: `{"event_types":["single","double","triple","quadruple","hold","release"],"name":"Action","state_topic":"zigbee2mqtt/button",
				"unique_id":"0x0017880104e45520_action_zigbee2mqtt","value_template":"{% set patterns = [] %}{% set action_value = value_json.action|default('') %}{% set ns = namespace(r=[('action', action_value)]) %}{% for p in patterns %}{% endfor %}{{dict.from_keys(ns.r)|to_json}}",
				"device":{"identifiers":["zigbee2mqtt_0x0017880104e45520"],"name":"button"}}`,
			Refused: "event: property action dropped: value_template: hatemplate: at offset",
		},
	}
}
