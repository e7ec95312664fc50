// Package hafixtures holds real-world Home Assistant discovery configs —
// Zigbee2MQTT, Tasmota, ESPHome and Home Assistant's documentation — each
// with a state message and a write, written from the publishers' public
// documentation. hadiscovery's parser tests decode them directly and
// localbus's tests play them through a real broker; keeping one copy here
// keeps both suites testing the same devices. It is test support, but a
// normal package (test files cannot be imported across packages), so it
// imports nothing test-only, and nothing of hadiscovery either: that
// package's own tests import it.
package hafixtures

import "github.com/hubagent/hubagent/internal/device"

// Fixture is one discovery config with a state message and a write.
type Fixture struct {
	Name   string
	Topic  string // the discovery config topic
	Config string
	// StateTopic and State are a message the entity decodes into
	// WantState (entity-local property names, which for these fixtures
	// are also the device's). No StateTopic: the entity reads no state.
	StateTopic string
	State      string
	WantState  map[string]device.Value
	// Write, when set, is encoded into WantPublish, in order.
	Write       map[string]device.Value
	WantPublish []Publish
	// WantEventAt names the state properties that carry when something
	// happened (milliseconds since the epoch, set on receipt): events,
	// device triggers, camera images. They must be present and not
	// older than the state message.
	WantEventAt []string
	// Refused, when set, marks a config the agent refuses on purpose:
	// the reason must contain it (the fixture's comment says why).
	Refused string
	// DeviceNames maps entity-local property names to the device's when
	// another entity of the same device took the name first (a dual
	// cover's second position is position_<object id>).
	DeviceNames map[string]string
}

// Publish is an expected MQTT publish (hadiscovery.Publish, which this
// package cannot import without a cycle).
type Publish struct {
	Topic   string
	Payload string
	Retain  bool
	QoS     byte
}

// Z2MAvail is Zigbee2MQTT's availability block: the bridge's state topic.
const Z2MAvail = `"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}]`

// Availability returns what the fixtures' availability topics say when
// their publishers are up, by topic.
func Availability() map[string]string {
	return map[string]string{
		"zigbee2mqtt/bridge/state": `{"state":"online"}`,
		"tasmota_345678/tele/LWT":  "Online",
		"tele/tasmota_345678/LWT":  "Online",
		"livingroom-esp/status":    "online",
		"esp-blinds/status":        "online",
		"esp-fan/status":           "online",
		"esp-ac/status":            "online",
		"esp-relay/status":         "online",
		"tele/tasmota_ABCDEF/LWT":  "Online",
	}
}

// All returns the fixtures, freshly built: callers may modify them.
func All() []Fixture {
	out := append(base(), Upstream()...)
	out = append(out, UpstreamTests()...)
	return append(out, Publishers()...)
}

