package localbus

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

// z2mLightConfig is the discovery config of hubbench's lights: a
// Zigbee2MQTT dimmable light, JSON schema, one state topic.
func z2mLightConfig(i int) string {
	return fmt.Sprintf(`{"brightness":true,"brightness_scale":100,"command_topic":"zl/%d/set",`+
		`"device":{"identifiers":["zl%d"],"manufacturer":"bench","model":"sim","name":"Light %d"},`+
		`"name":null,"schema":"json","state_topic":"zl/%d","supported_color_modes":["brightness"],"unique_id":"zl%d_light"}`,
		i, i, i, i, i)
}

// BenchmarkStatePathZ2MLight is BenchmarkStatePath for the messages
// hubbench's ingest scenario sends: a Zigbee2MQTT light's JSON report with
// a new brightness each time. Per op: one message handed over as paho's
// handler does, decoded, reported to the hub and queued for the store
// (allocs/op is the agent's allocations per message).
func BenchmarkStatePathZ2MLight(b *testing.B) {
	broker := testutil.StartMosquitto(b)
	r := newRig(b, broker, b.TempDir(), rigOptions{writer: store.WriterOptions{Window: 200 * time.Millisecond}})
	const devices = 100
	for i := range devices {
		r.publish(fmt.Sprintf("homeassistant/light/zl%d/light/config", i), z2mLightConfig(i), true)
	}
	testutil.Eventually(b, 30*time.Second, "devices", func() bool { return r.hub.Len() >= devices })
	topics := make([]string, devices)
	for i := range topics {
		topics[i] = "zl/" + strconv.Itoa(i)
	}
	testutil.Eventually(b, 30*time.Second, "routes", func() bool {
		r.mq.disc.procMu.RLock()
		defer r.mq.disc.procMu.RUnlock()
		return len(r.mq.disc.routes) >= devices
	})
	payloads := make([][]byte, 100)
	for i := range payloads {
		payloads[i] = []byte(`{"state":"ON","brightness":` + strconv.Itoa(i+1) + `,"linkquality":90}`)
	}
	reports0 := r.hub.Stats().Reports
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.mq.disc.handle(b.Context(), topics[i%devices], payloads[(i/devices)%len(payloads)])
	}
	testutil.Eventually(b, 30*time.Second, "every message reported", func() bool {
		return r.hub.Stats().Reports-reports0 >= uint64(b.N)
	})
}
