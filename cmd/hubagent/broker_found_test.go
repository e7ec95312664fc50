package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/testutil"
)

// A household broker already on the embedded broker's port (say, the
// mosquitto service the test dependencies installed) is used instead of
// failing: `hubagent run` with no configuration keeps working.
func TestRunUsesBrokerFoundOnEmbeddedPort(t *testing.T) {
	t.Parallel()
	broker := testutil.StartMosquitto(t)
	dir := t.TempDir()
	writeE2EConfig(t, dir)
	app := newAppliance(t, broker)
	ag := startAgent(t, dir, "--config", "hubagent.toml", "--mqtt-listen", broker.Addr())
	ag.healthz(t, 10*time.Second)
	app.publish(t, "zigbee2mqtt/bridge/state", `{"state":"online"}`)
	app.publish(t, e2eLampTopic, e2eLampConfig)
	pollDevices(t, dir, 10*time.Second, "the lamp from the found broker", func(ds map[string]device.Device) bool {
		return ds[e2eLampID].Online
	})
	ag.stop(t, 10*time.Second) // the log is read once the process is done writing it
	if !strings.Contains(ag.stderr.String(), "already listens") {
		t.Errorf("no log line says the found broker is used:\n%s", ag.stderr)
	}
}
