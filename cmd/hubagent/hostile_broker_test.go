package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// Hostile input to the embedded broker, against the real binary: any
// client, anonymous on loopback, tries to make the agent hold what it
// publishes.

// The row: 300 retained 1 MB messages to unused topics took the
// agent from 27 MB to 681 MB. Now packets past mqtt.max_packet_size are
// refused before their body is read, retained messages under it are
// bounded in count and bytes, and oversized state payloads are dropped
// before they are queued.
func TestHostileRetainedFloodKeepsTheAgentSmall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeHostileConfig(t, dir)
	mqttAddr := freePort(t)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-listen", mqttAddr)
	ag.healthz(t, 10*time.Second)
	pid := ag.cmd.Process.Pid
	t.Logf("RSS at start: %d MB", procStatus(t, pid, "VmRSS")>>20)

	// A device whose state topic gets flooded too.
	app := pahoAt(t, mqttAddr, "appliance")
	pub := func(c paho.Client, topic string, payload []byte, retain bool) {
		t.Helper()
		if tok := c.Publish(topic, 1, retain, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	pub(app, "homeassistant/sensor/meter/power/config",
		[]byte(`{"name":"Power","state_topic":"meter/power","unit_of_measurement":"W","device":{"identifiers":["meter"]}}`), true)
	// Retained: the agent subscribes to a state topic only once it has
	// the config, as Home Assistant does.
	pub(app, "meter/power", []byte("5"), true)
	pollDevices(t, dir, 10*time.Second, "the meter", func(ds map[string]device.Device) bool {
		return ds["mqtt-meter"].State["power"].Equal(device.Float(5))
	})

	// 1. 300 retained 1 MB messages, as in the issue: each refused at its
	// fixed header, the connection closed.
	mb := bytes.Repeat([]byte("A"), 1<<20)
	closed := 0
	for i := range 300 {
		c, code := dialRaw(t, mqttAddr, fmt.Sprintf("flood-%d", i))
		if code != 0 {
			t.Fatalf("anonymous client on loopback refused (CONNACK %d)", code)
		}
		c.publish(fmt.Sprintf("unused/big/%d", i), mb, true) //nolint:errcheck // the broker may close while we write
		if c.closedByPeer(2 * time.Second) {
			closed++
		}
		c.close()
	}
	if closed != 300 {
		t.Errorf("the broker closed %d of 300 connections that sent a 1 MB packet, want all", closed)
	}

	// 2. 300 retained 100 KB messages, each under the packet limit: the
	// retained bytes stay within mqtt.max_retained_bytes (16 MiB).
	flood := pahoAt(t, mqttAddr, "flooder")
	kb100 := bytes.Repeat([]byte("B"), 100<<10)
	for i := range 300 {
		pub(flood, fmt.Sprintf("unused/medium/%d", i), kb100, true)
	}

	// 3. 300 state payloads of 100 KB on the meter's state topic: dropped
	// and counted before they are queued.
	for range 300 {
		pub(flood, "meter/power", kb100, false)
	}
	pub(app, "meter/power", []byte("6"), false)
	pollDevices(t, dir, 10*time.Second, "the meter's state after the floods", func(ds map[string]device.Device) bool {
		return ds["mqtt-meter"].State["power"].Equal(device.Float(6))
	})

	rss, peak := procStatus(t, pid, "VmRSS"), procStatus(t, pid, "VmHWM")
	t.Logf("after the floods: RSS %d MB, peak %d MB", rss>>20, peak>>20)
	if rss > 150<<20 {
		t.Errorf("RSS %d MB after the floods, want at most 150 MB", rss>>20)
	}
	if got := ag.metric(t, "hubagent_broker_retained_bytes"); got > 16<<20 || got < 8<<20 {
		t.Errorf("retained bytes %v, want the 16 MiB budget used but not exceeded", got)
	}
	if got := ag.metric(t, "hubagent_broker_retain_refused_total"); got < 100 {
		t.Errorf("retain refused = %v, want the 100 KB messages past the budget counted", got)
	}
	if got := ag.metric(t, "hubagent_mqtt_state_dropped_total"); got != 300 {
		t.Errorf("state dropped = %v, want 300", got)
	}

	// Nothing of the 1 MB messages is retained; the 100 KB ones that fit
	// are, the others were delivered but not kept.
	seen := map[string]int{}
	var mu sync.Mutex
	probe := pahoAt(t, mqttAddr, "probe")
	probe.Subscribe("unused/#", 0, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		seen[strings.Split(m.Topic(), "/")[1]]++
		mu.Unlock()
	}).Wait()
	// The broker queues a subscription's retained messages at SUBACK, so a
	// message the probe publishes afterwards reaches it after all of them.
	probe.Publish("unused/end/0", 1, false, "x").Wait()
	testutil.Eventually(t, 10*time.Second, "the retained replay", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["end"] == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if seen["big"] != 0 || seen["medium"] == 0 || seen["medium"] == 300 {
		t.Errorf("retained after the floods: %d of the 1 MB messages, %d of the 100 KB ones", seen["big"], seen["medium"])
	}
}

// Clients past mqtt.max_clients are refused at CONNECT; the agent's own
// client is one of them.
func TestHostileClientsPastTheLimitAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeHostileConfig(t, dir, "[mqtt]", "max_clients = 8")
	mqttAddr := freePort(t)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-listen", mqttAddr)
	ag.healthz(t, 10*time.Second)
	testutil.Eventually(t, 10*time.Second, "the agent's client to connect", func() bool {
		return ag.metric(t, "hubagent_broker_clients") >= 1
	})
	var conns []*rawMQTT
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	for i := range 7 {
		c, code := dialRaw(t, mqttAddr, fmt.Sprintf("c%d", i))
		if code != 0 {
			t.Fatalf("client %d of 7 refused (CONNACK %d)", i+1, code)
		}
		conns = append(conns, c)
	}
	if c, code := dialRaw(t, mqttAddr, "one-too-many"); code == 0 {
		c.close()
		t.Fatal("a ninth client was accepted with max_clients = 8")
	}
	// Leaving makes room.
	conns[0].close()
	conns = conns[1:]
	testutil.Eventually(t, 5*time.Second, "room after a client left", func() bool {
		c, code := dialRaw(t, mqttAddr, "next")
		if code == 0 {
			c.close()
		}
		return code == 0
	})
}

