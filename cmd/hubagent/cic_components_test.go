package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// Devices of issue 16, each as its publisher sends it (see hafixtures'
// Upstream for the sources): a thermostat whose mode comes from an if
// template (EMS-ESP), a dual curtain module (Zigbee2MQTT), an alarm panel
// with a code (Home Assistant core's test), a valve reporting position
// (Home Assistant docs) and a device-based discovery (cmps) device.
const (
	thermoTopic  = "homeassistant/climate/ems-esp/warm_water/config"
	thermoConfig = `{"name":"Warm Water","modes":["auto","off"],"min_temp":40,"max_temp":60,"temp_step":1,
		"current_temperature_topic":"ems-esp/boiler_data_ww","temperature_state_topic":"ems-esp/boiler_data_ww",
		"mode_state_topic":"ems-esp/boiler_data_ww","current_temperature_template":"{{ value_json.wWCurTemp }}",
		"temperature_state_template":"{{ value_json.wWSelTemp }}",
		"mode_state_template":"{% if value_json.wWActivated == 'off' %} off {% else %} auto {% endif %}",
		"temperature_command_topic":"ems-esp/boiler/wwtemp","mode_command_topic":"ems-esp/boiler/wwmode",
		"device":{"identifiers":["ems-esp"],"name":"Boiler"}}`
	thermoID = "mqtt-ems-esp"

	coverL1Topic = "homeassistant/cover/0x0017880104e45542/cover_l1/config"
	coverL2Topic = "homeassistant/cover/0x0017880104e45542/cover_l2/config"
	coverTpl     = `{% if \"running\" in value_json and value_json.running %} {% if value_json.position > 0 %} closing {% else %} opening {% endif %} {% else %} stopped {% endif %}`
	coverID      = "mqtt-zigbee2mqtt_0x0017880104e45542"

	alarmTopic  = "homeassistant/alarm_control_panel/alarm01/config"
	alarmConfig = `{"name":"test","state_topic":"alarm/state","command_topic":"alarm/command","code":"0123",
		"command_template":"{\"action\":\"{{ action }}\",\"code\":\"{{ code }}\"}","device":{"identifiers":["alarm01"],"name":"Alarm"}}`
	alarmID = "mqtt-alarm01"

	valveTopic  = "homeassistant/valve/valve01/config"
	valveConfig = `{"name":"MQTT valve","command_template":"{\"x\": {{ value }} }","command_topic":"home-assistant/valve2/set",
		"state_topic":"home-assistant/valve2/state","reports_position":true,"position_closed":0,"position_open":100,
		"value_template":"{{ value_json.x }}","device":{"identifiers":["valve01"],"name":"Garden valve"}}`
	valveID = "mqtt-valve01"

	cmpsTopic  = "homeassistant/device/kitchen01x/config"
	cmpsConfig = `{"dev":{"ids":"kitchen01x","name":"Kitchen"},"o":{"name":"bla2mqtt"},"state_topic":"kitchen/state",
		"cmps":{"temp":{"p":"sensor","device_class":"temperature","unit_of_measurement":"°C","value_template":"{{ value_json.temperature }}","unique_id":"k_t"},
		"relay":{"p":"switch","command_topic":"kitchen/relay/set","value_template":"{{ value_json.relay }}","unique_id":"k_r"}}}`
	cmpsID = "mqtt-kitchen01x"
)

func coverConfig(l string) string {
	return `{"command_topic":"zigbee2mqtt/dual_curtain/` + l + `/set","device":{"identifiers":["zigbee2mqtt_0x0017880104e45542"],"name":"dual_curtain"},
		"name":"` + strings.ToUpper(l) + `","position_template":"{{ value_json.position_` + l + ` }}","position_topic":"zigbee2mqtt/dual_curtain",
		"set_position_template":"{ \"position_` + l + `\": {{ position }} }","set_position_topic":"zigbee2mqtt/dual_curtain/` + l + `/set",
		"state_topic":"zigbee2mqtt/dual_curtain","value_template":"` + coverTpl + `","unique_id":"0x0017880104e45542_cover_` + l + `_zigbee2mqtt"}`
}

// devices16 plays the five devices: it records their commands and
// answers each the way the real device reports its new state.
type devices16 struct {
	c        paho.Client
	mu       sync.Mutex
	commands []string
	state    map[string]map[string]any // state topic → JSON state
}

