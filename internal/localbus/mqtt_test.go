package localbus

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery/hafixtures"
	"github.com/hubagent/hubagent/internal/testutil"
)

func fixtureDeviceID(t testing.TB, topic, config string) string {
	t.Helper()
	e, err := hadiscovery.ParseConfig(topic, []byte(config))
	if err != nil {
		t.Fatalf("fixture %s: %v", topic, err)
	}
	return hadiscovery.DeviceID(hadiscovery.DeviceKey(e))
}

func TestFixturesThroughRealBrokerGiveStateAndExactCommands(t *testing.T) {
	t.Parallel() // its own broker and store
	broker := testutil.StartMosquitto(t)
	r := newRig(t, broker, "", rigOptions{})
	rec := record(t, broker, "#")
	for topic, payload := range hafixtures.Availability() {
		r.publish(topic, payload, true)
	}
	fxs := busFixtures()
	start := time.Now().UnixMilli()
	published := len(hafixtures.Availability())
	for _, fx := range fxs {
		r.publish(fx.topic, fx.config, true)
		published++
		if fx.stateTopic != "" {
			r.publish(fx.stateTopic, fx.state, true)
			published++
		}
	}
	// The recorder must have seen the set-up traffic before the subtests
	// start taking what a write publishes.
	testutil.Eventually(t, 5*time.Second, "the recorder to see the set-up", func() bool { return rec.len() >= published })
	time.Sleep(50 * time.Millisecond) // set-up traffic still in flight is let in and cleared with it
	rec.take()
	for _, fx := range fxs {
		t.Run(fx.name, func(t *testing.T) {
			if fx.refused != "" {
				testutil.Eventually(t, 5*time.Second, fx.topic+" refused with "+fx.refused, func() bool {
					for _, dc := range r.mq.Discovered() {
						if dc.Topic == fx.topic {
							return dc.Status == StatusRefused && strings.Contains(dc.Reason, fx.refused)
						}
					}
					return false
				})
				return
			}
			id := fixtureDeviceID(t, fx.topic, fx.config)
			testutil.Eventually(t, 5*time.Second, id+" online with "+fmtState(fx.wantState)+" and times "+strings.Join(fx.wantEventAt, ","), func() bool {
				d := r.device(id)
				if d == nil || !d.Online || d.Source != MQTTSource || !hasState(d, fx.wantState) {
					return false
				}
				for _, k := range fx.wantEventAt {
					if at, ok := d.State[k].AsInt(); !ok || at < start {
						return false
					}
				}
				return true
			})
			if fx.write == nil {
				return
			}
			rec.take()
			if _, err := r.mq.Send(context.Background(), r.device(id), fx.write); err != nil {
				t.Fatalf("Send(%v): %v", fx.write, err)
			}
			testutil.Eventually(t, 5*time.Second, "the command publishes", func() bool { return rec.len() >= len(fx.wantPublish) })
			// An unwanted extra publish goes out with the wanted ones; this
			// window lets it in (a later one the next subtest's take shows).
			time.Sleep(50 * time.Millisecond)
			if got := rec.take(); !slices.Equal(got, fx.wantPublish) {
				t.Errorf("published\n%q\nwant\n%q", got, fx.wantPublish)
			}
		})
	}
	refused := map[string]bool{}
	for _, fx := range fxs {
		refused[fx.topic] = fx.refused != ""
	}
	for _, dc := range r.mq.Discovered() {
		if !refused[dc.Topic] && (dc.Status != StatusAccepted || dc.DeviceID == "") {
			t.Errorf("discovered %+v, want accepted with a device id", dc)
		}
	}
}

func fmtState(s map[string]device.Value) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const z2mLampConfig = `{"availability":[{"topic":"zigbee2mqtt/bridge/state","value_template":"{{ value_json.state }}"}],
	"brightness":true,"brightness_scale":254,"color_mode":true,"command_topic":"zigbee2mqtt/Lamp/set",
	"device":{"identifiers":["zigbee2mqtt_0x000b57fffec6a5b2"],"manufacturer":"IKEA","model":"LED1545G12","name":"Lamp"},
	"max_mireds":454,"min_mireds":250,"name":null,"schema":"json","state_topic":"zigbee2mqtt/Lamp",
	"supported_color_modes":["color_temp"],"unique_id":"0x000b57fffec6a5b2_light_zigbee2mqtt"}`

const z2mLampTopic = "homeassistant/light/0x000b57fffec6a5b2/light/config"

