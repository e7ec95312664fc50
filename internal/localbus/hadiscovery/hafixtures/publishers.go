package hafixtures

import "github.com/hubagent/hubagent/internal/device"

// Publishers returns discovery configs as ESPHome, Z-Wave JS UI and
// Tasmota build them, transcribed from their sources (noted per group).
// Topics follow each publisher's own scheme; the state messages are what
// its code publishes; the expected publishes are what Home Assistant's
// MQTT integration sends for the same command (noted where it matters).
func Publishers() []Fixture {
	return append(append(esphome(), zwaveJSUI()...), tasmota()...)
}

// esphome: esphome/esphome, esphome/components/mqtt/ — send_discovery()
// in mqtt_cover.cpp, mqtt_fan.cpp, mqtt_climate.cpp and mqtt_switch.cpp,
// common keys from mqtt_component.cpp send_discovery_() (name, stat_t,
// cmd_t, avty_t, uniq_id "ESP<component><object id>", dev with ids = MAC,
// cns [["mac",…]]), abbreviations from mqtt_const.h (USE_MQTT_ABBREVIATIONS).
// Default topics are <topic prefix>/<component>/<object id>/<suffix>.
func esphome() []Fixture {
	dev := func(mac, name string) string {
		return `"dev":{"ids":"` + mac + `","name":"` + name + `","sw":"2024.6.1 (config hash 0x1a2b3c4d)","mdl":"esp32dev","mf":"Espressif","cns":[["mac","` + mac + `"]]}`
	}
	return []Fixture{
		{
			// mqtt_cover.cpp: with position support there is no stat_t;
			// pos_t/set_pos_t are position/state and position/command;
			// publish_state sends round(position*100).
			Name:  "ESPHome cover with position (mqtt_cover.cpp)",
			Topic: "homeassistant/cover/esp-blinds/living_room_blind/config",
			Config: `{"dev_cla":"shutter","pos_t":"esp-blinds/cover/living_room_blind/position/state",
				"set_pos_t":"esp-blinds/cover/living_room_blind/position/command","name":"Living Room Blind",
				"cmd_t":"esp-blinds/cover/living_room_blind/command","avty_t":"esp-blinds/status",
				"uniq_id":"ESPcoverliving_room_blind",` + dev("a4cf12aabbcc", "esp-blinds") + `}`,
			StateTopic: "esp-blinds/cover/living_room_blind/position/state",
			State:      "40",
			WantState:  map[string]device.Value{"position": device.Int(40)},
			// Home Assistant without set_position_template publishes
			// the position itself.
			Write:       map[string]device.Value{"position": device.Int(75)},
			WantPublish: []Publish{{Topic: "esp-blinds/cover/living_room_blind/position/command", Payload: "75"}},
		},
		{
			// mqtt_fan.cpp: speed levels as percentage topics with
			// spd_rng_max = supported_speed_count; oscillation topics.
			Name:  "ESPHome fan with speed levels (mqtt_fan.cpp)",
			Topic: "homeassistant/fan/esp-fan/ceiling_fan/config",
			Config: `{"osc_cmd_t":"esp-fan/fan/ceiling_fan/oscillation/command","osc_stat_t":"esp-fan/fan/ceiling_fan/oscillation/state",
				"pct_cmd_t":"esp-fan/fan/ceiling_fan/speed_level/command","pct_stat_t":"esp-fan/fan/ceiling_fan/speed_level/state",
				"spd_rng_max":3,"name":"Ceiling Fan","stat_t":"esp-fan/fan/ceiling_fan/state","cmd_t":"esp-fan/fan/ceiling_fan/command",
				"avty_t":"esp-fan/status","uniq_id":"ESPfanceiling_fan",` + dev("a4cf12ddeeff", "esp-fan") + `}`,
			StateTopic: "esp-fan/fan/ceiling_fan/speed_level/state",
			State:      "2",
			// Home Assistant: ranged_value_to_percentage((1, 3), 2) = 66;
			// percentage_to_ranged_value((1, 3), 34) = 1.02, ceil → 2.
			WantState:   map[string]device.Value{"fanSpeed": device.Int(66)},
			Write:       map[string]device.Value{"fanSpeed": device.Int(34)},
			WantPublish: []Publish{{Topic: "esp-fan/fan/ceiling_fan/speed_level/command", Payload: "2"}},
		},
		{
			// mqtt_climate.cpp: act_t (action), fan modes, modes sorted
			// auto, off, cool, heat, fan_only, dry; no stat_t/cmd_t.
			Name:  "ESPHome climate with action and fan modes (mqtt_climate.cpp)",
			Topic: "homeassistant/climate/esp-ac/living_ac/config",
			Config: `{"curr_temp_t":"esp-ac/climate/living_ac/current_temperature/state","mode_cmd_t":"esp-ac/climate/living_ac/mode/command",
				"mode_stat_t":"esp-ac/climate/living_ac/mode/state","modes":["auto","off","cool","heat","fan_only","dry"],
				"temp_cmd_t":"esp-ac/climate/living_ac/target_temperature/command","temp_stat_t":"esp-ac/climate/living_ac/target_temperature/state",
				"min_temp":16,"max_temp":30,"temp_step":1,"act_t":"esp-ac/climate/living_ac/action/state",
				"fan_mode_cmd_t":"esp-ac/climate/living_ac/fan_mode/command","fan_mode_stat_t":"esp-ac/climate/living_ac/fan_mode/state",
				"fan_modes":["auto","low","medium","high"],"name":"Living AC","avty_t":"esp-ac/status","uniq_id":"ESPclimateliving_ac",` + dev("a4cf12001122", "esp-ac") + `}`,
			StateTopic: "esp-ac/climate/living_ac/action/state",
			State:      "cooling",
			WantState:  map[string]device.Value{"hvacAction": device.String("cooling")},
			// Home Assistant's set_fan_mode publishes the mode as is.
			Write:       map[string]device.Value{"fanSpeed": device.String("low")},
			WantPublish: []Publish{{Topic: "esp-ac/climate/living_ac/fan_mode/command", Payload: "low"}},
		},
		{
			// mqtt_switch.cpp: plain ON/OFF on the default topics.
			Name:  "ESPHome switch (mqtt_switch.cpp)",
			Topic: "homeassistant/switch/esp-relay/relay/config",
			Config: `{"name":"Relay","stat_t":"esp-relay/switch/relay/state","cmd_t":"esp-relay/switch/relay/command",
				"avty_t":"esp-relay/status","uniq_id":"ESPswitchrelay",` + dev("a4cf12334455", "esp-relay") + `}`,
			StateTopic:  "esp-relay/switch/relay/state",
			State:       "ON",
			WantState:   map[string]device.Value{"power": device.Bool(true)},
			Write:       map[string]device.Value{"power": device.Bool(false)},
			WantPublish: []Publish{{Topic: "esp-relay/switch/relay/command", Payload: "OFF"}},
		},
	}
}

