package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus"
	"github.com/hubagent/hubagent/internal/testutil"
)

const (
	e2eLampTopic  = "homeassistant/light/0x000b57fffec6a5b2/light/config"
	e2eLampConfig = `{"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}],
		"brightness":true,"brightness_scale":254,"command_topic":"zigbee2mqtt/Lamp/set",
		"device":{"identifiers":["zigbee2mqtt_0x000b57fffec6a5b2"],"manufacturer":"IKEA","model":"LED1545G12","name":"Lamp"},
		"name":null,"schema":"json","state_topic":"zigbee2mqtt/Lamp","supported_color_modes":["brightness"],
		"unique_id":"0x000b57fffec6a5b2_light_zigbee2mqtt"}`
	e2eLampID     = "mqtt-zigbee2mqtt_0x000b57fffec6a5b2"
	e2eMuteTopic  = "homeassistant/light/0x0000000000000bad/light/config"
	e2eMuteConfig = `{"brightness":true,"command_topic":"zigbee2mqtt/Mute/set","device":{"identifiers":["zigbee2mqtt_0x0000000000000bad"],"name":"Mute"},
		"schema":"json","state_topic":"zigbee2mqtt/Mute","supported_color_modes":["brightness"]}`
	e2eMuteID = "mqtt-zigbee2mqtt_0x0000000000000bad"
)

// appliance is a paho client playing Zigbee2MQTT: it publishes discovery
// and state, records commands, and echoes the lamp's commands as state.
type appliance struct {
	c        paho.Client
	mu       sync.Mutex
	commands []string
	agentUp  chan struct{}
	upOnce   sync.Once
}

func newAppliance(t testing.TB, b *testutil.Mosquitto) *appliance {
	t.Helper()
	a := &appliance{agentUp: make(chan struct{})}
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("z2m-test").SetCleanSession(true).
		SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond)
	// Resubscribe after a broker restart (clean session).
	o.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe("zigbee2mqtt/+/set", 0, a.onCommand)
		c.Subscribe("hubagent/+/status", 0, func(_ paho.Client, m paho.Message) {
			if string(m.Payload()) == "online" {
				a.upOnce.Do(func() { close(a.agentUp) })
			}
		})
	})
	a.c = paho.NewClient(o)
	if tok := a.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("appliance connect: %v", tok.Error())
	}
	t.Cleanup(func() { a.c.Disconnect(50) })
	return a
}

func (a *appliance) onCommand(c paho.Client, m paho.Message) {
	a.mu.Lock()
	a.commands = append(a.commands, m.Topic()+" "+string(m.Payload()))
	a.mu.Unlock()
	if m.Topic() != "zigbee2mqtt/Lamp/set" {
		return // the mute lamp never answers
	}
	var cmd map[string]any
	if json.Unmarshal(m.Payload(), &cmd) != nil {
		return
	}
	state := map[string]any{"state": "ON", "brightness": 254, "linkquality": 90}
	for k, v := range cmd {
		state[k] = v
	}
	b, _ := json.Marshal(state)
	c.Publish("zigbee2mqtt/Lamp", 0, true, b)
}

