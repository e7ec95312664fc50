package hafixtures

import "github.com/hubagent/hubagent/internal/device"

// Upstream returns configs collected for issue 16 from the publishers'
// own sources (each Name says where from): Zigbee2MQTT's Home Assistant
// extension and its tests, Home Assistant core's MQTT tests and docs,
// EMS-ESP's and OpenMQTTGateway's documentation, Z-Wave JS UI's hass
// device table. Topics and names are kept; where a source gives a YAML
// example or a template in code, the discovery JSON is its direct
// transcription. Every state and write payload here is what that source
// shows Home Assistant exchanging.
func Upstream() []Fixture {
	z2mDev := func(id, name, model string) string {
		return `"device":{"identifiers":["zigbee2mqtt_` + id + `"],"name":"` + name + `","model":"` + model +
			`","via_device":"zigbee2mqtt_bridge_0x00124b00120144ae"}`
	}
	const z2mCoverTpl = `{% if \"running\" in value_json and value_json.running %} {% if value_json.position > 0 %} closing {% else %} opening {% endif %} {% else %} stopped {% endif %}`
	return []Fixture{
		{
			// EMS-ESP documentation, "Using HA's climate component to
			// control Boiler temperatures": mode from an if template.
			Name:  "EMS-ESP docs warm water climate with if mode template",
			Topic: "homeassistant/climate/ems-esp/warm_water/config",
			Config: `{"name":"Warm Water","modes":["auto","off"],"min_temp":40,"max_temp":60,"temp_step":1,
				"current_temperature_topic":"ems-esp/boiler_data_ww","temperature_state_topic":"ems-esp/boiler_data_ww",
				"mode_state_topic":"ems-esp/boiler_data_ww","current_temperature_template":"{{ value_json.wWCurTemp }}",
				"temperature_state_template":"{{ value_json.wWSelTemp }}",
				"mode_state_template":"{% if value_json.wWActivated == 'off' %} off {% else %} auto {% endif %}",
				"temperature_command_topic":"ems-esp/boiler","mode_command_topic":"ems-esp/boiler"}`,
			StateTopic: "ems-esp/boiler_data_ww",
			State:      `{"wWCurTemp":47.3,"wWSelTemp":52,"wWActivated":"on"}`,
			WantState: map[string]device.Value{"currentTemperature": device.Float(47.3), "targetTemperature": device.Float(52),
				"mode": device.String("auto")},
			Write:       map[string]device.Value{"mode": device.String("off")},
			WantPublish: []Publish{{Topic: "ems-esp/boiler", Payload: "off"}},
		},
		{
			// Zigbee2MQTT test/extensions/homeassistant.test.ts, "Should
			// discover thermostat devices" (TS0601_thermostat), with the
			// availability block current Zigbee2MQTT publishes.
			Name:  "zigbee2mqtt TS0601 thermostat with action template",
			Topic: "homeassistant/climate/0x0017882104a44559/climate/config",
			Config: `{"action_template":"{% set values = {None:None,'idle':'idle','heat':'heating','cool':'cooling','fan_only':'fan'} %}{{ values[value_json.running_state] }}",
				"action_topic":"zigbee2mqtt/TS0601_thermostat",` + Z2MAvail + `,
				"current_temperature_template":"{{ value_json.local_temperature }}","current_temperature_topic":"zigbee2mqtt/TS0601_thermostat",
				` + z2mDev("0x0017882104a44559", "TS0601_thermostat", "Radiator valve with thermostat (TS0601_thermostat)") + `,
				"preset_mode_command_topic":"zigbee2mqtt/TS0601_thermostat/set/preset","preset_modes":["schedule","manual","boost","complex","comfort","eco","away"],
				"preset_mode_value_template":"{{ value_json.preset }}","preset_mode_state_topic":"zigbee2mqtt/TS0601_thermostat",
				"json_attributes_topic":"zigbee2mqtt/TS0601_thermostat","max_temp":"35","min_temp":"5",
				"mode_command_topic":"zigbee2mqtt/TS0601_thermostat/set/system_mode","mode_state_template":"{{ value_json.system_mode }}",
				"mode_state_topic":"zigbee2mqtt/TS0601_thermostat","modes":["heat","auto","off"],"name":null,
				"temp_step":0.5,"temperature_command_topic":"zigbee2mqtt/TS0601_thermostat/set/current_heating_setpoint",
				"temperature_state_template":"{{ value_json.current_heating_setpoint }}","temperature_state_topic":"zigbee2mqtt/TS0601_thermostat",
				"temperature_unit":"C","unique_id":"0x0017882104a44559_climate_zigbee2mqtt"}`,
			StateTopic: "zigbee2mqtt/TS0601_thermostat",
			State:      `{"local_temperature":21.5,"current_heating_setpoint":22,"system_mode":"heat","running_state":"heat","preset":"manual"}`,
			WantState: map[string]device.Value{"currentTemperature": device.Float(21.5), "targetTemperature": device.Float(22),
				"mode": device.String("heat"), "hvacAction": device.String("heating")},
			Write:       map[string]device.Value{"targetTemperature": device.Float(19.5)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/TS0601_thermostat/set/current_heating_setpoint", Payload: "19.5"}},
		},
		{
			// Zigbee2MQTT lib/extension/homeassistant.ts, cover with a
			// running property (value_template as the extension builds
			// it), endpoint l1 of a dual curtain module.
			Name:  "zigbee2mqtt dual curtain module cover l1 with running if template",
			Topic: "homeassistant/cover/0x0017880104e45542/cover_l1/config",
			Config: `{"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}],
				"command_topic":"zigbee2mqtt/dual_curtain/l1/set",` + z2mDev("0x0017880104e45542", "dual_curtain", "Dual curtain module") + `,
				"name":"L1","object_id":"dual_curtain_l1","position_template":"{{ value_json.position_l1 }}",
				"position_topic":"zigbee2mqtt/dual_curtain","set_position_template":"{ \"position_l1\": {{ position }} }",
				"set_position_topic":"zigbee2mqtt/dual_curtain/l1/set","state_topic":"zigbee2mqtt/dual_curtain",
				"value_template":"` + z2mCoverTpl + `","unique_id":"0x0017880104e45542_cover_l1_zigbee2mqtt"}`,
			StateTopic:  "zigbee2mqtt/dual_curtain",
			State:       `{"position_l1":30,"position_l2":80,"running":false}`,
			WantState:   map[string]device.Value{"position": device.Int(30)},
			Write:       map[string]device.Value{"position": device.Int(55)},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/dual_curtain/l1/set", Payload: `{ "position_l1": 55 }`}},
		},
		{
			Name:  "zigbee2mqtt dual curtain module cover l2 with running if template",
			Topic: "homeassistant/cover/0x0017880104e45542/cover_l2/config",
			Config: `{"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}],
				"command_topic":"zigbee2mqtt/dual_curtain/l2/set",` + z2mDev("0x0017880104e45542", "dual_curtain", "Dual curtain module") + `,
				"name":"L2","object_id":"dual_curtain_l2","position_template":"{{ value_json.position_l2 }}",
				"position_topic":"zigbee2mqtt/dual_curtain","set_position_template":"{ \"position_l2\": {{ position }} }",
				"set_position_topic":"zigbee2mqtt/dual_curtain/l2/set","state_topic":"zigbee2mqtt/dual_curtain",
				"value_template":"` + z2mCoverTpl + `","unique_id":"0x0017880104e45542_cover_l2_zigbee2mqtt"}`,
			StateTopic:  "zigbee2mqtt/dual_curtain",
			State:       `{"position_l1":30,"position_l2":80,"running":false}`,
			WantState:   map[string]device.Value{"position": device.Int(80)},
			Write:       map[string]device.Value{"motion": device.String("stop")},
			WantPublish: []Publish{{Topic: "zigbee2mqtt/dual_curtain/l2/set", Payload: "STOP"}},
			DeviceNames: map[string]string{"position": "position_cover_l2", "motion": "motion_cover_l2"},
		},
		{
			// Home Assistant core tests/components/mqtt/
			// test_alarm_control_panel.py, test_disarm_publishes_mqtt_with_template.
			Name:  "HA core test alarm panel with code and JSON command template",
			Topic: "homeassistant/alarm_control_panel/test/config",
			Config: `{"name":"test","state_topic":"alarm/state","command_topic":"alarm/command","code":"0123",
				"command_template":"{\"action\":\"{{ action }}\",\"code\":\"{{ code }}\"}"}`,
			StateTopic:  "alarm/state",
			State:       "armed_away",
			WantState:   map[string]device.Value{"alarmState": device.String("armed_away")},
			Write:       map[string]device.Value{"alarmCommand": device.String("disarm"), "alarmCode": device.String("0123")},
			WantPublish: []Publish{{Topic: "alarm/command", Payload: `{"action":"DISARM","code":"0123"}`}},
		},
		{
			// Home Assistant core test_alarm_control_panel.py DEFAULT_CONFIG
			// (no code): the action payload itself.
			Name:        "HA core test alarm panel without code",
			Topic:       "homeassistant/alarm_control_panel/nocode/config",
			Config:      `{"name":"test","state_topic":"alarm/state2","command_topic":"alarm/command2"}`,
			StateTopic:  "alarm/state2",
			State:       "triggered",
			WantState:   map[string]device.Value{"alarmState": device.String("triggered")},
			Write:       map[string]device.Value{"alarmCommand": device.String("arm_night")},
			WantPublish: []Publish{{Topic: "alarm/command2", Payload: "ARM_NIGHT"}},
		},
		{
			// A Honeywell Vista 128 bridge's partition panel: REMOTE_CODE,
			// the panel checks the code.
			Name:  "vista128 bridge alarm partition with REMOTE_CODE",
			Topic: "homeassistant/alarm_control_panel/vista128/partition_1/config",
			Config: `{"name":"Partition 1","unique_id":"vista128_partition_1","state_topic":"vista128/partition/1/state",
				"command_topic":"vista128/partition/1/command","code":"REMOTE_CODE","code_arm_required":true,"code_disarm_required":true,
				"code_trigger_required":false,"command_template":"{\"action\":\"{{ action }}\",\"code\":\"{{ code }}\"}",
				"supported_features":["arm_home","arm_away","arm_night"],"retain":false,
				"device":{"identifiers":["vista128"],"name":"Vista 128"}}`,
			StateTopic:  "vista128/partition/1/state",
			State:       "disarmed",
			WantState:   map[string]device.Value{"alarmState": device.String("disarmed")},
			Write:       map[string]device.Value{"alarmCommand": device.String("arm_away"), "alarmCode": device.String("4321")},
			WantPublish: []Publish{{Topic: "vista128/partition/1/command", Payload: `{"action":"ARM_AWAY","code":"4321"}`}},
		},
		{
			// Home Assistant MQTT valve docs, "Full configuration for a
			// valve that does not report position".
			Name:  "HA docs valve without position",
			Topic: "homeassistant/valve/garden/config",
			Config: `{"name":"MQTT valve","command_template":"{\"x\": {{ value }} }","command_topic":"home-assistant/valve/set",
				"state_topic":"home-assistant/valve/state","qos":0,"reports_position":false,"retain":true,
				"payload_open":"OPEN","payload_close":"CLOSE","payload_stop":"STOP","state_open":"open","state_opening":"opening",
				"state_closed":"closed","state_closing":"closing","value_template":"{{ value_json.x }}"}`,
			StateTopic:  "home-assistant/valve/state",
			State:       `{"x":"opening"}`,
			WantState:   map[string]device.Value{"position": device.Int(100)},
			Write:       map[string]device.Value{"motion": device.String("close")},
			WantPublish: []Publish{{Topic: "home-assistant/valve/set", Payload: `{"x": CLOSE }`, Retain: true}},
		},
		{
			// Home Assistant MQTT valve docs, "Sample configuration of a
			// valve that reports the position".
			Name:  "HA docs valve reporting position",
			Topic: "homeassistant/valve/main/config",
			Config: `{"name":"MQTT valve","command_template":"{\"x\": {{ value }} }","command_topic":"home-assistant/valve2/set",
				"state_topic":"home-assistant/valve2/state","qos":0,"reports_position":true,"retain":true,
				"position_closed":0,"position_open":100,"value_template":"{{ value_json.x }}"}`,
			StateTopic:  "home-assistant/valve2/state",
			State:       `{"x":40}`,
			WantState:   map[string]device.Value{"position": device.Int(40)},
			Write:       map[string]device.Value{"position": device.Int(60)},
			WantPublish: []Publish{{Topic: "home-assistant/valve2/set", Payload: `{"x": 60 }`, Retain: true}},
		},
		{
			// OpenMQTTGateway main/config_mqttDiscovery and
			// ZgatewayBT: a BLE tag as device_tracker with an if template.
			Name:  "OpenMQTTGateway BLE tracker with if template",
			Topic: "homeassistant/device_tracker/C4A0FC8D1E2F-tracker/config",
			Config: `{"stat_t":"home/OpenMQTTGateway/BTtoMQTT/C4A0FC8D1E2F","name":"NUT-tracker","uniq_id":"C4A0FC8D1E2F-tracker",
				"val_tpl":"{% if value_json.get('rssi') -%}home{%- else -%}not_home{%- endif %}","source_type":"bluetooth_le",
				"dev":{"ids":["C4A0FC8D1E2F"],"name":"NUT","mdl":"NUT","mf":"Nut"}}`,
			StateTopic: "home/OpenMQTTGateway/BTtoMQTT/C4A0FC8D1E2F",
			State:      `{"id":"C4:A0:FC:8D:1E:2F","rssi":-72}`,
			WantState:  map[string]device.Value{"home": device.Bool(true), "location": device.String("home")},
		},
		{
			// Home Assistant MQTT light docs, template schema example
			// ("Simple string payload").
			Name:  "HA docs template light",
			Topic: "homeassistant/light/theater/config",
			Config: `{"schema":"template","name":"Theater","command_topic":"home/rgb1/set","state_topic":"home/rgb1/status",
				"command_on_template":"on,{{ brightness|d }},{{ red|d }}-{{ green|d }}-{{ blue|d }}","command_off_template":"off",
				"state_template":"{{ value.split(',')[0] }}","brightness_template":"{{ value.split(',')[1] }}",
				"red_template":"{{ value.split(',')[2].split('-')[0] }}","green_template":"{{ value.split(',')[2].split('-')[1] }}",
				"blue_template":"{{ value.split(',')[2].split('-')[2] }}"}`,
			StateTopic: "home/rgb1/status",
			State:      "on,255,255-128-0",
			WantState: map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(100),
				"color": device.String("#ff8000")},
			Write:       map[string]device.Value{"brightness": device.Int(50), "color": device.String("#0000ff")},
			WantPublish: []Publish{{Topic: "home/rgb1/set", Payload: "on,128,0-0-255"}},
		},
		{
			// Home Assistant MQTT update docs (JSON state, install
			// command).
			Name:  "HA docs update entity",
			Topic: "homeassistant/update/router/config",
			Config: `{"name":"Amazing Device Update","title":"Device Firmware","state_topic":"amazing-device/state-topic",
				"device_class":"firmware","command_topic":"amazing-device/command","payload_install":"install"}`,
			StateTopic:  "amazing-device/state-topic",
			State:       `{"installed_version":"1.21.0","latest_version":"1.22.0","title":"Device Firmware"}`,
			WantState:   map[string]device.Value{"installedVersion": device.String("1.21.0"), "latestVersion": device.String("1.22.0")},
			Write:       map[string]device.Value{"install": device.Bool(true)},
			WantPublish: []Publish{{Topic: "amazing-device/command", Payload: "install"}},
		},
		{
			// Home Assistant core tests/components/mqtt/test_text.py
			// (min/max, command template).
			Name:  "HA core test text with command template",
			Topic: "homeassistant/text/test/config",
			Config: `{"name":"test","state_topic":"state-topic","command_topic":"command-topic","min":0,"max":10,
				"command_template":"CMD: {{ value }}"}`,
			StateTopic:  "state-topic",
			State:       "some state",
			WantState:   map[string]device.Value{"test": device.String("some state")},
			Write:       map[string]device.Value{"test": device.String("beer")},
			WantPublish: []Publish{{Topic: "command-topic", Payload: "CMD: beer"}},
		},
		{
			// Home Assistant MQTT scene docs.
			Name:        "HA docs scene",
			Topic:       "homeassistant/scene/office/config",
			Config:      `{"name":"Living room","unique_id":"living_room_scene","command_topic":"home/living_room/scene/set","payload_on":"ON","retain":true}`,
			Write:       map[string]device.Value{"activate": device.Bool(true)},
			WantPublish: []Publish{{Topic: "home/living_room/scene/set", Payload: "ON", Retain: true}},
		},
	}
}