// zwaveJSUI: zwave-js/zwave-js-ui, api/hass/configurations.ts — the
// discovery_payload templates (lock, cover_position, light_dimmer,
// thermostat); the gateway fills the topics marked true with the value's
// topic (<prefix>/<location>/<node>/<command class>/endpoint_<n>/<property>),
// command topics with that topic + "/set", drops the ones marked false,
// and publishes values as {"time":…,"value":…}.
func zwaveJSUI() []Fixture {
	dev := func(node, name string) string {
		return `"device":{"identifiers":["zwavejs2mqtt_0xc7e3a1b2_node` + node + `"],"manufacturer":"Z-Wave","name":"` + name + `","sw_version":"1.1"}`
	}
	return []Fixture{
		{
			// lock: state_locked 255 / state_unlocked 0, payload_lock 255 /
			// payload_unlock 0 (Home Assistant takes them as strings).
			Name:  "Z-Wave JS UI door lock (configurations.ts lock)",
			Topic: "homeassistant/lock/Entrance-Front_lock/lock/config",
			Config: `{"command_topic":"zwave/Entrance/Front_lock/door_lock/endpoint_0/targetMode/set","state_locked":255,"state_unlocked":0,
				"payload_lock":255,"payload_unlock":0,"value_template":"{{ value_json.value }}",
				"state_topic":"zwave/Entrance/Front_lock/door_lock/endpoint_0/currentMode",
				"json_attributes_topic":"zwave/Entrance/Front_lock/door_lock/endpoint_0/currentMode","name":"Entrance-Front_lock_lock",
				"unique_id":"zwavejs2mqtt_0xc7e3a1b2_5-98-0-currentMode",` + dev("5", "Entrance-Front_lock") + `}`,
			StateTopic:  "zwave/Entrance/Front_lock/door_lock/endpoint_0/currentMode",
			State:       `{"time":1700000000000,"value":255}`,
			WantState:   map[string]device.Value{"locked": device.Bool(true)},
			Write:       map[string]device.Value{"locked": device.Bool(false)},
			WantPublish: []Publish{{Topic: "zwave/Entrance/Front_lock/door_lock/endpoint_0/targetMode/set", Payload: "0"}},
		},
		{
			// cover_position: position_open 99 (Multilevel Switch),
			// position_template rounds.
			Name:  "Z-Wave JS UI shade (configurations.ts cover_position)",
			Topic: "homeassistant/cover/Living-Shade/position/config",
			Config: `{"command_topic":"zwave/Living/Shade/switch_multilevel/endpoint_0/targetValue/set",
				"position_topic":"zwave/Living/Shade/switch_multilevel/endpoint_0/currentValue",
				"set_position_topic":"zwave/Living/Shade/switch_multilevel/endpoint_0/targetValue/set",
				"position_template":"{{ value_json.value | round(0) }}","position_open":99,"position_closed":0,
				"payload_open":"99","payload_close":"0","payload_stop":"stop","name":"Living-Shade_position",
				"unique_id":"zwavejs2mqtt_0xc7e3a1b2_7-38-0-currentValue",` + dev("7", "Living-Shade") + `}`,
			StateTopic: "zwave/Living/Shade/switch_multilevel/endpoint_0/currentValue",
			State:      `{"time":1700000000000,"value":33}`,
			// Home Assistant: 33 of 0..99 is 33.3 % → 33; 60 % of 0..99
			// is round(59.4) = 59.
			WantState:   map[string]device.Value{"position": device.Int(33)},
			Write:       map[string]device.Value{"position": device.Int(60)},
			WantPublish: []Publish{{Topic: "zwave/Living/Shade/switch_multilevel/endpoint_0/targetValue/set", Payload: "59"}},
		},
		{
			// light_dimmer: brightness_scale 99, on_command_type
			// "brightness", state from an inline if.
			Name:  "Z-Wave JS UI dimmer (configurations.ts light_dimmer)",
			Topic: "homeassistant/light/Kitchen-Dimmer/dimmer/config",
			Config: `{"command_topic":"zwave/Kitchen/Dimmer/switch_multilevel/endpoint_0/targetValue/set",
				"state_topic":"zwave/Kitchen/Dimmer/switch_multilevel/endpoint_0/currentValue",
				"state_value_template":"{{ \"OFF\" if value_json.value == 0 else \"ON\" }}",
				"brightness_command_topic":"zwave/Kitchen/Dimmer/switch_multilevel/endpoint_0/targetValue/set","brightness_scale":99,
				"brightness_state_topic":"zwave/Kitchen/Dimmer/switch_multilevel/endpoint_0/currentValue",
				"brightness_value_template":"{{ value_json.value }}","on_command_type":"brightness","name":"Kitchen-Dimmer_dimmer",
				"unique_id":"zwavejs2mqtt_0xc7e3a1b2_9-38-0-currentValue",` + dev("9", "Kitchen-Dimmer") + `}`,
			StateTopic: "zwave/Kitchen/Dimmer/switch_multilevel/endpoint_0/currentValue",
			State:      `{"time":1700000000000,"value":50}`,
			// Home Assistant: 50/99 of 255 = 128.8 → 129 → 51 %; 40 % →
			// 102 → round(102/255*99) = 40, brightness only (no "ON").
			WantState:   map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(51)},
			Write:       map[string]device.Value{"brightness": device.Int(40)},
			WantPublish: []Publish{{Topic: "zwave/Kitchen/Dimmer/switch_multilevel/endpoint_0/targetValue/set", Payload: "40"}},
		},
		{
			// thermostat without a Thermostat Mode value: setpoint and
			// air temperature only (modes stays empty).
			Name:  "Z-Wave JS UI thermostat setpoint (configurations.ts thermostat)",
			Topic: "homeassistant/climate/Hall-Thermostat/climate/config",
			Config: `{"min_temp":5,"max_temp":40,"temp_step":0.5,"modes":[],"mode_state_template":"{{ value_json.value }}",
				"current_temperature_topic":"zwave/Hall/Thermostat/sensor_multilevel/endpoint_0/Air_temperature",
				"current_temperature_template":"{{ value_json.value }}",
				"temperature_state_topic":"zwave/Hall/Thermostat/thermostat_setpoint/endpoint_0/setpoint/1",
				"temperature_state_template":"{{ value_json.value }}",
				"temperature_command_topic":"zwave/Hall/Thermostat/thermostat_setpoint/endpoint_0/setpoint/1/set",
				"name":"Hall-Thermostat_climate","unique_id":"zwavejs2mqtt_0xc7e3a1b2_11-67-0-setpoint",` + dev("11", "Hall-Thermostat") + `}`,
			StateTopic:  "zwave/Hall/Thermostat/sensor_multilevel/endpoint_0/Air_temperature",
			State:       `{"time":1700000000000,"value":20.4}`,
			WantState:   map[string]device.Value{"currentTemperature": device.Float(20.4)},
			Write:       map[string]device.Value{"targetTemperature": device.Float(21)},
			WantPublish: []Publish{{Topic: "zwave/Hall/Thermostat/thermostat_setpoint/endpoint_0/setpoint/1/set", Payload: "21.0"}},
		},
	}
}