func (a *appliance) publish(t testing.TB, topic, payload string) {
	t.Helper()
	if tok := a.c.Publish(topic, 1, true, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func (a *appliance) takeCommands() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.commands
	a.commands = nil
	return out
}

// listDevices runs `hubagent devices --json`.
func listDevices(t testing.TB, dir string, args ...string) map[string]device.Device {
	t.Helper()
	out, errOut, code := hubagent(t, dir, append([]string{"devices", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("devices --json: exit %d: %s", code, errOut)
	}
	var ds []device.Device
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, out)
	}
	m := map[string]device.Device{}
	for _, d := range ds {
		m[d.ID] = d
	}
	return m
}

func pollDevices(t testing.TB, dir string, within time.Duration, what string, ok func(map[string]device.Device) bool) {
	t.Helper()
	var ds map[string]device.Device
	if !testutil.Poll(within, func() bool { ds = listDevices(t, dir, "--config", "hubagent.toml"); return ok(ds) }) {
		t.Fatalf("no %s within %v: %+v", what, within, ds)
	}
}

func writeE2EConfig(t *testing.T, dir string) {
	t.Helper()
	cfg := "[api]\ncommand_timeout = \"1s\"\n\n[mdns]\nenabled = false\n"
	if err := os.WriteFile(filepath.Join(dir, "hubagent.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMQTTLightEndToEnd(t *testing.T) {
	t.Parallel()
	broker := testutil.StartMosquitto(t)
	dir := t.TempDir()
	writeE2EConfig(t, dir)
	app := newAppliance(t, broker)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-broker", broker.URL())
	ag.healthz(t, 10*time.Second)
	select {
	case <-app.agentUp:
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent did not announce itself online on hubagent/<id>/status\n%s", ag.stderr)
	}

	// 1. Discovery and state reach `devices --json` within a second.
	app.publish(t, "zigbee2mqtt/bridge/state", `{"state":"online"}`)
	app.publish(t, e2eLampTopic, e2eLampConfig)
	app.publish(t, "zigbee2mqtt/Lamp", `{"state":"ON","brightness":254,"linkquality":90}`)
	pollDevices(t, dir, time.Second, "lamp with power and brightness in %", func(ds map[string]device.Device) bool {
		d, ok := ds[e2eLampID]
		return ok && d.Category == device.CategoryLight && d.Online &&
			d.State["power"].Equal(device.Bool(true)) && d.State["brightness"].Equal(device.Int(100))
	})

	// 2. A write is published as Zigbee2MQTT expects and returns the
	// state the lamp confirmed.
	out, errOut, code := hubagent(t, dir, "device", "set", e2eLampID, "brightness=50", "--config", "hubagent.toml")
	if code != 0 || !strings.Contains(out, "brightness=50") || !strings.Contains(out, "power=true") {
		t.Fatalf("device set: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := app.takeCommands(); len(got) != 1 || got[0] != `zigbee2mqtt/Lamp/set {"state":"ON","brightness":127}` {
		t.Errorf("commands published: %q", got)
	}

	// A lamp that never echoes: DEVICE_TIMEOUT, exit 1.
	app.publish(t, e2eMuteTopic, e2eMuteConfig)
	pollDevices(t, dir, 5*time.Second, "mute lamp", func(ds map[string]device.Device) bool { return ds[e2eMuteID].Online })
	_, errOut, code = hubagent(t, dir, "device", "set", e2eMuteID, "brightness=10", "--config", "hubagent.toml")
	if code != 1 || !strings.HasPrefix(errOut, "hubagent device: DEVICE_TIMEOUT") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("set on a silent lamp: exit %d, stderr %q; want exit 1 and one DEVICE_TIMEOUT line", code, errOut)
	}
	if got := app.takeCommands(); len(got) != 1 || got[0] != `zigbee2mqtt/Mute/set {"state":"ON","brightness":26}` {
		t.Errorf("commands published: %q", got)
	}

	// 4. Hostile input: the agent keeps answering, good devices intact,
	// refusals listed.
	app.publish(t, "homeassistant/light/broken/config", `{"name":"x","command_topic":`)
	app.publish(t, "homeassistant/sensor/huge/config", `{"state_topic":"a","pad":"`+strings.Repeat("x", 2<<20)+`"}`)
	app.publish(t, "homeassistant/sensor/deep/config", strings.Repeat("[", 100000))
	app.publish(t, "zigbee2mqtt/Lamp", "\xff\x00\xfe")
	// A config the agent can use only in part: accepted, with a warning
	// that names the component, the key and the construct.
	app.publish(t, "homeassistant/climate/partial/config", `{"mode_state_topic":"partial/state","mode_state_template":"{{ states('climate.x') }}",`+
		`"modes":["off","heat"],"mode_command_topic":"partial/mode","current_temperature_topic":"partial/temp"}`)
	var disc discoveredOut
	testutil.Poll(5*time.Second, func() bool { // the checks below say what is missing
		out, errOut, code = hubagent(t, dir, "discovered", "--errors", "--json", "--config", "hubagent.toml")
		if code != 0 {
			t.Fatalf("discovered --errors --json: exit %d: %s", code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &disc); err != nil {
			t.Fatalf("discovered --json: %v\n%s", err, out)
		}
		return len(disc.MQTT) == 4
	})
	for _, d := range disc.MQTT {
		if d.Topic == "homeassistant/climate/partial/config" {
			if d.Status != localbus.StatusAccepted || len(d.Warnings) != 1 ||
				!strings.Contains(d.Warnings[0], "climate: property mode is write-only: mode_state_template:") ||
				!strings.Contains(d.Warnings[0], "function states(): unsupported") {
				t.Errorf("partly usable entry %+v", d)
			}
			continue
		}
		if d.Status != localbus.StatusRefused || d.Reason == "" || d.Component == "" {
			t.Errorf("refused entry %+v", d)
		}
	}
	if len(disc.MQTT) != 4 || disc.MDNS == nil {
		t.Errorf("discovered --errors --json = %s, want the 3 hostile configs, the partial one and an mdns array", out)
	}
	ag.healthz(t, 5*time.Second)
	ds := listDevices(t, dir, "--config", "hubagent.toml")
	if d := ds[e2eLampID]; !d.Online || !d.State["brightness"].Equal(device.Int(50)) {
		t.Errorf("lamp after hostile input: %+v", d)
	}
	out, _, code = hubagent(t, dir, "discovered", "--config", "hubagent.toml")
	if code != 0 || !strings.Contains(out, "MQTT discovery: 6 configs, 3 refused") || !strings.Contains(out, e2eLampTopic) ||
		!strings.Contains(out, "accepted with warnings: climate: property mode is write-only") {
		t.Errorf("discovered: exit %d\n%s", code, out)
	}
}

func TestMQTTDevicesSurviveBrokerAndAgentRestarts(t *testing.T) {
	t.Parallel()
	broker := testutil.StartMosquitto(t)
	dir := t.TempDir()
	writeE2EConfig(t, dir)
	app := newAppliance(t, broker)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-broker", broker.URL())
	ag.healthz(t, 10*time.Second)
	app.publish(t, "zigbee2mqtt/bridge/state", `{"state":"online"}`)
	app.publish(t, e2eLampTopic, e2eLampConfig)
	app.publish(t, "zigbee2mqtt/Lamp", `{"state":"ON","brightness":127}`)
	lampOnline := func(want bool) func(map[string]device.Device) bool {
		return func(ds map[string]device.Device) bool {
			d, ok := ds[e2eLampID]
			return ok && d.Online == want && d.State["brightness"].Equal(device.Int(50))
		}
	}
	pollDevices(t, dir, 5*time.Second, "lamp online", lampOnline(true))

	// 3. Broker stopped and restarted: offline, then online, same agent.
	broker.Stop()
	pollDevices(t, dir, 5*time.Second, "lamp offline after broker loss", lampOnline(false))
	broker.Restart()
	pollDevices(t, dir, 15*time.Second, "lamp online after the broker came back", lampOnline(true))

	// Agent restarted while the broker is down: the lamp and its last
	// state are listed at once, from the store.
	if code := ag.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("agent exit code %d\n%s", code, ag.stderr)
	}
	broker.Stop()
	ag = startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-broker", broker.URL())
	ag.healthz(t, 10*time.Second)
	ds := listDevices(t, dir, "--config", "hubagent.toml")
	if d, ok := ds[e2eLampID]; !ok || !d.State["brightness"].Equal(device.Int(50)) || d.Online {
		t.Errorf("after agent restart with the broker down: %+v, want the lamp offline with brightness 50", d)
	}
	broker.Restart()
	pollDevices(t, dir, 15*time.Second, "lamp online after the broker replayed", lampOnline(true))
}

func TestDiscoveredWithoutAgentFailsInOneLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, errOut, code := hubagent(t, dir, "discovered")
	if code != 1 || !strings.Contains(errOut, "no agent is running") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("discovered without agent: exit %d, stderr %q", code, errOut)
	}
}
