package hadiscovery

import (
	"reflect"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

// fixture is one real-world discovery config with a state message and a
// write, written from the publishers' public documentation.
type fixture struct {
	name        string
	topic       string
	config      string
	stateTopic  string
	state       string
	wantState   map[string]device.Value
	write       map[string]device.Value
	wantPublish []Publish
}

const z2mAvail = `"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}]`

func fixtures() []fixture {
	return []fixture{
		{
			name:  "zigbee2mqtt IKEA LED1545G12 json light",
			topic: "homeassistant/light/0x000b57fffec6a5b2/light/config",
			config: `{` + z2mAvail + `,"brightness":true,"brightness_scale":254,"color_mode":true,
				"command_topic":"zigbee2mqtt/Living room lamp/set",
				"device":{"identifiers":["zigbee2mqtt_0x000b57fffec6a5b2"],"manufacturer":"IKEA",
				"model":"TRADFRI bulb E27 WS opal 980lm (LED1545G12)","name":"Living room lamp","sw_version":"2.3.087",
				"via_device":"zigbee2mqtt_bridge_0x00124b00226f6f6b"},
				"json_attributes_topic":"zigbee2mqtt/Living room lamp","max_mireds":454,"min_mireds":250,"name":null,
				"object_id":"living_room_lamp","origin":{"name":"Zigbee2MQTT","sw":"1.35.1"},"schema":"json",
				"state_topic":"zigbee2mqtt/Living room lamp","supported_color_modes":["color_temp"],
				"unique_id":"0x000b57fffec6a5b2_light_zigbee2mqtt"}`,
			stateTopic: "zigbee2mqtt/Living room lamp",
			state:      `{"brightness":254,"color_mode":"color_temp","color_temp":370,"linkquality":120,"state":"ON","update":{"state":"idle"}}`,
			wantState:  map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(100), "colorTemperature": device.Int(2703)},
			write:      map[string]device.Value{"brightness": device.Int(50), "colorTemperature": device.Int(2700)},
			wantPublish: []Publish{{Topic: "zigbee2mqtt/Living room lamp/set",
				Payload: []byte(`{"state":"ON","brightness":127,"color_temp":370}`)}},
		},
		{
			name:  "HA docs json light brightness scale 255",
			topic: "homeassistant/light/kitchen/config",
			config: `{"name":"Kitchen","schema":"json","command_topic":"home/kitchen/set","state_topic":"home/kitchen",
				"supported_color_modes":["brightness"],"qos":1,"retain":true}`,
			stateTopic:  "home/kitchen",
			state:       `{"state":"OFF","brightness":128}`,
			wantState:   map[string]device.Value{"power": device.Bool(false), "brightness": device.Int(50)},
			write:       map[string]device.Value{"brightness": device.Int(50)},
			wantPublish: []Publish{{Topic: "home/kitchen/set", Payload: []byte(`{"state":"ON","brightness":128}`), Retain: true, QoS: 1}},
		},
		{
			name:  "ESPHome rgb light json schema",
			topic: "homeassistant/light/livingroom-esp/rgb_strip/config",
			config: `{"name":"RGB Strip","schema":"json","color_mode":true,"supported_color_modes":["rgb"],"brightness":true,
				"effect":true,"effect_list":["None","Rainbow"],"avty_t":"livingroom-esp/status",
				"stat_t":"livingroom-esp/light/rgb_strip/state","cmd_t":"livingroom-esp/light/rgb_strip/command",
				"uniq_id":"esp-rgb_strip","dev":{"ids":"98f4ab123456","name":"livingroom-esp","sw":"esphome v2024.6.1","mdl":"esp32dev","mf":"espressif"}}`,
			stateTopic: "livingroom-esp/light/rgb_strip/state",
			state:      `{"state":"ON","color_mode":"rgb","brightness":255,"color":{"r":255,"g":0,"b":0},"effect":"None"}`,
			wantState:  map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(100), "color": device.String("#ff0000")},
			write:      map[string]device.Value{"color": device.String("#00ff00")},
			wantPublish: []Publish{{Topic: "livingroom-esp/light/rgb_strip/command",
				Payload: []byte(`{"state":"ON","color":{"r":0,"g":255,"b":0}}`)}},
		},
		{
			name:  "HA docs default-schema light with brightness and rgb",
			topic: "homeassistant/light/office_rgb1/config",
			config: `{"name":"Office light RGB","state_topic":"office/rgb1/light/status","command_topic":"office/rgb1/light/switch",
				"brightness_state_topic":"office/rgb1/brightness/status","brightness_command_topic":"office/rgb1/brightness/set",
				"rgb_state_topic":"office/rgb1/rgb/status","rgb_command_topic":"office/rgb1/rgb/set",
				"state_value_template":"{{ value_json.state }}","brightness_value_template":"{{ value_json.brightness }}",
				"rgb_value_template":"{{ value_json.rgb | join(',') }}","qos":0,"payload_on":"ON","payload_off":"OFF"}`,
			stateTopic: "office/rgb1/rgb/status",
			state:      `{"rgb":[255,128,0]}`,
			wantState:  map[string]device.Value{"color": device.String("#ff8000")},
			write:      map[string]device.Value{"brightness": device.Int(50), "power": device.Bool(true)},
			wantPublish: []Publish{
				{Topic: "office/rgb1/brightness/set", Payload: []byte("128")},
				{Topic: "office/rgb1/light/switch", Payload: []byte("ON")},
			},
		},
		{
			name:  "Tasmota plug switch with abbreviations and base topic",
			topic: "homeassistant/switch/A4CF12345678_RL_1/config",
			config: `{"name":"Plug","~":"tasmota_345678/","stat_t":"~stat/RESULT","avty_t":"~tele/LWT","pl_avail":"Online",
				"pl_not_avail":"Offline","cmd_t":"~cmnd/POWER","val_tpl":"{{value_json.POWER}}","pl_off":"OFF","pl_on":"ON",
				"uniq_id":"A4CF12345678_RL_1","dev":{"ids":["A4CF12345678"],"name":"Plug","mdl":"Sonoff S31",
				"sw":"12.5.0(tasmota)","mf":"Tasmota","cns":[["mac","A4:CF:12:34:56:78"]]}}`,
			stateTopic:  "tasmota_345678/stat/RESULT",
			state:       `{"POWER":"ON"}`,
			wantState:   map[string]device.Value{"power": device.Bool(true)},
			write:       map[string]device.Value{"power": device.Bool(false)},
			wantPublish: []Publish{{Topic: "tasmota_345678/cmnd/POWER", Payload: []byte("OFF")}},
		},
		{
			name:  "Tasmota energy power sensor",
			topic: "homeassistant/sensor/A4CF12345678_ENERGY_Power/config",
			config: `{"name":"Plug ENERGY Power","stat_t":"tele/tasmota_345678/SENSOR","avty_t":"tele/tasmota_345678/LWT",
				"val_tpl":"{{value_json['ENERGY']['Power']}}","unit_of_meas":"W","dev_cla":"power","uniq_id":"A4CF12345678_ENERGY_Power",
				"dev":{"ids":["A4CF12345678"]}}`,
			stateTopic: "tele/tasmota_345678/SENSOR",
			state:      `{"Time":"2024-01-01T00:00:00","ENERGY":{"Total":1.234,"Power":42,"Voltage":230}}`,
			wantState:  map[string]device.Value{"power_W": device.Float(42)},
		},
		{
			name:  "zigbee2mqtt Xiaomi WSDCGQ11LM temperature",
			topic: "homeassistant/sensor/0x00158d0001a2b3c4/temperature/config",
			config: `{` + z2mAvail + `,"device":{"identifiers":["zigbee2mqtt_0x00158d0001a2b3c4"],"manufacturer":"Aqara",
				"model":"Temperature and humidity sensor (WSDCGQ11LM)","name":"Bedroom sensor"},"device_class":"temperature",
				"enabled_by_default":true,"object_id":"bedroom_sensor_temperature","state_class":"measurement",
				"state_topic":"zigbee2mqtt/Bedroom sensor","unique_id":"0x00158d0001a2b3c4_temperature_zigbee2mqtt",
				"unit_of_measurement":"°C","value_template":"{{ value_json.temperature }}"}`,
			stateTopic: "zigbee2mqtt/Bedroom sensor",
			state:      `{"battery":91,"humidity":45.5,"linkquality":87,"pressure":1012.3,"temperature":21.3,"voltage":2985}`,
			wantState:  map[string]device.Value{"currentTemperature": device.Float(21.3)},
		},
		{
			name:  "ESPHome temperature sensor in fahrenheit",
			topic: "homeassistant/sensor/livingroom-esp/outside_temperature/config",
			config: `{"dev_cla":"temperature","unit_of_meas":"°F","stat_cla":"measurement","name":"Outside Temperature",
				"stat_t":"livingroom-esp/sensor/outside_temperature/state","avty_t":"livingroom-esp/status",
				"uniq_id":"esp-outside-temp","dev":{"ids":"98f4ab123456"}}`,
			stateTopic: "livingroom-esp/sensor/outside_temperature/state",
			state:      "68.00",
			wantState:  map[string]device.Value{"currentTemperature": device.Float(20)},
		},
		{
			name:  "zigbee2mqtt Aqara MCCGQ11LM door contact closed",
			topic: "homeassistant/binary_sensor/0x00158d000aaaaaaa/contact/config",
			config: `{` + z2mAvail + `,"device":{"identifiers":["zigbee2mqtt_0x00158d000aaaaaaa"],"manufacturer":"Aqara",
				"model":"Door and window sensor (MCCGQ11LM)","name":"Front door"},"device_class":"door",
				"object_id":"front_door_contact","payload_off":true,"payload_on":false,"state_topic":"zigbee2mqtt/Front door",
				"unique_id":"0x00158d000aaaaaaa_contact_zigbee2mqtt","value_template":"{{ value_json.contact }}"}`,
			stateTopic: "zigbee2mqtt/Front door",
			state:      `{"battery":100,"contact":true,"linkquality":60,"voltage":3025}`,
			wantState:  map[string]device.Value{"contact": device.Bool(true)},
		},
		{
			name:  "zigbee2mqtt occupancy sensor",
			topic: "homeassistant/binary_sensor/0x00158d000bbbbbbb/occupancy/config",
			config: `{"device":{"identifiers":["zigbee2mqtt_0x00158d000bbbbbbb"]},"device_class":"occupancy","payload_off":false,
				"payload_on":true,"state_topic":"zigbee2mqtt/Hall motion","value_template":"{{ value_json.occupancy }}"}`,
			stateTopic: "zigbee2mqtt/Hall motion",
			state:      `{"occupancy":true,"illuminance":12}`,
			wantState:  map[string]device.Value{"occupancy": device.Bool(true)},
		},
		{
			name:  "zigbee2mqtt cover with set_position_template",
			topic: "homeassistant/cover/0x00124b0022222222/cover/config",
			config: `{"command_topic":"zigbee2mqtt/Blind/set","position_template":"{{ value_json.position }}",
				"position_topic":"zigbee2mqtt/Blind","set_position_template":"{ \"position\": {{ position }} }",
				"set_position_topic":"zigbee2mqtt/Blind/set","state_topic":"zigbee2mqtt/Blind","value_template":"{{ value_json.state }}",
				"device":{"identifiers":["zigbee2mqtt_0x00124b0022222222"],"name":"Blind"}}`,
			stateTopic:  "zigbee2mqtt/Blind",
			state:       `{"position":40,"state":"OPEN"}`,
			wantState:   map[string]device.Value{"position": device.Int(40)},
			write:       map[string]device.Value{"position": device.Int(75)},
			wantPublish: []Publish{{Topic: "zigbee2mqtt/Blind/set", Payload: []byte(`{ "position": 75 }`)}},
		},
		{
			name:  "HA docs cover stop",
			topic: "homeassistant/cover/garage/config",
			config: `{"name":"Garage door","command_topic":"home-assistant/cover/set","state_topic":"home-assistant/cover/state",
				"payload_open":"OPEN","payload_close":"CLOSE","payload_stop":"STOP","state_open":"open","state_closed":"closed"}`,
			stateTopic:  "home-assistant/cover/state",
			state:       "closed",
			wantState:   map[string]device.Value{"position": device.Int(0)},
			write:       map[string]device.Value{"motion": device.String("stop")},
			wantPublish: []Publish{{Topic: "home-assistant/cover/set", Payload: []byte("STOP")}},
		},
		{
			name:  "HA docs lock",
			topic: "homeassistant/lock/frontdoor/config",
			config: `{"name":"Frontdoor","state_topic":"home-assistant/frontdoor/state","command_topic":"home-assistant/frontdoor/set",
				"payload_lock":"LOCK","payload_unlock":"UNLOCK","state_locked":"LOCK","state_unlocked":"UNLOCK","optimistic":false,"qos":1,"retain":true}`,
			stateTopic:  "home-assistant/frontdoor/state",
			state:       "LOCK",
			wantState:   map[string]device.Value{"locked": device.Bool(true)},
			write:       map[string]device.Value{"locked": device.Bool(false)},
			wantPublish: []Publish{{Topic: "home-assistant/frontdoor/set", Payload: []byte("UNLOCK"), Retain: true, QoS: 1}},
		},
		{
			name:  "ESPHome climate",
			topic: "homeassistant/climate/hvac/thermostat/config",
			config: `{"name":"Thermostat","mode_cmd_t":"hvac/climate/thermostat/mode/command","mode_stat_t":"hvac/climate/thermostat/mode/state",
				"modes":["off","heat_cool","cool","heat"],"temp_cmd_t":"hvac/climate/thermostat/target_temperature/command",
				"temp_stat_t":"hvac/climate/thermostat/target_temperature/state","curr_temp_t":"hvac/climate/thermostat/current_temperature/state",
				"min_temp":10,"max_temp":30,"temp_step":0.5,"precision":0.1,"uniq_id":"hvac-thermostat","dev":{"ids":"aabbccddeeff","name":"hvac"}}`,
			stateTopic:  "hvac/climate/thermostat/target_temperature/state",
			state:       "21.5",
			wantState:   map[string]device.Value{"targetTemperature": device.Float(21.5)},
			write:       map[string]device.Value{"targetTemperature": device.Float(22.5), "mode": device.String("heat")},
			wantPublish: []Publish{{Topic: "hvac/climate/thermostat/mode/command", Payload: []byte("heat")}, {Topic: "hvac/climate/thermostat/target_temperature/command", Payload: []byte("22.5")}},
		},
		{
			name:  "zigbee2mqtt thermostat mode via set dict",
			topic: "homeassistant/climate/0x0011/climate/config",
			config: `{"mode_state_topic":"zigbee2mqtt/TRV","mode_state_template":"{% set values = {'auto':'auto','heat':'heat','off':'off'} %}{{ values[value_json.system_mode] if value_json.system_mode in values.keys() else 'off' }}",
				"mode_command_topic":"zigbee2mqtt/TRV/set/system_mode","modes":["off","auto","heat"],
				"current_temperature_topic":"zigbee2mqtt/TRV","current_temperature_template":"{{ value_json.local_temperature }}",
				"temperature_command_topic":"zigbee2mqtt/TRV/set/current_heating_setpoint","temperature_state_topic":"zigbee2mqtt/TRV",
				"temperature_state_template":"{{ value_json.current_heating_setpoint }}","min_temp":"5","max_temp":"30","temp_step":0.5}`,
			stateTopic:  "zigbee2mqtt/TRV",
			state:       `{"system_mode":"heat","local_temperature":19.5,"current_heating_setpoint":21}`,
			wantState:   map[string]device.Value{"mode": device.String("heat"), "currentTemperature": device.Float(19.5), "targetTemperature": device.Float(21)},
			write:       map[string]device.Value{"targetTemperature": device.Float(20)},
			wantPublish: []Publish{{Topic: "zigbee2mqtt/TRV/set/current_heating_setpoint", Payload: []byte("20.0")}},
		},
		{
			name:  "HA docs fan with speed range",
			topic: "homeassistant/fan/bedroom/config",
			config: `{"name":"Bedroom Fan","state_topic":"home-assistant/fan/state","command_topic":"home-assistant/fan/set",
				"percentage_state_topic":"home-assistant/fan/speed/percentage_state","percentage_command_topic":"home-assistant/fan/speed/percentage",
				"preset_mode_state_topic":"home-assistant/fan/preset/preset_mode_state","preset_mode_command_topic":"home-assistant/fan/preset/preset_mode",
				"preset_modes":["auto","smart","whoosh","eco","breeze"],"payload_on":"true","payload_off":"false","speed_range_min":1,"speed_range_max":3}`,
			stateTopic:  "home-assistant/fan/speed/percentage_state",
			state:       "2",
			wantState:   map[string]device.Value{"fanSpeed": device.Int(66)},
			write:       map[string]device.Value{"fanSpeed": device.Int(66), "power": device.Bool(true)},
			wantPublish: []Publish{{Topic: "home-assistant/fan/speed/percentage", Payload: []byte("2")}, {Topic: "home-assistant/fan/set", Payload: []byte("true")}},
		},
		{
			name:  "HA docs humidifier",
			topic: "homeassistant/humidifier/bedroom/config",
			config: `{"name":"Bedroom humidifier","device_class":"humidifier","state_topic":"bedroom/humidifier/state",
				"command_topic":"bedroom/humidifier/set","target_humidity_state_topic":"bedroom/humidifier/target",
				"target_humidity_command_topic":"bedroom/humidifier/target/set","mode_state_topic":"bedroom/humidifier/mode",
				"mode_command_topic":"bedroom/humidifier/mode/set","modes":["normal","eco","away","boost"],"min_humidity":30,"max_humidity":80}`,
			stateTopic:  "bedroom/humidifier/target",
			state:       "45",
			wantState:   map[string]device.Value{"targetHumidity": device.Int(45)},
			write:       map[string]device.Value{"targetHumidity": device.Int(55)},
			wantPublish: []Publish{{Topic: "bedroom/humidifier/target/set", Payload: []byte("55")}},
		},
		{
			name:  "HA docs water heater",
			topic: "homeassistant/water_heater/boiler/config",
			config: `{"name":"Boiler","mode_command_topic":"basement/boiler/mode/set","mode_state_topic":"basement/boiler/mode",
				"modes":["off","eco","performance"],"temperature_command_topic":"basement/boiler/temperature/set",
				"temperature_state_topic":"basement/boiler/temperature","current_temperature_topic":"basement/boiler/current_temperature",
				"temperature_unit":"C","precision":1.0,"power_command_topic":"basement/boiler/power/set"}`,
			stateTopic:  "basement/boiler/mode",
			state:       "eco",
			wantState:   map[string]device.Value{"mode": device.String("eco")},
			write:       map[string]device.Value{"targetTemperature": device.Float(55)},
			wantPublish: []Publish{{Topic: "basement/boiler/temperature/set", Payload: []byte("55.0")}},
		},
		{
			name:  "HA docs vacuum state schema",
			topic: "homeassistant/vacuum/robot/config",
			config: `{"name":"Robot","supported_features":["start","pause","stop","return_home","battery","status","locate","clean_spot","fan_speed","send_command"],
				"command_topic":"vacuum/command","state_topic":"vacuum/state","set_fan_speed_topic":"vacuum/set_fan_speed",
				"fan_speed_list":["min","medium","high","max"],"send_command_topic":"vacuum/send_command"}`,
			stateTopic:  "vacuum/state",
			state:       `{"battery_level":61,"state":"docked","fan_speed":"max"}`,
			wantState:   map[string]device.Value{"status": device.String("docked"), "battery": device.Int(61), "fanSpeed": device.String("max")},
			write:       map[string]device.Value{"action": device.String("return_to_base")},
			wantPublish: []Publish{{Topic: "vacuum/command", Payload: []byte("return_to_base")}},
		},
		{
			name:  "zigbee2mqtt countdown number",
			topic: "homeassistant/number/0x0033/countdown/config",
			config: `{"name":"Countdown","command_topic":"zigbee2mqtt/plug/set/countdown","state_topic":"zigbee2mqtt/plug",
				"value_template":"{{ value_json.countdown }}","min":0,"max":43200,"step":1,"unit_of_measurement":"s"}`,
			stateTopic:  "zigbee2mqtt/plug",
			state:       `{"countdown":30,"power_on_behavior":"off"}`,
			wantState:   map[string]device.Value{"countdown": device.Int(30)},
			write:       map[string]device.Value{"countdown": device.Int(60)},
			wantPublish: []Publish{{Topic: "zigbee2mqtt/plug/set/countdown", Payload: []byte("60")}},
		},
		{
			name:  "zigbee2mqtt power-on behavior select",
			topic: "homeassistant/select/0x0033/power_on_behavior/config",
			config: `{"name":"Power-on behavior","command_topic":"zigbee2mqtt/plug/set/power_on_behavior","state_topic":"zigbee2mqtt/plug",
				"value_template":"{{ value_json.power_on_behavior }}","options":["off","on","toggle","previous"]}`,
			stateTopic:  "zigbee2mqtt/plug",
			state:       `{"countdown":30,"power_on_behavior":"toggle"}`,
			wantState:   map[string]device.Value{"powerOnBehavior": device.String("toggle")},
			write:       map[string]device.Value{"powerOnBehavior": device.String("previous")},
			wantPublish: []Publish{{Topic: "zigbee2mqtt/plug/set/power_on_behavior", Payload: []byte("previous")}},
		},
		{
			name:        "ESPHome restart button",
			topic:       "homeassistant/button/livingroom-esp/restart/config",
			config:      `{"name":"Restart","cmd_t":"livingroom-esp/button/restart/command","pl_prs":"PRESS","dev_cla":"restart","uniq_id":"esp-restart","dev":{"ids":"98f4ab123456"}}`,
			write:       map[string]device.Value{"restart": device.Bool(true)},
			wantPublish: []Publish{{Topic: "livingroom-esp/button/restart/command", Payload: []byte("PRESS")}},
		},
	}
}

func TestFixturesDecodeStateAndEncodeCommands(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			e, err := ParseConfig(fx.topic, []byte(fx.config))
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if fx.stateTopic != "" {
				got, err := DecodeState(e, fx.stateTopic, []byte(fx.state))
				if err != nil {
					t.Fatalf("DecodeState: %v", err)
				}
				if !equalState(got, fx.wantState) {
					t.Errorf("DecodeState = %v, want %v", got, fx.wantState)
				}
			}
			if fx.write != nil {
				got, err := EncodeCommand(e, fx.write)
				if err != nil {
					t.Fatalf("EncodeCommand: %v", err)
				}
				if !reflect.DeepEqual(got, fx.wantPublish) {
					t.Errorf("EncodeCommand =\n%s\nwant\n%s", fmtPubs(got), fmtPubs(fx.wantPublish))
				}
			}
		})
	}
}

func equalState(a, b map[string]device.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Kind() != w.Kind() || !v.Equal(w) {
			return false
		}
	}
	return true
}

func fmtPubs(ps []Publish) string {
	s := ""
	for _, p := range ps {
		s += p.Topic + " " + string(p.Payload) + "\n"
	}
	return s
}
