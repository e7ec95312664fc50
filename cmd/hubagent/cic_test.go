package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

const (
	sensorTopic  = "homeassistant/sensor/0x00158d0001cccccc/temperature/config"
	sensorConfig = `{"device_class":"temperature","state_topic":"zigbee2mqtt/Sensor","value_template":"{{ value_json.temperature }}",
		"unit_of_measurement":"°C","device":{"identifiers":["zigbee2mqtt_0x00158d0001cccccc"],"name":"Sensor"},
		"unique_id":"0x00158d0001cccccc_temperature_zigbee2mqtt"}`
	sensorID    = "mqtt-zigbee2mqtt_0x00158d0001cccccc"
	ghostTopic  = "homeassistant/light/0x00000000000ghost/light/config"
	ghostConfig = `{"availability_topic":"zigbee2mqtt/Ghost/availability","command_topic":"zigbee2mqtt/Ghost/set","schema":"json",
		"state_topic":"zigbee2mqtt/Ghost","brightness":true,"device":{"identifiers":["zigbee2mqtt_0x00000000000ghost"],"name":"Ghost"}}`
	ghostID      = "mqtt-zigbee2mqtt_0x00000000000ghost"
	hiddenTopic  = "homeassistant/light/0x0000000000hidden/light/config"
	hiddenConfig = `{"command_topic":"zigbee2mqtt/Hidden/set","schema":"json","state_topic":"zigbee2mqtt/Hidden",
		"device":{"identifiers":["zigbee2mqtt_0x0000000000hidden"],"name":"Hidden"}}`
	hiddenID = "mqtt-zigbee2mqtt_0x0000000000hidden"
)

// cicWorld is an agent on a real mosquitto with Zigbee2MQTT-like devices:
// a lamp that echoes, one that never does, a read-only sensor, an offline
// lamp and a lamp nobody is shown.
type cicWorld struct {
	dir    string
	ag     *agent
	app    *appliance
	broker *testutil.Mosquitto
}

func newCICWorld(t testing.TB, extraConfig string) *cicWorld {
	return newCICWorldAPI(t, "command_timeout = \"1s\"\ntoken_ttl = \"4s\"\n", extraConfig)
}