// echoLamp plays a Zigbee2MQTT bulb: it applies JSON commands to its
// state and publishes the state back, in raw units.
func echoLamp(t testing.TB, c paho.Client, name string) {
	state := map[string]any{"state": "OFF", "brightness": 254, "color_temp": 370}
	tok := c.Subscribe("zigbee2mqtt/"+name+"/set", 0, func(c paho.Client, m paho.Message) {
		var cmd map[string]any
		if json.Unmarshal(m.Payload(), &cmd) != nil {
			return
		}
		for k, v := range cmd {
			state[k] = v
		}
		b, _ := json.Marshal(state)
		c.Publish("zigbee2mqtt/"+name, 0, true, b)
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

func TestControlIsConfirmedByTheDeviceEcho(t *testing.T) {
	t.Parallel() // its own broker and store
	broker := testutil.StartMosquitto(t)
	r := newRig(t, broker, "", rigOptions{commandTimeout: 1500 * time.Millisecond})
	rec := record(t, broker, "zigbee2mqtt/+/set")
	echoLamp(t, r.dev, "Lamp")
	r.publish("zigbee2mqtt/bridge/state", `{"state":"online"}`, true)
	r.publish(z2mLampTopic, z2mLampConfig, true)
	r.publish("zigbee2mqtt/Lamp", `{"state":"OFF","brightness":254,"color_temp":370}`, true)
	id := fixtureDeviceID(t, z2mLampTopic, z2mLampConfig)
	testutil.Eventually(t, 5*time.Second, "lamp online", func() bool {
		d := r.device(id)
		return d != nil && d.Online && hasState(d, map[string]device.Value{"brightness": device.Int(100)})
	})
	ctx := context.Background()

	st, err := r.hub.Control(ctx, id, map[string]device.Value{"brightness": device.Int(50)})
	if err != nil {
		t.Fatalf("Control brightness: %v", err)
	}
	if !st["brightness"].Equal(device.Int(50)) || !st["power"].Equal(device.Bool(true)) {
		t.Errorf("confirmed state %v, want brightness 50 and power on", st)
	}
	// The recorder is another subscriber: it may hear the command after
	// the lamp has already answered.
	testutil.Eventually(t, 5*time.Second, "the command at the recorder", func() bool { return rec.len() >= 1 })
	if got := rec.take(); !slices.Equal(got, []string{`zigbee2mqtt/Lamp/set {"state":"ON","brightness":127}`}) {
		t.Errorf("published %q", got)
	}

	// 2700 K travels as 370 mireds and comes back as 2703 K: Expect makes
	// the hub wait for 2703.
	st, err = r.hub.Control(ctx, id, map[string]device.Value{"colorTemperature": device.Int(2700)})
	if err != nil {
		t.Fatalf("Control colorTemperature: %v", err)
	}
	if !st["colorTemperature"].Equal(device.Int(2703)) {
		t.Errorf("colorTemperature confirmed as %v, want 2703", st["colorTemperature"])
	}

	// A bulb that never answers.
	const muteTopic = "homeassistant/light/mute/config"
	const muteConfig = `{"name":"Mute","schema":"json","command_topic":"mute/set","state_topic":"mute/state","supported_color_modes":["brightness"]}`
	r.publish(muteTopic, muteConfig, true)
	muteID := fixtureDeviceID(t, muteTopic, muteConfig)
	testutil.Eventually(t, 5*time.Second, "mute light", func() bool { d := r.device(muteID); return d != nil && d.Online })
	if _, err := r.hub.Control(ctx, muteID, map[string]device.Value{"brightness": device.Int(30)}); device.CodeOf(err) != device.CodeDeviceTimeout {
		t.Errorf("Control of a silent device = %v, want DEVICE_TIMEOUT", err)
	}

	// No state topic: optimistic, confirmed at once.
	const optTopic = "homeassistant/light/opt/config"
	const optConfig = `{"name":"Opt","schema":"json","command_topic":"opt/set","supported_color_modes":["brightness"]}`
	r.publish(optTopic, optConfig, true)
	optID := fixtureDeviceID(t, optTopic, optConfig)
	testutil.Eventually(t, 5*time.Second, "optimistic light", func() bool { d := r.device(optID); return d != nil && d.Online })
	start := time.Now()
	st, err = r.hub.Control(ctx, optID, map[string]device.Value{"brightness": device.Int(20)})
	if err != nil || !st["brightness"].Equal(device.Int(20)) {
		t.Errorf("optimistic Control = %v, %v", st, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("optimistic Control took %v, want at once", d)
	}

	// Without the broker, Send says DEVICE_OFFLINE.
	broker.Stop()
	testutil.Eventually(t, 5*time.Second, "disconnect noticed", func() bool { return !r.mq.Stats().Connected })
	d, _ := r.hub.Device(id)
	if _, err := r.mq.Send(ctx, d, map[string]device.Value{"power": device.Bool(false)}); device.CodeOf(err) != device.CodeDeviceOffline {
		t.Errorf("Send without broker = %v, want DEVICE_OFFLINE", err)
	}
}

// announcePlugAndPlainSwitch publishes, retained, a Tasmota plug (switch
// and power sensor) whose LWT says Online, and a switch without
// availability; it returns their device ids.
func announcePlugAndPlainSwitch(t *testing.T, r *rig) (plug, plain string) {
	t.Helper()
	for _, fx := range busFixtures()[4:6] { // Tasmota plug: switch + power sensor, with availability
		r.publish(fx.topic, fx.config, true)
		r.publish(fx.stateTopic, fx.state, true)
	}
	r.publish("tasmota_345678/tele/LWT", "Online", true)
	r.publish("tele/tasmota_345678/LWT", "Online", true)
	const plainTopic = "homeassistant/switch/plain/config"
	const plainConfig = `{"name":"Plain","command_topic":"plain/set","state_topic":"plain/state"}`
	r.publish(plainTopic, plainConfig, true)
	r.publish("plain/state", "ON", true)
	return fixtureDeviceID(t, busFixtures()[4].topic, busFixtures()[4].config), fixtureDeviceID(t, plainTopic, plainConfig)
}

// stoppedWithPlugAndSwitch runs an agent on its own broker until the plug
// and the switch of announcePlugAndPlainSwitch are online, then stops it:
// its store holds both, announced online.
func stoppedWithPlugAndSwitch(t *testing.T) (r *rig, plug, plain string) {
	t.Helper()
	r = newRig(t, testutil.StartMosquitto(t), t.TempDir(), rigOptions{})
	plug, plain = announcePlugAndPlainSwitch(t, r)
	testutil.Eventually(t, 5*time.Second, "both online", func() bool {
		a, b := r.device(plug), r.device(plain)
		return a != nil && b != nil && a.Online && b.Online
	})
	r.close()
	return r, plug, plain
}

// restart starts the stopped agent of r again over its store and broker
// (grace: MQTTOptions.UnconfirmedGrace, 0 for the default), with its
// OnlineChanged events subscribed from the start.
func (r *rig) restart(t *testing.T, grace time.Duration) (*rig, *hub.Subscription) {
	t.Helper()
	var events *hub.Subscription
	r2 := newRig(t, r.broker, r.dir, rigOptions{grace: grace, onHub: func(h *hub.Hub) { events = h.Subscribe(64, hub.OnlineChanged) }})
	return r2, events
}

func TestBrokerLossTakesDevicesOfflineAndReconnectRestoresThem(t *testing.T) {
	t.Parallel() // its own broker and store
	broker := testutil.StartMosquitto(t)
	r := newRig(t, broker, "", rigOptions{})
	plug, plain := announcePlugAndPlainSwitch(t, r)
	ids := []string{plug, plain}
	allOnline := func(want bool) func() bool {
		return func() bool {
			for _, id := range ids {
				if d := r.device(id); d == nil || d.Online != want {
					return false
				}
			}
			return true
		}
	}
	testutil.Eventually(t, 5*time.Second, "devices online", allOnline(true))

	broker.Stop()
	testutil.Eventually(t, 5*time.Second, "devices offline after broker loss", allOnline(false))
	broker.Restart()
	testutil.Eventually(t, 10*time.Second, "devices online after reconnect", allOnline(true))

	// Resubscribed: new state flows.
	r.publish("plain/state", "OFF", true)
	testutil.Eventually(t, 5*time.Second, "state after reconnect", func() bool {
		return hasState(r.device(ids[1]), map[string]device.Value{"power": device.Bool(false)})
	})
	// Availability still counts: the plug's LWT going Offline.
	r.publish("tasmota_345678/tele/LWT", "Offline", true)
	r.publish("tele/tasmota_345678/LWT", "Offline", true)
	testutil.Eventually(t, 5*time.Second, "plug offline by LWT", func() bool { d := r.device(ids[0]); return d != nil && !d.Online })
}

func TestEmptyConfigRemovesEntityThenDeviceAndChangedConfigUpdates(t *testing.T) {
	t.Parallel() // its own broker and store
	broker := testutil.StartMosquitto(t)
	r := newRig(t, broker, "", rigOptions{})
	dev := `"device":{"identifiers":["zigbee2mqtt_0xabc"],"name":"Climate sensor"}`
	temp := `{` + dev + `,"device_class":"temperature","unit_of_measurement":"°C","state_topic":"zigbee2mqtt/Climate","value_template":"{{ value_json.temperature }}"}`
	hum := `{` + dev + `,"device_class":"humidity","unit_of_measurement":"%","state_topic":"zigbee2mqtt/Climate","value_template":"{{ value_json.humidity }}"}`
	const tempTopic, humTopic = "homeassistant/sensor/0xabc/temperature/config", "homeassistant/sensor/0xabc/humidity/config"
	r.publish(tempTopic, temp, true)
	r.publish(humTopic, hum, true)
	r.publish("zigbee2mqtt/Climate", `{"temperature":21.5,"humidity":40}`, true)
	id := "mqtt-zigbee2mqtt_0xabc"
	testutil.Eventually(t, 5*time.Second, "both sensors' state (the second entity shares the state topic)", func() bool {
		return hasState(r.device(id), map[string]device.Value{"currentTemperature": device.Float(21.5), "humidity": device.Float(40)})
	})

	r.publish(tempTopic, strings.ReplaceAll(temp, "Climate sensor", "Bedroom climate"), true)
	r.publish(humTopic, strings.ReplaceAll(hum, "Climate sensor", "Bedroom climate"), true)
	testutil.Eventually(t, 5*time.Second, "renamed", func() bool { d := r.device(id); return d != nil && d.Name == "Bedroom climate" })

	r.publish(humTopic, "", true)
	testutil.Eventually(t, 5*time.Second, "humidity entity removed", func() bool {
		d := r.device(id)
		if d == nil {
			return false
		}
		_, has := d.Property("humidity")
		return !has
	})
	r.publish(tempTopic, "", true)
	testutil.Eventually(t, 5*time.Second, "device removed", func() bool { return r.device(id) == nil })
	if len(r.mq.Discovered()) != 0 {
		t.Errorf("discovered after removal: %+v", r.mq.Discovered())
	}
}

func TestAgentRestartServesStoredDevicesBeforeTheBrokerReplays(t *testing.T) {
	t.Parallel() // its own broker and store
	broker := testutil.StartMosquitto(t)
	dir := t.TempDir()
	r := newRig(t, broker, dir, rigOptions{})
	r.publish(z2mLampTopic, z2mLampConfig, true)
	r.publish("zigbee2mqtt/bridge/state", `{"state":"online"}`, true)
	r.publish("zigbee2mqtt/Lamp", `{"state":"ON","brightness":127,"color_temp":370}`, true)
	id := fixtureDeviceID(t, z2mLampTopic, z2mLampConfig)
	want := map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(50), "colorTemperature": device.Int(2703)}
	testutil.Eventually(t, 5*time.Second, "lamp state", func() bool { d := r.device(id); return d != nil && d.Online && hasState(d, want) })
	r.close()
	broker.Stop()

	var events *hub.Subscription
	r2 := newRig(t, broker, dir, rigOptions{brokerDown: true, grace: time.Second,
		onHub: func(h *hub.Hub) { events = h.Subscribe(16, hub.OnlineChanged) }})
	d := r2.device(id)
	if d == nil || !hasState(d, want) {
		t.Fatalf("after restart with the broker down: %+v, want the stored lamp with %v", d, want)
	}
	if d.Online {
		t.Errorf("lamp online while the broker is down")
	}
	// Unconfirmed at first; announced offline once the grace is over.
	if len(events.C) != 0 {
		t.Fatalf("announced at start: %+v", <-events.C)
	}
	testutil.Eventually(t, 10*time.Second, "lamp announced offline after the grace", func() bool { return len(events.C) > 0 })
	if e := <-events.C; e.DeviceID != id || e.Online {
		t.Fatalf("event %+v, want %s offline", e, id)
	}
	broker.Restart()
	testutil.Eventually(t, 10*time.Second, "lamp back online from retained messages", func() bool { d := r2.device(id); return d != nil && d.Online })
	select {
	case e := <-events.C:
		if e.DeviceID != id || !e.Online {
			t.Fatalf("event %+v, want %s online", e, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lamp back online but not announced")
	}
}

// A restart is not a change of the devices: partners hear of a device's
// reachability after it only if the broker says something else than what
// they were last told, here the plug's LWT that went Offline while the
// agent was down, and not of the switch that is still there.
func TestAgentRestartAnnouncesOnlyDevicesThatChangedMeanwhile(t *testing.T) {
	t.Parallel() // its own broker and store
	r, plug, plain := stoppedWithPlugAndSwitch(t)
	r.publish("tasmota_345678/tele/LWT", "Offline", true)
	r.publish("tele/tasmota_345678/LWT", "Offline", true)

	r2, events := r.restart(t, 0)
	testutil.Eventually(t, 10*time.Second, "switch confirmed online", func() bool { d := r2.device(plain); return d != nil && d.Online })
	testutil.Eventually(t, 5*time.Second, "plug's offline announced", func() bool { return len(events.C) > 0 })
	var got []string
	for len(events.C) > 0 {
		e := <-events.C
		got = append(got, fmt.Sprintf("%s=%v", e.DeviceID, e.Online))
	}
	if want := []string{plug + "=false"}; !slices.Equal(got, want) {
		t.Fatalf("online changes announced after the restart %v, want %v", got, want)
	}
	if d := r2.device(plug); d == nil || d.Online {
		t.Fatalf("plug after restart %+v, want offline", d)
	}
}

// A device whose discovery config vanished while the agent was down (its
// retained config cleared) is not replayed by the broker: once the broker
// has had its chance, the device is announced offline instead of staying
// online for partners and offline to their requests. The replayed devices
// are not announced at all.
func TestDeviceNotReplayedAfterRestartIsAnnouncedOffline(t *testing.T) {
	t.Parallel() // its own broker and store
	r, plug, plain := stoppedWithPlugAndSwitch(t)
	r.publish("homeassistant/switch/plain/config", "", true) // removed while the agent was down

	r2, events := r.restart(t, time.Second)
	testutil.Eventually(t, 10*time.Second, "plug confirmed online", func() bool { d := r2.device(plug); return d != nil && d.Online })
	testutil.Eventually(t, 10*time.Second, "the vanished switch announced", func() bool { return len(events.C) > 0 })
	e := <-events.C
	if e.DeviceID != plain || e.Online {
		t.Fatalf("announced %s online=%v, want %s offline", e.DeviceID, e.Online, plain)
	}
	if d := r2.device(plain); d == nil || d.Online {
		t.Fatalf("switch after restart %+v, want kept, offline", d)
	}
	if len(events.C) > 0 {
		e := <-events.C
		t.Errorf("also announced %s online=%v", e.DeviceID, e.Online)
	}
}

// After a restart the broker replays the configs before any availability
// message; a plug whose retained LWT is missing (here: cleared while the
// agent was down, its next "Online" a moment after the start) is not
// announced offline meanwhile, so partners hear nothing of a restart
// after which every device is where it was. If its availability never
// came, the end of the grace would announce it (the test above).
func TestRestartWaitsForAvailabilityBeforeAnnouncingOffline(t *testing.T) {
	t.Parallel() // its own broker and store
	r, plug, plain := stoppedWithPlugAndSwitch(t)
	r.publish("tasmota_345678/tele/LWT", "", true) // no retained availability
	r.publish("tele/tasmota_345678/LWT", "", true)

	r2, events := r.restart(t, time.Minute)
	testutil.Eventually(t, 10*time.Second, "switch without availability confirmed", func() bool { d := r2.device(plain); return d != nil && d.Online })
	testutil.Eventually(t, 10*time.Second, "plug's configs replayed", func() bool {
		n := 0
		for _, c := range r2.mq.Discovered() {
			if c.DeviceID == plug {
				n++
			}
		}
		return n == 2
	})
	r2.mq.disc.flushRebuilds(context.Background()) // the plug is rebuilt from its configs now
	if d := r2.device(plug); d == nil || d.Online {
		t.Fatalf("plug %+v, want offline to requests until its availability is heard", d)
	}
	r.publish("tasmota_345678/tele/LWT", "Online", false)
	r.publish("tele/tasmota_345678/LWT", "Online", false)
	testutil.Eventually(t, 10*time.Second, "plug confirmed", func() bool { d := r2.device(plug); return d != nil && d.Online })
	if len(events.C) > 0 {
		e := <-events.C
		t.Fatalf("announced %s online=%v across a restart that changed nothing", e.DeviceID, e.Online)
	}
}
