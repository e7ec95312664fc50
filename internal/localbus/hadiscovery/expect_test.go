package hadiscovery

import (
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

func TestExpectGivesTheValueTheDeviceWillReport(t *testing.T) {
	tests := []struct {
		name   string
		topic  string
		config string
		write  map[string]device.Value
		want   map[string]device.Value
	}{
		{"mireds round trip", "homeassistant/light/a/config",
			`{"schema":"json","command_topic":"a/set","state_topic":"a","supported_color_modes":["color_temp"]}`,
			map[string]device.Value{"colorTemperature": device.Int(2700)},
			map[string]device.Value{"colorTemperature": device.Int(2703)}},
		{"coarse brightness scale", "homeassistant/light/b/config",
			`{"schema":"json","command_topic":"b/set","state_topic":"b","brightness":true,"brightness_scale":10}`,
			map[string]device.Value{"brightness": device.Int(15), "power": device.Bool(true)},
			map[string]device.Value{"brightness": device.Int(20)}},
		{"kelvin lights are exact", "homeassistant/light/c/config",
			`{"command_topic":"c/set","color_temp_command_topic":"c/ct/set","color_temp_kelvin":true,"min_kelvin":2000,"max_kelvin":6500}`,
			map[string]device.Value{"colorTemperature": device.Int(2700)},
			map[string]device.Value{"colorTemperature": device.Int(2700)}},
		{"switches have nothing lossy", "homeassistant/switch/d/config",
			`{"command_topic":"d/set","state_topic":"d"}`,
			map[string]device.Value{"power": device.Bool(true)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseConfig(tt.topic, []byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			got := Expect(e, tt.write)
			if len(got) != len(tt.want) {
				t.Fatalf("Expect = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if !got[k].Equal(v) {
					t.Errorf("Expect[%s] = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}
