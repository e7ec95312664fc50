package config

import (
	"strings"
	"testing"
)

func TestLimitsAreValidated(t *testing.T) {
	tests := []struct {
		name    string
		set     func(c *Config)
		wantKey string // "" = valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"packet smaller than a discovery config", func(c *Config) { c.MQTT.MaxPacketSize = 32 << 10 }, "mqtt.max_packet_size"},
		{"no clients", func(c *Config) { c.MQTT.MaxClients = 0 }, "mqtt.max_clients"},
		{"pending writes past 65535", func(c *Config) { c.MQTT.MaxPendingWrites = 70000 }, "mqtt.max_pending_writes"},
		{"negative retained bytes", func(c *Config) { c.MQTT.MaxRetainedBytes = -1 }, "mqtt.max_retained_bytes"},
		{"state payload over the queue", func(c *Config) { c.MQTT.MaxStatePayload, c.MQTT.StateQueueBytes = 1<<20, 1<<16 }, "mqtt.max_state_payload"},
		{"no entities per device", func(c *Config) { c.MQTT.MaxEntitiesPerDevice = 0 }, "mqtt.max_entities_per_device"},
		{"negative min free", func(c *Config) { c.Store.MinFreeBytes = -1 }, "store.min_free_bytes"},
		{"embedded broker on every interface, anonymous", func(c *Config) { c.MQTT.Listen = "0.0.0.0:1883" }, "mqtt.listen"},
		{"embedded broker on a LAN address, anonymous, auto", func(c *Config) { c.MQTT.Listen, c.MQTT.Broker = "192.168.1.2:1883", "auto" }, "mqtt.listen"},
		{"embedded broker on every interface with credentials", func(c *Config) {
			c.MQTT.Listen, c.MQTT.Username, c.MQTT.Password = ":1883", "hub", "pw"
		}, ""},
		{"embedded broker on every interface, anonymous allowed", func(c *Config) { c.MQTT.Listen, c.MQTT.AllowAnonymous = ":1883", true }, ""},
		{"household broker: listen unused", func(c *Config) { c.MQTT.Listen, c.MQTT.Broker = ":1883", "tcp://broker.lan:1883" }, ""},
		{"localhost", func(c *Config) { c.MQTT.Listen = "localhost:1883" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.set(c)
			err := c.Validate()
			switch {
			case tt.wantKey == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantKey != "" && (err == nil || !strings.Contains(err.Error(), tt.wantKey)):
				t.Errorf("error %v, want one naming %s", err, tt.wantKey)
			}
		})
	}
}