func newDevices16(t *testing.T, w *cicWorld) *devices16 {
	d := &devices16{state: map[string]map[string]any{
		"ems-esp/boiler_data_ww":   {"wWCurTemp": 47.3, "wWSelTemp": 52, "wWActivated": "on"},
		"zigbee2mqtt/dual_curtain": {"position_l1": 30, "position_l2": 80, "running": false},
		"kitchen/state":            {"temperature": 21.5, "relay": "OFF"},
	}}
	o := paho.NewClientOptions().AddBroker(w.broker.URL()).SetClientID("devices16").SetCleanSession(true)
	d.c = paho.NewClient(o)
	if tok := d.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { d.c.Disconnect(50) })
	for _, f := range []string{"ems-esp/boiler/+", "zigbee2mqtt/dual_curtain/+/set", "alarm/command", "home-assistant/valve2/set", "kitchen/relay/set"} {
		if tok := d.c.Subscribe(f, 1, d.onCommand); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	for topic := range d.state {
		d.report(topic)
	}
	d.c.Publish("alarm/state", 1, true, "disarmed").Wait()
	d.c.Publish("home-assistant/valve2/state", 1, true, `{"x":40}`).Wait()
	return d
}

func (d *devices16) report(topic string) {
	d.mu.Lock()
	b, _ := json.Marshal(d.state[topic])
	d.mu.Unlock()
	d.c.Publish(topic, 1, true, b).Wait()
}

func (d *devices16) onCommand(_ paho.Client, m paho.Message) {
	topic, payload := m.Topic(), string(m.Payload())
	d.mu.Lock()
	d.commands = append(d.commands, topic+" "+payload)
	d.mu.Unlock()
	set := func(st, k string, v any) {
		d.mu.Lock()
		d.state[st][k] = v
		d.mu.Unlock()
		go d.report(st)
	}
	switch {
	case topic == "ems-esp/boiler/wwmode":
		set("ems-esp/boiler_data_ww", "wWActivated", map[string]string{"off": "off", "auto": "on"}[payload])
	case topic == "ems-esp/boiler/wwtemp":
		var f float64
		fmt.Sscan(payload, &f)
		set("ems-esp/boiler_data_ww", "wWSelTemp", f)
	case strings.HasPrefix(topic, "zigbee2mqtt/dual_curtain/"):
		var cmd map[string]any
		if json.Unmarshal(m.Payload(), &cmd) == nil {
			for k, v := range cmd {
				set("zigbee2mqtt/dual_curtain", k, v)
			}
		}
	case topic == "alarm/command":
		var cmd struct{ Action, Code string }
		if json.Unmarshal(m.Payload(), &cmd) == nil && cmd.Code == "0123" {
			st := map[string]string{"ARM_AWAY": "armed_away", "DISARM": "disarmed", "ARM_HOME": "armed_home"}[cmd.Action]
			go d.c.Publish("alarm/state", 1, true, st).Wait()
		}
	case topic == "home-assistant/valve2/set":
		var cmd struct{ X float64 }
		if json.Unmarshal(m.Payload(), &cmd) == nil {
			go d.c.Publish("home-assistant/valve2/state", 1, true, fmt.Sprintf(`{"x":%g}`, cmd.X)).Wait()
		}
	case topic == "kitchen/relay/set":
		set("kitchen/state", "relay", payload)
	}
}

func (d *devices16) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.commands
	d.commands = nil
	return out
}