func base() []Fixture {
	return []Fixture{
		{
			Name:  "zigbee2mqtt IKEA LED1545G12 json light",
			Topic: "homeassistant/light/0x000b57fffec6a5b2/light/config",
			Config: `{` + Z2MAvail + `,"brightness":true,"brightness_scale":254,"color_mode":true,
				"command_topic":"zigbee2mqtt/Living room lamp/set",
				"device":{"identifiers":["zigbee2mqtt_0x000b57fffec6a5b2"],"manufacturer":"IKEA",
				"model":"TRADFRI bulb E27 WS opal 980lm (LED1545G12)","name":"Living room lamp","sw_version":"2.3.087",
				"via_device":"zigbee2mqtt_bridge_0x00124b00226f6f6b"},
				"json_attributes_topic":"zigbee2mqtt/Living room lamp","max_mireds":454,"min_mireds":250,"name":null,
				"object_id":"living_room_lamp","origin":{"name":"Zigbee2MQTT","sw":"1.35.1"},"schema":"json",
				"state_topic":"zigbee2mqtt/Living room lamp","supported_color_modes":["color_temp"],
				"unique_id":"0x000b57fffec6a5b2_light_zigbee2mqtt"}`,
			StateTopic: "zigbee2mqtt/Living room lamp",
			State:      `{"brightness":254,"color_mode":"color_temp","color_temp":370,"linkquality":120,"state":"ON","update":{"state":"idle"}}`,
			WantState:  map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(100), "colorTemperature": device.Int(2703)},
			Write:      map[string]device.Value{"brightness": device.Int(50), "colorTemperature": device.Int(2700)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/Living room lamp/set",
				Payload: `{"state":"ON","brightness":127,"color_temp":370}`}},
		},
		{
			Name:  "HA docs json light brightness scale 255",
			Topic: "homeassistant/light/kitchen/config",
			Config: `{"name":"Kitchen","schema":"json","command_topic":"home/kitchen/set","state_topic":"home/kitchen",
				"supported_color_modes":["brightness"],"qos":1,"retain":true}`,
			StateTopic:  "home/kitchen",
			State:       `{"state":"OFF","brightness":128}`,
			WantState:   map[string]device.Value{"power": device.Bool(false), "brightness": device.Int(50)},
			Write:       map[string]device.Value{"brightness": device.Int(50)},
			WantPublish: []Publish{{Topic: "home/kitchen/set", Payload: `{"state":"ON","brightness":128}`, Retain: true, QoS: 1}},
		},
		{
			Name:  "ESPHome rgb light json schema",
			Topic: "homeassistant/light/livingroom-esp/rgb_strip/config",
			Config: `{"name":"RGB Strip","schema":"json","color_mode":true,"supported_color_modes":["rgb"],"brightness":true,
				"effect":true,"effect_list":["None","Rainbow"],"avty_t":"livingroom-esp/status",
				"stat_t":"livingroom-esp/light/rgb_strip/state","cmd_t":"livingroom-esp/light/rgb_strip/command",
				"uniq_id":"esp-rgb_strip","dev":{"ids":"98f4ab123456","name":"livingroom-esp","sw":"esphome v2024.6.1","mdl":"esp32dev","mf":"espressif"}}`,
			StateTopic: "livingroom-esp/light/rgb_strip/state",
			State:      `{"state":"ON","color_mode":"rgb","brightness":255,"color":{"r":255,"g":0,"b":0},"effect":"None"}`,
			WantState:  map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(100), "color": device.String("#ff0000")},
			Write:      map[string]device.Value{"color": device.String("#00ff00")},
			WantPublish: []Publish{{Topic: "livingroom-esp/light/rgb_strip/command",
				Payload: `{"state":"ON","color":{"r":0,"g":255,"b":0}}`}},
		},
		{
			Name:  "HA docs default-schema light with brightness and rgb",
			Topic: "homeassistant/light/office_rgb1/config",
			Config: `{"name":"Office light RGB","state_topic":"office/rgb1/light/status","command_topic":"office/rgb1/light/switch",
				"brightness_state_topic":"office/rgb1/brightness/status","brightness_command_topic":"office/rgb1/brightness/set",
				"rgb_state_topic":"office/rgb1/rgb/status","rgb_command_topic":"office/rgb1/rgb/set",
				"state_value_template":"{{ value_json.state }}","brightness_value_template":"{{ value_json.brightness }}",
				"rgb_value_template":"{{ value_json.rgb | join(',') }}","qos":0,"payload_on":"ON","payload_off":"OFF"}`,
			StateTopic: "office/rgb1/rgb/status",
			State:      `{"rgb":[255,128,0]}`,
			WantState:  map[string]device.Value{"color": device.String("#ff8000")},
			Write:      map[string]device.Value{"brightness": device.Int(50), "power": device.Bool(true)},
			WantPublish: []Publish{
				{Topic: "office/rgb1/brightness/set", Payload: "128"},
				{Topic: "office/rgb1/light/switch", Payload: "ON"},
			},
		},
		{
			Name:  "Tasmota plug switch with abbreviations and base topic",
			Topic: "homeassistant/switch/A4CF12345678_RL_1/config",
			Config: `{"name":"Plug","~":"tasmota_345678/","stat_t":"~stat/RESULT","avty_t":"~tele/LWT","pl_avail":"Online",
				"pl_not_avail":"Offline","cmd_t":"~cmnd/POWER","val_tpl":"{{value_json.POWER}}","pl_off":"OFF","pl_on":"ON",
				"uniq_id":"A4CF12345678_RL_1","dev":{"ids":["A4CF12345678"],"name":"Plug","mdl":"Sonoff S31",
				"sw":"12.5.0(tasmota)","mf":"Tasmota","cns":[["mac","A4:CF:12:34:56:78"]]}}`,
			StateTopic:  "tasmota_345678/stat/RESULT",
			State:       `{"POWER":"ON"}`,
			WantState:   map[string]device.Value{"power": device.Bool(true)},
			Write:       map[string]device.Value{"power": device.Bool(false)},
			WantPublish: []Publish{{Topic: "tasmota_345678/cmnd/POWER", Payload: "OFF"}},
		},
		{
			Name:  "Tasmota energy power sensor",
			Topic: "homeassistant/sensor/A4CF12345678_ENERGY_Power/config",
			Config: `{"name":"Plug ENERGY Power","stat_t":"tele/tasmota_345678/SENSOR","avty_t":"tele/tasmota_345678/LWT",
				"val_tpl":"{{value_json['ENERGY']['Power']}}","unit_of_meas":"W","dev_cla":"power","uniq_id":"A4CF12345678_ENERGY_Power",
				"dev":{"ids":["A4CF12345678"]}}`,
			StateTopic: "tele/tasmota_345678/SENSOR",
			State:      `{"Time":"2024-01-01T00:00:00","ENERGY":{"Total":1.234,"Power":42,"Voltage":230}}`,
			WantState:  map[string]device.Value{"power_W": device.Float(42)},
		},
		{
			Name:  "zigbee2mqtt Xiaomi WSDCGQ11LM temperature",
			Topic: "homeassistant/sensor/0x00158d0001a2b3c4/temperature/config",
			Config: `{` + Z2MAvail + `,"device":{"identifiers":["zigbee2mqtt_0x00158d0001a2b3c4"],"manufacturer":"Aqara",
				"model":"Temperature and humidity sensor (WSDCGQ11LM)","name":"Bedroom sensor"},"device_class":"temperature",
				"enabled_by_default":true,"object_id":"bedroom_sensor_temperature","state_class":"measurement",
				"state_topic":"zigbee2mqtt/Bedroom sensor","unique_id":"0x00158d0001a2b3c4_temperature_zigbee2mqtt",
				"unit_of_measurement":"°C","value_template":"{{ value_json.temperature }}"}`,
			StateTopic: "zigbee2mqtt/Bedroom sensor",
			State:      `{"battery":91,"humidity":45.5,"linkquality":87,"pressure":1012.3,"temperature":21.3,"voltage":2985}`,
			WantState:  map[string]device.Value{"currentTemperature": device.Float(21.3)},
		},
		{
			Name:  "ESPHome temperature sensor in fahrenheit",
			Topic: "homeassistant/sensor/livingroom-esp/outside_temperature/config",
			Config: `{"dev_cla":"temperature","unit_of_meas":"°F","stat_cla":"measurement","name":"Outside Temperature",
				"stat_t":"livingroom-esp/sensor/outside_temperature/state","avty_t":"livingroom-esp/status",
				"uniq_id":"esp-outside-temp","dev":{"ids":"98f4ab123456"}}`,
			StateTopic: "livingroom-esp/sensor/outside_temperature/state",
			State:      "68.00",
			WantState:  map[string]device.Value{"currentTemperature": device.Float(20)},
		},
		{
			Name:  "zigbee2mqtt Aqara MCCGQ11LM door contact closed",
			Topic: "homeassistant/binary_sensor/0x00158d000aaaaaaa/contact/config",
			Config: `{` + Z2MAvail + `,"device":{"identifiers":["zigbee2mqtt_0x00158d000aaaaaaa"],"manufacturer":"Aqara",
				"model":"Door and window sensor (MCCGQ11LM)","name":"Front door"},"device_class":"door",
				"object_id":"front_door_contact","payload_off":true,"payload_on":false,"state_topic":"zigbee2mqtt/Front door",
				"unique_id":"0x00158d000aaaaaaa_contact_zigbee2mqtt","value_template":"{{ value_json.contact }}"}`,
			StateTopic: "zigbee2mqtt/Front door",
			State:      `{"battery":100,"contact":true,"linkquality":60,"voltage":3025}`,
			WantState:  map[string]device.Value{"contact": device.Bool(true)},
		},
		{
			Name:  "zigbee2mqtt occupancy sensor",
			Topic: "homeassistant/binary_sensor/0x00158d000bbbbbbb/occupancy/config",
			Config: `{"device":{"identifiers":["zigbee2mqtt_0x00158d000bbbbbbb"]},"device_class":"occupancy","payload_off":false,
				"payload_on":true,"state_topic":"zigbee2mqtt/Hall motion","value_template":"{{ value_json.occupancy }}"}`,
			StateTopic: "zigbee2mqtt/Hall motion",
			State:      `{"occupancy":true,"illuminance":12}`,
			WantState:  map[string]device.Value{"occupancy": device.Bool(true)},
		},
		{
			Name:  "zigbee2mqtt cover with set_position_template",
			Topic: "homeassistant/cover/0x00124b0022222222/cover/config",
			Config: `{"command_topic":"zigbee2mqtt/Blind/set","position_template":"{{ value_json.position }}",
				"position_topic":"zigbee2mqtt/Blind","set_position_template":"{ \"position\": {{ position }} }",
				"set_position_topic":"zigbee2mqtt/Blind/set","state_topic":"zigbee2mqtt/Blind","value_template":"{{ value_json.state }}",
				"device":{"identifiers":["zigbee2mqtt_0x00124b0022222222"],"name":"Blind"}}`,
			StateTopic:  "zigbee2mqtt/Blind",
			State:       `{"position":40,"state":"OPEN"}`,
			WantState:   map[string]device.Value{"position": device.Int(40)},
			Write:       map[string]device.Value{"position": device.Int(75)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/Blind/set", Payload: `{ "position": 75 }`}},
		},
		{
			Name:  "HA docs cover stop",
			Topic: "homeassistant/cover/garage/config",
			Config: `{"name":"Garage door","command_topic":"home-assistant/cover/set","state_topic":"home-assistant/cover/state",
				"payload_open":"OPEN","payload_close":"CLOSE","payload_stop":"STOP","state_open":"open","state_closed":"closed"}`,
			StateTopic:  "home-assistant/cover/state",
			State:       "closed",
			WantState:   map[string]device.Value{"position": device.Int(0)},
			Write:       map[string]device.Value{"motion": device.String("stop")},
			WantPublish: []Publish{{Topic: "home-assistant/cover/set", Payload: "STOP"}},
		},
		{
			Name:  "HA docs lock",
			Topic: "homeassistant/lock/frontdoor/config",
			Config: `{"name":"Frontdoor","state_topic":"home-assistant/frontdoor/state","command_topic":"home-assistant/frontdoor/set",
				"payload_lock":"LOCK","payload_unlock":"UNLOCK","state_locked":"LOCK","state_unlocked":"UNLOCK","optimistic":false,"qos":1,"retain":true}`,
			StateTopic:  "home-assistant/frontdoor/state",
			State:       "LOCK",
			WantState:   map[string]device.Value{"locked": device.Bool(true)},
			Write:       map[string]device.Value{"locked": device.Bool(false)},
			WantPublish: []Publish{{Topic: "home-assistant/frontdoor/set", Payload: "UNLOCK", Retain: true, QoS: 1}},
		},
		{
			Name:  "ESPHome climate",
			Topic: "homeassistant/climate/hvac/thermostat/config",
			Config: `{"name":"Thermostat","mode_cmd_t":"hvac/climate/thermostat/mode/command","mode_stat_t":"hvac/climate/thermostat/mode/state",
				"modes":["off","heat_cool","cool","heat"],"temp_cmd_t":"hvac/climate/thermostat/target_temperature/command",
				"temp_stat_t":"hvac/climate/thermostat/target_temperature/state","curr_temp_t":"hvac/climate/thermostat/current_temperature/state",
				"min_temp":10,"max_temp":30,"temp_step":0.5,"precision":0.1,"uniq_id":"hvac-thermostat","dev":{"ids":"aabbccddeeff","name":"hvac"}}`,
			StateTopic:  "hvac/climate/thermostat/target_temperature/state",
			State:       "21.5",
			WantState:   map[string]device.Value{"targetTemperature": device.Float(21.5)},
			Write:       map[string]device.Value{"targetTemperature": device.Float(22.5), "mode": device.String("heat")},
			WantPublish: []Publish{{Topic: "hvac/climate/thermostat/mode/command", Payload: "heat"}, {Topic: "hvac/climate/thermostat/target_temperature/command", Payload: "22.5"}},
		},
		{
			Name:  "zigbee2mqtt thermostat mode via set dict",
			Topic: "homeassistant/climate/0x0011/climate/config",
			Config: `{"mode_state_topic":"zigbee2mqtt/TRV","mode_state_template":"{% set values = {'auto':'auto','heat':'heat','off':'off'} %}{{ values[value_json.system_mode] if value_json.system_mode in values.keys() else 'off' }}",
				"mode_command_topic":"zigbee2mqtt/TRV/set/system_mode","modes":["off","auto","heat"],
				"current_temperature_topic":"zigbee2mqtt/TRV","current_temperature_template":"{{ value_json.local_temperature }}",
				"temperature_command_topic":"zigbee2mqtt/TRV/set/current_heating_setpoint","temperature_state_topic":"zigbee2mqtt/TRV",
				"temperature_state_template":"{{ value_json.current_heating_setpoint }}","min_temp":"5","max_temp":"30","temp_step":0.5}`,
			StateTopic:  "zigbee2mqtt/TRV",
			State:       `{"system_mode":"heat","local_temperature":19.5,"current_heating_setpoint":21}`,
			WantState:   map[string]device.Value{"mode": device.String("heat"), "currentTemperature": device.Float(19.5), "targetTemperature": device.Float(21)},
			Write:       map[string]device.Value{"targetTemperature": device.Float(20)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/TRV/set/current_heating_setpoint", Payload: "20.0"}},
		},
		{
			Name:  "HA docs fan with speed range",
			Topic: "homeassistant/fan/bedroom/config",
			Config: `{"name":"Bedroom Fan","state_topic":"home-assistant/fan/state","command_topic":"home-assistant/fan/set",
				"percentage_state_topic":"home-assistant/fan/speed/percentage_state","percentage_command_topic":"home-assistant/fan/speed/percentage",
				"preset_mode_state_topic":"home-assistant/fan/preset/preset_mode_state","preset_mode_command_topic":"home-assistant/fan/preset/preset_mode",
				"preset_modes":["auto","smart","whoosh","eco","breeze"],"payload_on":"true","payload_off":"false","speed_range_min":1,"speed_range_max":3}`,
			StateTopic:  "home-assistant/fan/speed/percentage_state",
			State:       "2",
			WantState:   map[string]device.Value{"fanSpeed": device.Int(66)},
			Write:       map[string]device.Value{"fanSpeed": device.Int(66), "power": device.Bool(true)},
			WantPublish: []Publish{{Topic: "home-assistant/fan/speed/percentage", Payload: "2"}, {Topic: "home-assistant/fan/set", Payload: "true"}},
		},
		{
			Name:  "HA docs humidifier",
			Topic: "homeassistant/humidifier/bedroom/config",
			Config: `{"name":"Bedroom humidifier","device_class":"humidifier","state_topic":"bedroom/humidifier/state",
				"command_topic":"bedroom/humidifier/set","target_humidity_state_topic":"bedroom/humidifier/target",
				"target_humidity_command_topic":"bedroom/humidifier/target/set","mode_state_topic":"bedroom/humidifier/mode",
				"mode_command_topic":"bedroom/humidifier/mode/set","modes":["normal","eco","away","boost"],"min_humidity":30,"max_humidity":80}`,
			StateTopic:  "bedroom/humidifier/target",
			State:       "45",
			WantState:   map[string]device.Value{"targetHumidity": device.Int(45)},
			Write:       map[string]device.Value{"targetHumidity": device.Int(55)},
			WantPublish: []Publish{{Topic: "bedroom/humidifier/target/set", Payload: "55"}},
		},
		{
			Name:  "HA docs water heater",
			Topic: "homeassistant/water_heater/boiler/config",
			Config: `{"name":"Boiler","mode_command_topic":"basement/boiler/mode/set","mode_state_topic":"basement/boiler/mode",
				"modes":["off","eco","performance"],"temperature_command_topic":"basement/boiler/temperature/set",
				"temperature_state_topic":"basement/boiler/temperature","current_temperature_topic":"basement/boiler/current_temperature",
				"temperature_unit":"C","precision":1.0,"power_command_topic":"basement/boiler/power/set"}`,
			StateTopic:  "basement/boiler/mode",
			State:       "eco",
			WantState:   map[string]device.Value{"mode": device.String("eco")},
			Write:       map[string]device.Value{"targetTemperature": device.Float(55)},
			WantPublish: []Publish{{Topic: "basement/boiler/temperature/set", Payload: "55.0"}},
		},
		{
			Name:  "HA docs vacuum state schema",
			Topic: "homeassistant/vacuum/robot/config",
			Config: `{"name":"Robot","supported_features":["start","pause","stop","return_home","battery","status","locate","clean_spot","fan_speed","send_command"],
				"command_topic":"vacuum/command","state_topic":"vacuum/state","set_fan_speed_topic":"vacuum/set_fan_speed",
				"fan_speed_list":["min","medium","high","max"],"send_command_topic":"vacuum/send_command"}`,
			StateTopic:  "vacuum/state",
			State:       `{"battery_level":61,"state":"docked","fan_speed":"max"}`,
			WantState:   map[string]device.Value{"status": device.String("docked"), "battery": device.Int(61), "fanSpeed": device.String("max")},
			Write:       map[string]device.Value{"action": device.String("return_to_base")},
			WantPublish: []Publish{{Topic: "vacuum/command", Payload: "return_to_base"}},
		},
		{
			Name:  "zigbee2mqtt countdown number",
			Topic: "homeassistant/number/0x0033/countdown/config",
			Config: `{"name":"Countdown","command_topic":"zigbee2mqtt/plug/set/countdown","state_topic":"zigbee2mqtt/plug",
				"value_template":"{{ value_json.countdown }}","min":0,"max":43200,"step":1,"unit_of_measurement":"s"}`,
			StateTopic:  "zigbee2mqtt/plug",
			State:       `{"countdown":30,"power_on_behavior":"off"}`,
			WantState:   map[string]device.Value{"countdown": device.Int(30)},
			Write:       map[string]device.Value{"countdown": device.Int(60)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/plug/set/countdown", Payload: "60"}},
		},
		{
			Name:  "zigbee2mqtt power-on behavior select",
			Topic: "homeassistant/select/0x0033/power_on_behavior/config",
			Config: `{"name":"Power-on behavior","command_topic":"zigbee2mqtt/plug/set/power_on_behavior","state_topic":"zigbee2mqtt/plug",
				"value_template":"{{ value_json.power_on_behavior }}","options":["off","on","toggle","previous"]}`,
			StateTopic:  "zigbee2mqtt/plug",
			State:       `{"countdown":30,"power_on_behavior":"toggle"}`,
			WantState:   map[string]device.Value{"powerOnBehavior": device.String("toggle")},
			Write:       map[string]device.Value{"powerOnBehavior": device.String("previous")},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/plug/set/power_on_behavior", Payload: "previous"}},
		},
		{
			Name:        "ESPHome restart button",
			Topic:       "homeassistant/button/livingroom-esp/restart/config",
			Config:      `{"name":"Restart","cmd_t":"livingroom-esp/button/restart/command","pl_prs":"PRESS","dev_cla":"restart","uniq_id":"esp-restart","dev":{"ids":"98f4ab123456"}}`,
			Write:       map[string]device.Value{"restart": device.Bool(true)},
			WantPublish: []Publish{{Topic: "livingroom-esp/button/restart/command", Payload: "PRESS"}},
		},
	}
}
