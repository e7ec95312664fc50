package localbus

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// manyEntityConfig is the config of sensor i (property "s<i>") of one
// device with many entities, each with a state topic of its own.
func manyEntityConfig(dev string, i int) (topic, payload string) {
	return fmt.Sprintf("homeassistant/sensor/%s/s%04d/config", dev, i),
		fmt.Sprintf(`{"name":"S%d","state_topic":"%s/s%04d","unique_id":"%s_s%04d","unit_of_measurement":"W",`+
			`"device":{"identifiers":["%s"],"name":"Big"}}`, i, dev, i, dev, i, dev)
}

// N entities announced on one device cost a bounded number of device
// builds, not one per entity; their state, published before the device
// was built, is not lost; another device's state keeps flowing meanwhile.
func TestManyEntitiesOnOneDeviceAreBuiltInFewPasses(t *testing.T) {
	const n = 2000
	br, h, mq := newEmbeddedRig(t, BrokerLimits{}, MQTTOptions{MaxEntitiesPerDevice: n})
	pub := pahoClient(t, br.URL(), "appliances")
	other, otherPayload := manyEntityConfig("otherdev", 0)
	pub.Publish(other, 1, true, otherPayload).Wait()
	pub.Publish("otherdev/s0000", 1, true, "1").Wait()
	startMQTT(t, mq)
	testutil.Eventually(t, 5*time.Second, "the other device's state", func() bool {
		d, ok := h.Device("mqtt-otherdev")
		return ok && d.State["s0"].Equal(device.Float(1))
	})
	before := mq.disc.rebuilds.Load()
	for i := range n {
		topic, payload := manyEntityConfig("bigdev", i)
		pub.Publish(topic, 0, true, payload)
		pub.Publish(fmt.Sprintf("bigdev/s%04d", i), 0, true, fmt.Sprint(i))
		if i%500 == 250 {
			// Other devices' state flows during the burst.
			v := float64(i)
			pub.Publish("otherdev/s0000", 0, true, fmt.Sprint(v))
			testutil.Eventually(t, 5*time.Second, "the other device's state during the burst", func() bool {
				d, _ := h.Device("mqtt-otherdev")
				return d != nil && d.State["s0"].Equal(device.Float(v))
			})
		}
	}
	testutil.Eventually(t, 30*time.Second, "every entity of the big device with its state", func() bool {
		d, ok := h.Device("mqtt-bigdev")
		return ok && len(d.Properties) == n && len(d.State) == n
	})
	if got := mq.disc.rebuilds.Load() - before; got > 60 {
		t.Errorf("%d device builds for %d entities, want a few dozen at most", got, n)
	}
	t.Logf("%d device builds for %d entities", mq.disc.rebuilds.Load()-before, n)
}

func TestEntitiesPastThePerDeviceLimitAreRefused(t *testing.T) {
	const limit = 10
	br, h, mq := newEmbeddedRig(t, BrokerLimits{}, MQTTOptions{MaxEntitiesPerDevice: limit})
	pub := pahoClient(t, br.URL(), "appliances")
	// The configs are retained and handed on before the client starts, so
	// each reaches it once, in the replay of its subscription. One still on
	// its way while it subscribes can come both live and in the replay (the
	// broker does that, and MQTT allows it), and a refused config that comes
	// twice is counted twice.
	for i := range limit + 5 {
		topic, payload := manyEntityConfig("capdev", i)
		pub.Publish(topic, 1, true, payload).Wait()
	}
	handedOn(t, pub)
	startMQTT(t, mq)
	testutil.Eventually(t, 5*time.Second, "the device with its first entities", func() bool {
		d, ok := h.Device("mqtt-capdev")
		return ok && len(d.Properties) == limit
	})
	testutil.Eventually(t, 5*time.Second, "the refusals counted", func() bool { return mq.Stats().Refused == 5 })
	refused, accepted := 0, ""
	for _, dc := range mq.Discovered() {
		switch dc.Status {
		case StatusRefused:
			refused++
			if !strings.Contains(dc.Reason, "per-device limit") {
				t.Errorf("%s refused for %q, want the per-device limit named", dc.Topic, dc.Reason)
			}
		case StatusAccepted:
			accepted = dc.Topic
		}
	}
	if refused != 5 {
		t.Errorf("%d configs listed as refused, want 5", refused)
	}
	// Removing an accepted entity makes room for another. Which ten were
	// accepted depends on the order the workers took the burst in.
	pub.Publish(accepted, 1, true, "").Wait()
	topic, payload := manyEntityConfig("capdev", 99)
	pub.Publish(topic, 1, true, payload).Wait()
	testutil.Eventually(t, 5*time.Second, "the replacement entity", func() bool {
		d, _ := h.Device("mqtt-capdev")
		_, ok := d.Property("s99")
		return d != nil && len(d.Properties) == limit && ok
	})
}

// State payloads past the limit are dropped and counted before they are
// queued; the device keeps its last good state.
func TestOversizedStatePayloadsAreDroppedAndCounted(t *testing.T) {
	br, h, mq := newEmbeddedRig(t, BrokerLimits{}, MQTTOptions{MaxStatePayload: 1024, StateQueueBytes: 4096})
	pub := pahoClient(t, br.URL(), "appliances")
	topic, payload := manyEntityConfig("bigstate", 0)
	pub.Publish(topic, 1, true, payload).Wait()
	pub.Publish("bigstate/s0000", 1, false, "7").Wait()
	startMQTT(t, mq)
	testutil.Eventually(t, 5*time.Second, "the device", func() bool { _, ok := h.Device("mqtt-bigstate"); return ok })
	pub.Publish("bigstate/s0000", 1, false, "8").Wait()
	testutil.Eventually(t, 5*time.Second, "its state", func() bool {
		d, _ := h.Device("mqtt-bigstate")
		return d.State["s0"].Equal(device.Float(8))
	})
	for range 20 {
		pub.Publish("bigstate/s0000", 1, false, "9"+strings.Repeat(" ", 2048)).Wait()
	}
	pub.Publish("bigstate/s0000", 1, false, "10").Wait()
	testutil.Eventually(t, 5*time.Second, "the small state after the large ones", func() bool {
		d, _ := h.Device("mqtt-bigstate")
		return d.State["s0"].Equal(device.Float(10))
	})
	if got := mq.Stats().StateDropped; got != 20 {
		t.Errorf("state dropped = %d, want 20", got)
	}
	if q := mq.disc.queued.inUse(); q != 0 {
		t.Errorf("%d bytes still accounted in the state queue", q)
	}
}

// A first config is recorded before it is parsed (so that a flood of
// topics is counted against its bound) but listed only once its outcome
// is known: `hubagent discovered` never shows an entry without a status.
func TestDiscoveredListsOnlyConfigsWithAnOutcome(t *testing.T) {
	d := &discovery{seen: map[string]*seenConfig{
		"homeassistant/light/a/config": {DiscoveredConfig: DiscoveredConfig{Topic: "homeassistant/light/a/config", Status: StatusAccepted}},
		"homeassistant/light/b/config": {DiscoveredConfig: DiscoveredConfig{Topic: "homeassistant/light/b/config"}}, // being read
		"homeassistant/light/c/config": {DiscoveredConfig: DiscoveredConfig{Topic: "homeassistant/light/c/config", Status: StatusRefused}},
	}}
	var got []string
	for _, c := range d.discovered() {
		got = append(got, c.Topic+"="+c.Status)
	}
	want := []string{"homeassistant/light/a/config=" + StatusAccepted, "homeassistant/light/c/config=" + StatusRefused}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("discovered %v, want %v", got, want)
	}
}