// newCICWorldAPI is newCICWorld with the [api] section's settings given.
func newCICWorldAPI(t testing.TB, apiConfig, extraConfig string) *cicWorld {
	t.Helper()
	broker := testutil.StartMosquitto(t)
	dir := t.TempDir()
	cfg := "[api]\n" + apiConfig + "\n[mdns]\nenabled = false\n\n[mqtt]\nbroker = \"" + broker.URL() + "\"\n" + extraConfig
	if err := os.WriteFile(filepath.Join(dir, "hubagent.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addUser(t, dir, "--config", "hubagent.toml")
	app := newAppliance(t, broker)
	ag := startAgent(t, dir, "--config", "hubagent.toml")
	ag.healthz(t, 10*time.Second)
	app.publish(t, "zigbee2mqtt/bridge/state", `{"state":"online"}`)
	app.publish(t, e2eLampTopic, e2eLampConfig)
	app.publish(t, "zigbee2mqtt/Lamp", `{"state":"ON","brightness":254}`)
	app.publish(t, e2eMuteTopic, e2eMuteConfig)
	app.publish(t, sensorTopic, sensorConfig)
	app.publish(t, "zigbee2mqtt/Sensor", `{"temperature":21.5}`)
	app.publish(t, ghostTopic, ghostConfig)
	app.publish(t, "zigbee2mqtt/Ghost/availability", "offline")
	app.publish(t, hiddenTopic, hiddenConfig)
	pollDevices(t, dir, 10*time.Second, "all five devices", func(ds map[string]device.Device) bool {
		return len(ds) == 5 && ds[e2eLampID].Online && ds[sensorID].State["currentTemperature"].Equal(device.Float(21.5)) &&
			!ds[ghostID].Online && ds[e2eMuteID].Online
	})
	app.takeCommands()
	return &cicWorld{dir: dir, ag: ag, app: app, broker: broker}
}

func TestCICEndToEndWithRealBroker(t *testing.T) {
	t.Parallel()
	w := newCICWorld(t, "")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control subscriptions",
		[]string{e2eLampID, e2eMuteID, sensorID, ghostID}, "--config", "hubagent.toml")
	b := linkPartner(t, w.dir, w.ag.api, "Bolt Home", "devices.read", []string{e2eLampID}, "--config", "hubagent.toml")

	// Discover shows exactly the consented devices, per partner.
	ids := func(p *partnerCloud) []string {
		ans := p.call("CIC.Discovery", "Discover", map[string]any{})
		if ans.status != 200 || ans.name != "DiscoverResponse" {
			t.Fatalf("Discover: %d %s", ans.status, ans.raw)
		}
		var out []string
		for _, d := range ans.payload["devices"].([]any) {
			out = append(out, d.(map[string]any)["deviceId"].(string))
		}
		return out
	}
	got := ids(a)
	slices.Sort(got)
	want := []string{e2eMuteID, ghostID, sensorID, e2eLampID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("A discovers %v, want %v (never %s)", got, want, hiddenID)
	}
	if got := ids(b); len(got) != 1 || got[0] != e2eLampID {
		t.Fatalf("B discovers %v, want only the lamp", got)
	}

	// QueryStatus returns live state; unknown and unshared ids look alike.
	w.app.publish(t, "zigbee2mqtt/Sensor", `{"temperature":22.25}`)
	var sensorState map[string]any
	var items []any
	if !testutil.Poll(3*time.Second, func() bool {
		ans := a.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": []string{sensorID, hiddenID, "nope"}})
		items = ans.payload["devices"].([]any)
		sensorState = items[0].(map[string]any)["state"].(map[string]any)
		return sensorState["currentTemperature"] == 22.25
	}) {
		t.Fatalf("QueryStatus did not follow the sensor: %v", sensorState)
	}
	hidden, nope := items[1].(map[string]any), items[2].(map[string]any)
	if hidden["errorCode"] != "DEVICE_NOT_FOUND" || nope["errorCode"] != "DEVICE_NOT_FOUND" ||
		strings.ReplaceAll(hidden["message"].(string), hiddenID, "X") != strings.ReplaceAll(nope["message"].(string), "nope", "X") {
		t.Fatalf("unshared %v vs unknown %v: must be indistinguishable", hidden, nope)
	}

	// Control of the echoing lamp confirms; the silent one times out at
	// about the timeout; the offline one fails at once; nothing is sent
	// for the offline one.
	start := time.Now()
	ans := a.call("CIC.Control", "Control", map[string]any{"commands": []any{
		map[string]any{"deviceId": e2eLampID, "properties": map[string]any{"brightness": 50}}}})
	res := ans.payload["results"].([]any)[0].(map[string]any)
	if ans.status != 200 || res["state"].(map[string]any)["brightness"] != float64(50) || time.Since(start) > time.Second {
		t.Fatalf("Control lamp: %d in %v: %s", ans.status, time.Since(start), ans.raw)
	}
	if got := w.app.takeCommands(); len(got) != 1 || got[0] != `zigbee2mqtt/Lamp/set {"state":"ON","brightness":127}` {
		t.Errorf("lamp command %q", got)
	}
	start = time.Now()
	ans = a.call("CIC.Control", "Control", map[string]any{"commands": []any{
		map[string]any{"deviceId": e2eMuteID, "properties": map[string]any{"power": true}}}})
	if took := time.Since(start); ans.status != 504 || ans.code() != "DEVICE_TIMEOUT" || took < 900*time.Millisecond || took > 3*time.Second {
		t.Fatalf("Control silent lamp: %d %s after %v", ans.status, ans.code(), took)
	}
	if !strings.Contains(ans.payload["message"].(string), "sent") || ans.payload["deviceId"] != e2eMuteID {
		t.Errorf("timeout message should say the command was sent: %s", ans.raw)
	}
	w.app.takeCommands()
	start = time.Now()
	ans = a.call("CIC.Control", "Control", map[string]any{"commands": []any{
		map[string]any{"deviceId": ghostID, "properties": map[string]any{"power": true}}}})
	if ans.status != 409 || ans.code() != "DEVICE_OFFLINE" || time.Since(start) > 300*time.Millisecond {
		t.Fatalf("Control offline lamp: %d %s after %v", ans.status, ans.code(), time.Since(start))
	}
	if got := w.app.takeCommands(); len(got) != 0 {
		t.Fatalf("commands sent to an offline device: %q", got)
	}

	// A batch answers per item, in request order.
	ans = a.call("CIC.Control", "Control", map[string]any{"commands": []any{
		map[string]any{"deviceId": ghostID, "properties": map[string]any{"power": true}},
		map[string]any{"deviceId": e2eLampID, "properties": map[string]any{"brightness": 60}},
		map[string]any{"deviceId": sensorID, "properties": map[string]any{"currentTemperature": 1}},
	}})
	rs := ans.payload["results"].([]any)
	if ans.status != 200 || len(rs) != 3 || rs[0].(map[string]any)["errorCode"] != "DEVICE_OFFLINE" ||
		rs[1].(map[string]any)["state"].(map[string]any)["brightness"] != float64(60) ||
		rs[2].(map[string]any)["errorCode"] != "PROPERTY_READ_ONLY" {
		t.Fatalf("batch: %d %s", ans.status, ans.raw)
	}
	w.app.takeCommands()

	// Partner isolation.
	if ans := b.call("CIC.Control", "Control", map[string]any{"commands": []any{
		map[string]any{"deviceId": e2eLampID, "properties": map[string]any{"power": false}}}}); ans.code() != "ACCESS_DENIED" || ans.status != 403 {
		t.Errorf("B without devices.control: %d %s", ans.status, ans.raw)
	}
	if ans := b.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": []string{e2eMuteID}}); ans.payload["devices"].([]any)[0].(map[string]any)["errorCode"] != "DEVICE_NOT_FOUND" {
		t.Errorf("B reads A's device: %s", ans.raw)
	}
	one := a.callAs(a.token(), "CIC.Query", "QueryStatus", "shared-id", map[string]any{"deviceIds": []string{e2eMuteID}})
	two := b.callAs(b.token(), "CIC.Query", "QueryStatus", "shared-id", map[string]any{"deviceIds": []string{e2eMuteID}})
	if string(one.raw) == string(two.raw) {
		t.Error("B got A's remembered answer for the same messageId")
	}
	if got := w.app.takeCommands(); len(got) != 0 {
		t.Fatalf("isolation checks sent commands: %q", got)
	}

	// The audit trail has every Control.
	out, _, code := hubagent(t, w.dir, "audit", "--json", "--config", "hubagent.toml")
	var entries []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil || len(entries) < 6 {
		t.Fatalf("audit: exit %d, %d entries\n%s", code, len(entries), out)
	}
	if entries[0]["clientId"] != a.clientID || entries[0]["result"] != "OK" || entries[1]["result"] != "DEVICE_TIMEOUT" {
		t.Errorf("audit entries: %v", entries[:2])
	}
}

