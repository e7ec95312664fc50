package localbus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

func TestHostileInputDoesNoHarm(t *testing.T) {
	broker := testutil.StartMosquitto(t)
	logs := &testutil.SyncBuffer{}
	const maxEntities = 50
	r := newRig(t, broker, "", rigOptions{maxEntities: maxEntities, logger: slog.New(slog.NewTextHandler(logs, nil))})
	good := busFixtures()[4] // Tasmota plug switch
	r.publish("tasmota_345678/tele/LWT", "Online", true)
	r.publish(good.topic, good.config, true)
	r.publish(good.stateTopic, good.state, true)
	goodID := fixtureDeviceID(t, good.topic, good.config)
	testutil.Eventually(t, 5*time.Second, "good device", func() bool { return hasState(r.device(goodID), good.wantState) })

	hostile := map[string]string{
		"homeassistant/light/bad_json/config":    `{"name":"x","command_topic":`,
		"homeassistant/teleporter/beam/config":   `{"name":"Beam","command_topic":"beam/set"}`,
		"homeassistant/sensor/huge/config":       `{"name":"Huge","state_topic":"huge/state","pad":"` + strings.Repeat("A", 1<<20) + `"}`,
		"homeassistant/sensor/deep/config":       strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000),
		"homeassistant/sensor/tpl/config":        `{"name":"Tpl","state_topic":"tpl/state","value_template":"{{ value_json.x | slugify }}"}`,
		"homeassistant/switch/array/config":      `[1,2,3]`,
		"homeassistant/switch/binary/config":     "\xff\xfe\x00\x01",
		"homeassistant/switch/wild/config":       `{"name":"W","command_topic":"a/+/set","state_topic":"a/#"}`,
		"homeassistant/light/tmpl_schema/config": `{"name":"T","schema":"template","command_topic":"t/set","command_on_template":"on"}`,
	}
	for topic, payload := range hostile {
		r.publish(topic, payload, true)
	}
	// A binary state payload on the good device's state topic.
	r.publish(good.stateTopic, "\x00\x01\xff binary", false)
	// The same bad config republished: logged once.
	for range 5 {
		r.publish("homeassistant/light/bad_json/config", `{"name":"x","command_topic":`, false)
	}
	// A flood of valid configs beyond the entity limit.
	for i := range 3 * maxEntities {
		r.publish(fmt.Sprintf("homeassistant/switch/flood_%d/config", i),
			fmt.Sprintf(`{"name":"F%d","command_topic":"flood/%d/set"}`, i, i), false)
	}
	testutil.Eventually(t, 10*time.Second, "all hostile configs handled", func() bool {
		return r.mq.Stats().Messages >= uint64(1+len(hostile)+1+5+3*maxEntities)
	})

	// The agent still answers and controls the good device.
	rec := record(t, broker, "tasmota_345678/cmnd/#")
	if _, err := r.mq.Send(context.Background(), r.device(goodID), map[string]device.Value{"power": device.Bool(false)}); err != nil {
		t.Fatalf("Send to the good device: %v", err)
	}
	testutil.Eventually(t, 5*time.Second, "command to the good device", func() bool { return rec.len() == 1 })
	if d := r.device(goodID); !d.Online || !hasState(d, good.wantState) {
		t.Errorf("good device harmed: %+v", d)
	}
	if n := r.hub.Len(); n > maxEntities+1 {
		t.Errorf("%d devices tracked, want at most %d", n, maxEntities+1)
	}
	if got := r.mq.Stats().Refused; got < uint64(len(hostile)-1+2*maxEntities) {
		t.Errorf("refused = %d, want every hostile config and the flood beyond the limit counted", got)
	}
	refused := map[string]string{}
	for _, dc := range r.mq.Discovered() {
		if dc.Status == StatusRefused {
			refused[dc.Topic] = dc.Reason
		}
	}
	for topic := range hostile {
		if refused[topic] == "" {
			t.Errorf("%s not listed as refused with a reason", topic)
		}
	}
	if n := strings.Count(logs.String(), "homeassistant/light/bad_json/config"); n != 1 {
		t.Errorf("bad config logged %d times, want once\n%s", n, logs.String())
	}
}