// tasmota: arendst/Tasmota, tasmota/tasmota_xdrv_driver/xdrv_12_home_assistant.ino
// (legacy discovery, SetOption19 1): HASS_DISCOVER_BASE, _SENSOR_LWT,
// _RELAY, _LIGHT_TEMPLATE, _BASE_LIGHT, _SHUTTER_BASE/_POS,
// _BIN_SWITCH and _DEVICE_INFO_SHORT, topics from GetTopic_P
// (cmnd|stat|tele/<topic>/<command>).
func tasmota() []Fixture {
	const lwt = `"avty_t":"tele/tasmota_ABCDEF/LWT","pl_avail":"Online","pl_not_avail":"Offline"`
	return []Fixture{
		{
			// HAssAnnounceRelayLight for a PWM dimmer: power from
			// tele/…/STATE, brightness as Dimmer 0..100, on_cmd_type
			// brightness (SetOption20 0).
			Name:  "Tasmota dimmer light (legacy discovery, HASS_DISCOVER_BASE_LIGHT)",
			Topic: "homeassistant/light/ABCDEF_LI_1/config",
			Config: `{"name":"Dimmer","stat_t":"tele/tasmota_ABCDEF/STATE",` + lwt + `,"cmd_t":"cmnd/tasmota_ABCDEF/POWER",
				"pl_off":"OFF","pl_on":"ON","stat_val_tpl":"{{value_json.POWER}}","uniq_id":"ABCDEF_LI_1","dev":{"ids":["ABCDEF"]},
				"bri_cmd_t":"cmnd/tasmota_ABCDEF/Dimmer","bri_stat_t":"tele/tasmota_ABCDEF/STATE","bri_scl":100,"on_cmd_type":"brightness",
				"bri_val_tpl":"{{value_json.Dimmer}}"}`,
			StateTopic: "tele/tasmota_ABCDEF/STATE",
			State:      `{"Time":"2024-05-01T10:00:00","Uptime":"0T01:00:00","Heap":25,"POWER":"OFF","Dimmer":40}`,
			WantState:  map[string]device.Value{"power": device.Bool(false), "brightness": device.Int(40)},
			// Home Assistant's turn-on for on_command_type brightness
			// sends the brightness it knows (40 % → 102 → 40), never
			// payload_on.
			Write:       map[string]device.Value{"power": device.Bool(true)},
			WantPublish: []Publish{{Topic: "cmnd/tasmota_ABCDEF/Dimmer", Payload: "40"}},
		},
		{
			// HASS_DISCOVER_SHUTTER_BASE/_POS: commands through Backlog,
			// qos 1, position on stat/…/SHUTTER1.
			Name:  "Tasmota shutter (legacy discovery, HASS_DISCOVER_SHUTTER_BASE)",
			Topic: "homeassistant/cover/ABCDEF_SHT_1/config",
			Config: `{"name":"Shutter 1",` + lwt + `,"cmd_t":"cmnd/tasmota_ABCDEF/Backlog","pl_open":"ShutterOpen1","pl_cls":"ShutterClose1",
				"pl_stop":"ShutterStop1","opt":false,"ret":false,"qos":1,"pos_t":"stat/tasmota_ABCDEF/SHUTTER1","pos_clsd":0,"pos_open":100,
				"set_pos_t":"cmnd/tasmota_ABCDEF/ShutterPosition1","uniq_id":"ABCDEF_SHT_1","dev":{"ids":["ABCDEF"]}}`,
			StateTopic:  "stat/tasmota_ABCDEF/SHUTTER1",
			State:       "37",
			WantState:   map[string]device.Value{"position": device.Int(37)},
			Write:       map[string]device.Value{"motion": device.String("stop")},
			WantPublish: []Publish{{Topic: "cmnd/tasmota_ABCDEF/Backlog", Payload: "ShutterStop1", QoS: 1}},
		},
		{
			// HAssAnnouncerBinSensors with SwitchTopic set: STATE from
			// stat/…/SWITCH1, pl_on ON, pl_off OFF.
			Name:  "Tasmota switch input as binary sensor (legacy discovery, HASS_DISCOVER_BIN_SWITCH)",
			Topic: "homeassistant/binary_sensor/ABCDEF_SW_1/config",
			Config: `{"name":"Hall Switch1","stat_t":"stat/tasmota_ABCDEF/SWITCH1","val_tpl":"{{value_json.STATE}}","frc_upd":true,
				"pl_on":"ON","pl_off":"OFF","uniq_id":"ABCDEF_SW_1","dev":{"ids":["ABCDEF"]},` + lwt + `}`,
			StateTopic: "stat/tasmota_ABCDEF/SWITCH1",
			State:      `{"STATE":"ON"}`,
			WantState:  map[string]device.Value{"hallSwitch1": device.Bool(true)},
		},
	}
}