// TestCICControlsIssue16Devices controls each device through /cic/v1:
// the write goes out exactly as its publisher expects, the device's
// answer comes back as confirmed state.
func TestCICControlsIssue16Devices(t *testing.T) {
	t.Parallel()
	w := newCICWorld(t, "")
	for topic, cfg := range map[string]string{thermoTopic: thermoConfig, coverL1Topic: coverConfig("l1"), coverL2Topic: coverConfig("l2"),
		alarmTopic: alarmConfig, valveTopic: valveConfig, cmpsTopic: cmpsConfig} {
		w.app.publish(t, topic, cfg)
	}
	devs := newDevices16(t, w)
	pollDevices(t, w.dir, 10*time.Second, "the five devices with state", func(ds map[string]device.Device) bool {
		return ds[thermoID].State["mode"].Equal(device.String("auto")) && ds[coverID].State["position_cover_l2"].Equal(device.Int(80)) &&
			ds[alarmID].State["alarmState"].Equal(device.String("disarmed")) && ds[valveID].State["position"].Equal(device.Int(40)) &&
			ds[cmpsID].State["power"].Equal(device.Bool(false))
	})
	devs.take()
	p := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control",
		[]string{thermoID, coverID, alarmID, valveID, cmpsID}, "--config", "hubagent.toml")

	control := func(id string, props map[string]any) answer {
		t.Helper()
		return p.call("CIC.Control", "Control", map[string]any{"commands": []any{map[string]any{"deviceId": id, "properties": props}}})
	}
	tests := []struct {
		name      string
		id        string
		props     map[string]any
		wantState map[string]any // in the Control result
		wantSent  []string
	}{
		{"thermostat mode through an if template", thermoID, map[string]any{"mode": "off"},
			map[string]any{"mode": "off"}, []string{"ems-esp/boiler/wwmode off"}},
		{"thermostat setpoint", thermoID, map[string]any{"targetTemperature": 55.0},
			map[string]any{"targetTemperature": 55.0}, []string{"ems-esp/boiler/wwtemp 55.0"}},
		{"dual cover first curtain", coverID, map[string]any{"position": 55},
			map[string]any{"position": 55.0}, []string{`zigbee2mqtt/dual_curtain/l1/set { "position_l1": 55 }`}},
		{"dual cover second curtain", coverID, map[string]any{"position_cover_l2": 20},
			map[string]any{"position_cover_l2": 20.0}, []string{`zigbee2mqtt/dual_curtain/l2/set { "position_l2": 20 }`}},
		{"alarm panel arm away with the code", alarmID, map[string]any{"alarmCommand": "arm_away", "alarmCode": "0123"},
			nil, []string{`alarm/command {"action":"ARM_AWAY","code":"0123"}`}},
		{"valve position", valveID, map[string]any{"position": 60},
			map[string]any{"position": 60.0}, []string{`home-assistant/valve2/set {"x": 60 }`}},
		{"cmps device relay", cmpsID, map[string]any{"power": true},
			map[string]any{"power": true}, []string{"kitchen/relay/set ON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := control(tt.id, tt.props)
			res, _ := ans.payload["results"].([]any)
			if ans.status != 200 || len(res) != 1 {
				t.Fatalf("Control: %d %s", ans.status, ans.raw)
			}
			r := res[0].(map[string]any)
			if r["errorCode"] != nil {
				t.Fatalf("Control: %s", ans.raw)
			}
			st, _ := r["state"].(map[string]any)
			for k, v := range tt.wantState {
				if st[k] != v {
					t.Errorf("result state %s = %v, want %v (%s)", k, st[k], v, ans.raw)
				}
			}
			// Anything sent beyond wantSent arrives with it (or is left for
			// the next case's take to show).
			var got []string
			testutil.Poll(5*time.Second, func() bool { got = append(got, devs.take()...); return len(got) >= len(tt.wantSent) })
			if strings.Join(got, "\n") != strings.Join(tt.wantSent, "\n") {
				t.Errorf("published %q, want %q", got, tt.wantSent)
			}
		})
	}
	// The panel's answer arrives as its new state.
	var ans answer
	if !testutil.Poll(5*time.Second, func() bool {
		ans = p.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": []string{alarmID}})
		st, _ := ans.payload["devices"].([]any)[0].(map[string]any)["state"].(map[string]any)
		return st["alarmState"] == "armed_away"
	}) {
		t.Fatalf("alarm state after arming: %s", ans.raw)
	}
	// A wrong code is refused and nothing is published.
	ans = control(alarmID, map[string]any{"alarmCommand": "disarm", "alarmCode": "9999"})
	// One command: the error is the answer's own (as for DEVICE_OFFLINE).
	// The right code must not leak into the answer; only the payload is
	// searched (the header's messageId is a counter that may contain it).
	leak, _ := json.Marshal(ans.payload)
	if ans.code() != "ACCESS_DENIED" || ans.status != 403 || strings.Contains(string(leak), "0123") {
		t.Errorf("wrong code: %s", ans.raw)
	}
	// The proof that nothing went out: a later command with the right
	// code is the first thing the panel receives.
	if ans := control(alarmID, map[string]any{"alarmCommand": "disarm", "alarmCode": "0123"}); ans.status != 200 {
		t.Fatalf("disarm with the code: %s", ans.raw)
	}
	var got []string
	testutil.Eventually(t, 5*time.Second, "the disarm command", func() bool { got = append(got, devs.take()...); return len(got) > 0 })
	if want := `alarm/command {"action":"DISARM","code":"0123"}`; len(got) != 1 || got[0] != want {
		t.Errorf("published %q after a wrong code, want only %q", got, want)
	}
}
