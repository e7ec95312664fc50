package hadiscovery

import (
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

// TestParseConfigDegradesPerProperty pins that one unusable template costs
// only the properties that need it, with a warning naming the component,
// the config key and the construct.
func TestParseConfigDegradesPerProperty(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		wantAccess           map[string]device.Access // remaining properties
		wantWarning          string
	}{
		{"thermostat keeps setpoint and temperature when the mode template reads HA state",
			"homeassistant/climate/trv/config",
			`{"mode_stat_t":"z/trv","mode_stat_tpl":"{{ states('climate.x') }}","mode_cmd_t":"z/trv/set/mode","modes":["off","heat"],
			  "temp_stat_t":"z/trv","temp_stat_tpl":"{{ value_json.sp }}","temp_cmd_t":"z/trv/set/sp",
			  "curr_temp_t":"z/trv","curr_temp_tpl":"{{ value_json.t }}"}`,
			map[string]device.Access{"mode": device.AccessWrite, "targetTemperature": device.AccessReadWrite, "currentTemperature": device.AccessRead},
			`climate: property mode is write-only: mode_state_template: hatemplate: at offset 9: function states(): unsupported`},
		{"switch command template unusable: read-only",
			"homeassistant/switch/plug/config",
			`{"stat_t":"p/state","cmd_t":"p/set","cmd_tpl":"{% for x in value %}{% endfor %}"}`,
			map[string]device.Access{"power": device.AccessRead},
			`switch: property power is read-only: command_template: hatemplate: at offset 3: statement "for": unsupported`},
		{"template of a topic not configured is only reported",
			"homeassistant/switch/plug2/config",
			`{"stat_t":"p/state","cmd_t":"p/set","json_attr_tpl":"x","val_tpl":"{{ value }}","cmd_tpl":"{{ value }}","stat_val_tpl":"{{ states('x') }}"}`,
			map[string]device.Access{"power": device.AccessReadWrite},
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseConfig(tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]device.Access{}
			for _, p := range e.Properties() {
				got[p.Name] = p.Access
			}
			if len(got) != len(tt.wantAccess) {
				t.Errorf("properties %v, want %v", got, tt.wantAccess)
			}
			for n, a := range tt.wantAccess {
				if got[n] != a {
					t.Errorf("property %s access %q, want %q", n, got[n], a)
				}
			}
			if tt.wantWarning == "" {
				if len(e.Warnings) != 0 {
					t.Errorf("warnings %q, want none", e.Warnings)
				}
				return
			}
			if len(e.Warnings) != 1 || !strings.HasPrefix(e.Warnings[0], tt.wantWarning) {
				t.Errorf("warnings %q, want one starting %q", e.Warnings, tt.wantWarning)
			}
		})
	}
}

// TestDegradedPropertyStillWorks drives what is left of a degraded
// thermostat: the setpoint decodes and encodes, a mode write publishes
// the plain mode, the broken template is never rendered.
func TestDegradedPropertyStillWorks(t *testing.T) {
	e, err := ParseConfig("homeassistant/climate/trv/config", []byte(`{"mode_stat_t":"z/trv","mode_stat_tpl":"{{ states('climate.x') }}",
		"mode_cmd_t":"z/trv/set/mode","modes":["off","heat"],"temp_stat_t":"z/trv","temp_stat_tpl":"{{ value_json.sp }}","temp_cmd_t":"z/trv/set/sp"}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeState(e, "z/trv", []byte(`{"sp":21.5,"mode":"heat"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st["targetTemperature"] != device.Float(21.5) {
		t.Errorf("state %v, want only targetTemperature 21.5", st)
	}
	pubs, err := EncodeCommand(e, map[string]device.Value{"mode": device.String("heat")})
	if err != nil || len(pubs) != 1 || pubs[0].Topic != "z/trv/set/mode" || string(pubs[0].Payload) != "heat" {
		t.Errorf("mode write = %+v, %v", pubs, err)
	}
}

// TestNumbersKeepReportedPrecision pins that measured values are not
// rounded (humidity 58.3 stays 58.3) unless suggested_display_precision
// asks for it.
func TestNumbersKeepReportedPrecision(t *testing.T) {
	tests := []struct {
		name, config, payload string
		prop                  string
		want                  device.Value
	}{
		{"humidity sensor", `{"stat_t":"s","dev_cla":"humidity","unit_of_meas":"%","val_tpl":"{{ value_json.humidity }}"}`,
			`{"humidity":58.3}`, "humidity", device.Float(58.3)},
		{"suggested display precision", `{"stat_t":"s","unit_of_meas":"W","name":"Load","suggested_display_precision":1}`,
			`12.3456`, "load", device.Float(12.3)},
		{"temperature keeps two decimals", `{"stat_t":"s","dev_cla":"temperature","unit_of_meas":"°C"}`,
			`21.47`, "currentTemperature", device.Float(21.47)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseConfig("homeassistant/sensor/s/config", []byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			st, err := DecodeState(e, "s", []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if got := st[tt.prop]; got != tt.want {
				t.Errorf("%s = %v, want %v (state %v)", tt.prop, got, tt.want, st)
			}
		})
	}
}