func TestCICControlIsIdempotentAcrossRestart(t *testing.T) {
	t.Parallel()
	w := newCICWorld(t, "")
	a := linkPartner(t, w.dir, w.ag.api, "Acme Voice", "devices.read devices.control", []string{e2eLampID}, "--config", "hubagent.toml")
	msg := map[string]any{"commands": []any{map[string]any{"deviceId": e2eLampID, "properties": map[string]any{"brightness": 30}}}}
	first := a.callAs(a.token(), "CIC.Control", "Control", "once-only", msg)
	if first.status != 200 || len(w.app.takeCommands()) != 1 {
		t.Fatalf("first Control: %d %s", first.status, first.raw)
	}
	again := a.callAs(a.token(), "CIC.Control", "Control", "once-only", msg)
	if string(again.raw) != string(first.raw) || len(w.app.takeCommands()) != 0 {
		t.Fatalf("retry acted again or answered differently:\n%s\n%s", first.raw, again.raw)
	}
	if code := w.ag.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	ag := startAgent(t, w.dir, "--config", "hubagent.toml", "--api-listen", w.ag.api)
	ag.api = w.ag.api
	ag.healthz(t, 10*time.Second)
	pollDevices(t, w.dir, 10*time.Second, "lamp online after restart", func(ds map[string]device.Device) bool { return ds[e2eLampID].Online })
	after := a.callAs(a.token(), "CIC.Control", "Control", "once-only", msg)
	if string(after.raw) != string(first.raw) {
		t.Fatalf("after restart the retry answered differently:\n%s\n%s", first.raw, after.raw)
	}
	if got := w.app.takeCommands(); len(got) != 0 {
		t.Fatalf("after restart the retry acted again: %q", got)
	}
}