// An embedded broker reachable from the network does not start with
// anonymous access unless the configuration says so. (Only the refusal
// is run: the test must not listen beyond loopback.)
func TestHostileAnonymousBrokerBeyondLoopbackRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, errOut, code := hubagent(t, dir, "run", "--data", "data", "--api-listen", freePort(t), "--mqtt-listen", "0.0.0.0:1883")
	if code == 0 || !strings.Contains(errOut, "mqtt.listen") || !strings.Contains(errOut, "allow_anonymous") {
		t.Errorf("exit %d, stderr %q: want a refusal naming mqtt.listen and allow_anonymous", code, errOut)
	}
}

// A client that subscribes to everything and never reads can make the
// broker hold at most mqtt.max_pending_writes packets for it; the rest is
// dropped and counted, and the agent's own subscriptions, delivered
// in-process, lose nothing meanwhile.
func TestHostileSlowSubscriberHoldsBoundedMemory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeHostileConfig(t, dir)
	mqttAddr := freePort(t)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-listen", mqttAddr)
	ag.healthz(t, 10*time.Second)
	pid := ag.cmd.Process.Pid

	slow, code := dialRaw(t, mqttAddr, "never-reads")
	if code != 0 {
		t.Fatalf("CONNACK %d", code)
	}
	defer slow.close()
	// SUBSCRIBE packet id 1, "#" at QoS 0; the SUBACK is never read.
	if _, err := slow.c.Write(mqttPacket(0x82, append([]byte{0, 1}, append(mqttString("#"), 0)...))); err != nil {
		t.Fatal(err)
	}

	app := pahoAt(t, mqttAddr, "appliance")
	pubRetain := func(topic string, payload []byte, retain bool) {
		t.Helper()
		// Generous: this test bounds memory, not latency, and runs beside
		// the other end-to-end tests on two cores.
		if tok := app.Publish(topic, 1, retain, payload); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	pub := func(topic string, payload []byte) { t.Helper(); pubRetain(topic, payload, false) }
	// Retained, as appliances publish them: /healthz answers before the
	// agent's MQTT client has subscribed, and a config or state sent
	// before that reaches it only from the retained store. The meter with
	// its first state says both subscriptions are in place, so the state
	// sent after the flood tests live delivery.
	pubRetain("homeassistant/sensor/meter/power/config",
		[]byte(`{"name":"Power","state_topic":"meter/power","unit_of_measurement":"W","device":{"identifiers":["meter"]}}`), true)
	pubRetain("meter/power", []byte("5"), true)
	pollDevices(t, dir, 10*time.Second, "the meter", func(ds map[string]device.Device) bool {
		return ds["mqtt-meter"].State["power"].Equal(device.Float(5))
	})
	// 1,000 messages of 50 KB (50 MB) that only the slow client wants,
	// then a state change for the agent. The broker copies each message
	// it queues for a client: at most 256 of them (12.5 MB) are held.
	kb50 := bytes.Repeat([]byte("C"), 50<<10)
	for i := range 1000 {
		pub(fmt.Sprintf("noise/%d", i%10), kb50)
	}
	pub("meter/power", []byte("9"))
	pollDevices(t, dir, 30*time.Second, "the meter's state past the slow client", func(ds map[string]device.Device) bool {
		return ds["mqtt-meter"].State["power"].Equal(device.Float(9))
	})
	rss, peak := procStatus(t, pid, "VmRSS"), procStatus(t, pid, "VmHWM")
	dropped := ag.metric(t, "hubagent_broker_messages_dropped_total")
	t.Logf("slow subscriber: %v messages dropped for it; agent RSS %d MB, peak %d MB", dropped, rss>>20, peak>>20)
	if dropped < 500 {
		t.Errorf("%v messages dropped for a client that never reads 1,000, want most of them", dropped)
	}
	if rss > 150<<20 {
		t.Errorf("RSS %d MB with a client that never reads, want at most 150 MB", rss>>20)
	}
}

// A discovery config close to the 64 KiB limit fits under the packet
// limit with its topic.
func TestHostileLargestDiscoveryConfigStillFits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeHostileConfig(t, dir)
	mqttAddr := freePort(t)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-listen", mqttAddr)
	ag.healthz(t, 10*time.Second)
	app := pahoAt(t, mqttAddr, "appliance")
	cfg := `{"name":"Power","state_topic":"fat/power","device":{"identifiers":["fat"]},"json_attributes_template":"` +
		strings.Repeat("x", 63<<10) + `"}`
	topic := "homeassistant/sensor/" + strings.Repeat("f", 200) + "/config"
	if tok := app.Publish(topic, 1, true, cfg); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pollDevices(t, dir, 10*time.Second, "the device of a 63 KiB config", func(ds map[string]device.Device) bool {
		_, ok := ds["mqtt-fat"]
		return ok
	})
}
