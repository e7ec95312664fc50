package main

import (
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// The row: 2,000 retained configs sharing one device identifier
// took 33 s of CPU, starved every other device's state meanwhile, and
// again at every start. Against the real binary and a household broker
// (mosquitto, which keeps the retained configs across agent restarts):
// the agent's whole CPU until the device is complete stays within 8 s, at
// first start and at restart, and another device's state changes arrive
// within 5 s during the replay.
func TestHostileManyEntitiesOnOneDevice(t *testing.T) {
	t.Parallel()
	const n = 2000
	// mosquitto queues at most 1,000 QoS 1 messages per client by default
	// and drops the rest, retained configs included: lifted, so that the
	// agent gets all 2,000.
	broker := testutil.StartMosquitto(t, "max_queued_messages 0")
	app := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("big-device"))
	if tok := app.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer app.Disconnect(50)
	pub := func(topic, payload string) {
		t.Helper()
		if tok := app.Publish(topic, 1, true, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	for i := range n {
		pub(fmt.Sprintf("homeassistant/sensor/bigdev/s%04d/config", i),
			fmt.Sprintf(`{"name":"S%d","state_topic":"bigdev/s%04d","unique_id":"bigdev_s%04d","unit_of_measurement":"W",`+
				`"device":{"identifiers":["bigdev"],"name":"Big","manufacturer":"Hostile"}}`, i, i, i))
		pub(fmt.Sprintf("bigdev/s%04d", i), fmt.Sprint(i))
	}
	pub("homeassistant/sensor/otherdev/t/config",
		`{"name":"T","state_topic":"otherdev/t","unit_of_measurement":"°C","device":{"identifiers":["otherdev"]}}`)
	pub("otherdev/t", "0")

	dir := t.TempDir()
	writeHostileConfig(t, dir, "[mqtt]", fmt.Sprintf("max_entities_per_device = %d", n))
	for run, name := range []string{"first start", "restart"} {
		ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-broker", broker.URL())
		pid := ag.cmd.Process.Pid
		// The other device's state must keep flowing while the big one
		// is replayed: change it now and wait for it.
		ag.healthz(t, 10*time.Second)
		v := float64(100 + run)
		pub("otherdev/t", fmt.Sprint(v))
		sent := time.Now()
		var big int
		pollBrief(t, dir, 5*time.Second, name+": the other device's state during the replay", func(ds map[string]device.Device) bool {
			big = len(ds["mqtt-bigdev"].State)
			return ds["mqtt-otherdev"].State["t"].Equal(device.Float(v))
		})
		t.Logf("%s: other device's state after %v (big device had %d of %d entities' state then)", name, time.Since(sent).Round(time.Millisecond), big, n)
		pollBrief(t, dir, 30*time.Second, name+": every entity of the big device with its state", func(ds map[string]device.Device) bool {
			d := ds["mqtt-bigdev"]
			big = len(d.State)
			return len(d.Properties) == n && len(d.State) == n
		})
		cpu := procCPU(t, pid)
		t.Logf("%s: agent CPU until the %d-entity device was complete: %v", name, n, cpu)
		if cpu > 8*time.Second {
			t.Errorf("%s: %v of CPU, want at most 8 s", name, cpu)
		}
		if code := ag.stop(t, 10*time.Second); code != 0 {
			t.Fatalf("agent exit %d\n%s", code, ag.stderr)
		}
	}
}

// With the default cap, the entities past it are refused and listed as
// such, and the device keeps the others.
func TestHostileEntitiesPastTheCapRefused(t *testing.T) {
	t.Parallel()
	const limit = 512 // the default of mqtt.max_entities_per_device
	dir := t.TempDir()
	writeHostileConfig(t, dir)
	mqttAddr := freePort(t)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-listen", mqttAddr)
	ag.healthz(t, 10*time.Second)
	app := pahoAt(t, mqttAddr, "capped")
	for i := range limit + 20 {
		topic := fmt.Sprintf("homeassistant/sensor/capdev/s%04d/config", i)
		payload := fmt.Sprintf(`{"name":"S%d","state_topic":"capdev/s%04d","device":{"identifiers":["capdev"]}}`, i, i)
		if tok := app.Publish(topic, 1, true, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	pollBrief(t, dir, 10*time.Second, "the capped device", func(ds map[string]device.Device) bool {
		return len(ds["mqtt-capdev"].Properties) == limit
	})
	// The counter counts refused messages: a config the broker hands on
	// twice (live while the agent subscribes, then in the retained replay)
	// counts twice, so it is at least 20; the distinct refusals are
	// exactly the 20 listed below.
	testutil.Eventually(t, 5*time.Second, "refused ≥ 20, the configs past the cap", func() bool {
		return ag.metric(t, "hubagent_mqtt_discovery_refused_total") >= 20
	})
	out, _, code := hubagent(t, dir, "discovered", "--errors", "--config", "hubagent.toml")
	if code != 0 || !containsN(out, "per-device limit", 20) {
		t.Errorf("discovered --errors (exit %d) does not list the 20 refusals with their reason:\n%s", code, out)
	}
}

// pollBrief is pollDevices without the listing in its failure message
// (thousands of properties here).
func pollBrief(t testing.TB, dir string, within time.Duration, what string, ok func(map[string]device.Device) bool) {
	t.Helper()
	testutil.Eventually(t, within, what, func() bool { return ok(listDevices(t, dir, "--config", "hubagent.toml")) })
}

func containsN(s, sub string, n int) bool {
	count := 0
	for i := 0; ; {
		j := indexFrom(s, sub, i)
		if j < 0 {
			break
		}
		count++
		i = j + len(sub)
	}
	return count == n
}

func indexFrom(s, sub string, from int) int {
	if from > len(s) {
		return -1
	}
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
