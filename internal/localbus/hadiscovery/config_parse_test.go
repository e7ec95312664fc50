package hadiscovery

import (
	"errors"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

func TestParseConfigRefusesHostileInput(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	big := `{"name":"` + strings.Repeat("x", 5<<20) + `","state_topic":"a","command_topic":"b"}`
	tests := []struct {
		name, topic, payload, wantErr string
	}{
		{"malformed JSON", "homeassistant/switch/x/config", `{"cmd_t":`, "invalid JSON"},
		{"trailing data", "homeassistant/switch/x/config", `{"cmd_t":"a"} {}`, "trailing data"},
		{"trailing closing brackets", "homeassistant/switch/x/config", `{"cmd_t":"a"}]]]`, "trailing data"},
		{"non-object JSON", "homeassistant/switch/x/config", `["cmd_t"]`, "not a JSON object"},
		{"unknown component", "homeassistant/holodeck/x/config", `{"cmd_t":"a"}`, "unsupported component \"holodeck\""},
		{"unknown component with a node id names the component", "homeassistant/holodeck/0x0017880104e45520/x/config", `{"cmd_t":"a"}`, "unsupported component \"holodeck\""},
		{"not a config topic", "homeassistant/switch/x/state", `{}`, "not a discovery config topic"},
		{"bad object id", "homeassistant/switch/x y/config", `{"cmd_t":"a"}`, "must be [A-Za-z0-9_-]"},
		{"5 MB config", "homeassistant/switch/x/config", big, "exceeds"},
		{"deep nesting", "homeassistant/switch/x/config", deep, "nested deeper"},
		{"invalid UTF-8", "homeassistant/switch/x/config", "{\"name\":\"\xff\"}", "UTF-8"},
		{"wildcard state topic", "homeassistant/switch/x/config", `{"stat_t":"a/+/b","cmd_t":"c"}`, "wildcard"},
		{"wildcard command topic", "homeassistant/switch/x/config", `{"cmd_t":"a/#"}`, "wildcard"},
		{"topic not a string", "homeassistant/switch/x/config", `{"cmd_t":5}`, "must be a string"},
		{"light without command topic", "homeassistant/light/x/config", `{"stat_t":"a"}`, "requires command_topic"},
		{"select without options", "homeassistant/select/x/config", `{"cmd_t":"a"}`, "requires options"},
		{"sensor without state topic", "homeassistant/sensor/x/config", `{"name":"t"}`, "requires state_topic"},
		{"unsupported template leaves nothing", "homeassistant/sensor/x/config", `{"stat_t":"a","val_tpl":"{{ value_json.ts | slugify }}"}`,
			"sensor has nothing left to read or control: sensor: property x dropped: value_template: hatemplate: at offset 19: filter \"slugify\": unsupported"},
		{"template light without its templates", "homeassistant/light/x/config", `{"schema":"template","cmd_t":"a"}`, "light requires command_on_template"},
		{"unsupported light schema", "homeassistant/light/x/config", `{"schema":"weird","cmd_t":"a"}`, "schema \"weird\" is not supported"},
		{"availability item without topic", "homeassistant/switch/x/config", `{"cmd_t":"a","avty":[{"pl_avail":"up"}]}`, "has no topic"},
		{"nothing to control", "homeassistant/cover/x/config", `{"name":"c"}`, "nothing to read or control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseConfig(tt.topic, []byte(tt.payload))
			if err == nil {
				t.Fatalf("ParseConfig accepted it: %+v", e)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseConfigEmptyPayloadIsRemoval(t *testing.T) {
	e, err := ParseConfig("homeassistant/switch/node1/plug/config", nil)
	if !errors.Is(err, ErrRemoved) || e != nil {
		t.Fatalf("got (%v, %v), want (nil, ErrRemoved)", e, err)
	}
}

func TestParseConfigTopicWithNodeID(t *testing.T) {
	e, err := ParseConfig("homeassistant/switch/node1/plug/config", []byte(`{"cmd_t":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Component != "switch" || e.NodeID != "node1" || e.ObjectID != "plug" {
		t.Errorf("got component %q node %q object %q", e.Component, e.NodeID, e.ObjectID)
	}
}

func TestParseConfigExpandsAbbreviationsAndBaseTopic(t *testing.T) {
	e, err := ParseConfig("homeassistant/light/dev1/config", []byte(`{
		"~":"home/lamp","stat_t":"~/state","cmd_t":"~/set","bri_cmd_t":"~/bri","bri_stat_t":"bri/~",
		"bri_scl":100,"pl_on":"1","pl_off":"0","uniq_id":"lamp1","json_attr_t":"~/attr",
		"avty":[{"t":"~/avail","pl_avail":"up","pl_not_avail":"down","val_tpl":"{{ value_json.s }}"}],"avty_mode":"all",
		"dev":{"ids":["lamp-1"],"mf":"Acme","mdl":"L1","mdl_id":"L1-EU","sw":"1.0","hw":"rev2","sa":"Hall","cns":[["mac","AA:BB"]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	// The expanded config itself is dropped after the build; what was read
	// from it shows in the topics kept and in how the entity behaves.
	want := map[string]string{
		"state_topic": "home/lamp/state", "command_topic": "home/lamp/set", "brightness_command_topic": "home/lamp/bri",
		"brightness_state_topic": "bri/home/lamp", "json_attributes_topic": "home/lamp/attr",
	}
	for k, v := range want {
		if got := e.topic(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if e.UniqueID != "lamp1" {
		t.Errorf("unique_id = %q", e.UniqueID)
	}
	// brightness_scale 100 and payload_on "1": 40 % is sent as 40, then "1".
	pubs, err := EncodeCommand(e, map[string]device.Value{"brightness": device.Int(40)})
	if err != nil || len(pubs) != 2 || string(pubs[0].Payload) != "40" || string(pubs[1].Payload) != "1" {
		t.Errorf("EncodeCommand = %v, %v; want brightness 40 then payload_on 1", pubs, err)
	}
	d := e.Device
	if d.Manufacturer != "Acme" || d.Model != "L1" || d.ModelID != "L1-EU" || d.SWVersion != "1.0" || d.HWVersion != "rev2" ||
		d.SuggestedArea != "Hall" || d.Identifiers[0] != "lamp-1" || d.Connections[0] != [2]string{"mac", "AA:BB"} {
		t.Errorf("device block not expanded: %+v", d)
	}
	av := e.AvailabilityTopics()
	if len(av) != 1 || av[0].Topic != "home/lamp/avail" || av[0].PayloadAvailable != "up" || av[0].PayloadNotAvailable != "down" {
		t.Errorf("availability = %+v", av)
	}
	if e.AvailabilityMode() != "all" {
		t.Errorf("availability mode = %q", e.AvailabilityMode())
	}
	if got := e.StateTopics(); len(got) != 2 || got[0] != "home/lamp/state" || got[1] != "bri/home/lamp" {
		t.Errorf("StateTopics = %v", got)
	}
}

func TestDecodeStateIgnoresWhatMatchesNothing(t *testing.T) {
	e, err := ParseConfig("homeassistant/switch/x/config", []byte(`{"stat_t":"s","cmd_t":"c","val_tpl":"{{ value_json.POWER }}"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{`{"POWER":"TOGGLE"}`, `{"Other":1}`, `not json`, ``, `{"POWER":`} {
		got, err := DecodeState(e, "s", []byte(payload))
		if err != nil || len(got) != 0 {
			t.Errorf("DecodeState(%q) = %v, %v; want no change", payload, got, err)
		}
	}
	if got, _ := DecodeState(e, "other/topic", []byte(`{"POWER":"ON"}`)); len(got) != 0 {
		t.Errorf("a message on another topic changed %v", got)
	}
}

func TestDecodeStateRefusesBinaryPayload(t *testing.T) {
	e, err := ParseConfig("homeassistant/sensor/x/config", []byte(`{"stat_t":"s","unit_of_meas":"W"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, payload := range [][]byte{{0xff, 0xfe, 0x00}, {'1', 0, '2'}, make([]byte, MaxStateLen+1)} {
		if _, err := DecodeState(e, "s", payload); err == nil {
			t.Errorf("DecodeState(%q...) accepted a binary or huge payload", payload[:3])
		}
	}
}

func TestSensorNoneIsUnknown(t *testing.T) {
	e, err := ParseConfig("homeassistant/sensor/x/config", []byte(`{"stat_t":"s","dev_cla":"humidity","unit_of_meas":"%"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeState(e, "s", []byte("None"))
	if v, ok := got["humidity"]; err != nil || !ok || !v.IsNull() {
		t.Errorf("DecodeState(None) = %v, %v; want humidity null", got, err)
	}
}

func TestEncodeCommandChecksValues(t *testing.T) {
	e, err := ParseConfig("homeassistant/light/x/config", []byte(`{"schema":"json","cmd_t":"c","sup_clrm":["brightness"]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		props map[string]device.Value
		code  device.Code
	}{
		{map[string]device.Value{"brightness": device.Int(101)}, device.CodeValueOutOfRange},
		{map[string]device.Value{"brightness": device.String("x")}, device.CodeValueOutOfRange},
		{map[string]device.Value{"colorTemperature": device.Int(3000)}, device.CodePropertyNotSupported},
	}
	for _, tt := range tests {
		if _, err := EncodeCommand(e, tt.props); device.CodeOf(err) != tt.code {
			t.Errorf("EncodeCommand(%v) error %v, want code %s", tt.props, err, tt.code)
		}
	}
	s, _ := ParseConfig("homeassistant/sensor/x/config", []byte(`{"stat_t":"s","dev_cla":"temperature"}`))
	if _, err := EncodeCommand(s, map[string]device.Value{"currentTemperature": device.Float(20)}); device.CodeOf(err) != device.CodePropertyReadOnly {
		t.Errorf("writing a sensor: %v, want PROPERTY_READ_ONLY", err)
	}
}

func TestLightJSONSchemaPowerOffSendsOnlyState(t *testing.T) {
	e, err := ParseConfig("homeassistant/light/x/config", []byte(`{"schema":"json","cmd_t":"c","sup_clrm":["xy"]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := EncodeCommand(e, map[string]device.Value{"power": device.Bool(false), "brightness": device.Int(10)})
	if err != nil || len(got) != 1 || string(got[0].Payload) != `{"state":"OFF"}` {
		t.Errorf("got %s, %v", fmtPubs(got), err)
	}
	got, err = EncodeCommand(e, map[string]device.Value{"color": device.String("#ff0000")})
	if err != nil || string(got[0].Payload) != `{"state":"ON","color":{"x":0.7006,"y":0.2993}}` {
		t.Errorf("xy colour: got %s, %v", fmtPubs(got), err)
	}
	if _, err := EncodeCommand(e, map[string]device.Value{"color": device.String("red")}); device.CodeOf(err) != device.CodeValueOutOfRange {
		t.Errorf("bad colour: %v", err)
	}
}

func TestLightDefaultSchemaOnCommandType(t *testing.T) {
	base := `"cmd_t":"c","bri_cmd_t":"b","clr_temp_cmd_t":"ct","color_temp_kelvin":true,"min_kvn":2700,"max_kvn":6500`
	tests := []struct {
		onType string
		want   string
	}{
		{"last", "b 128\nc ON\n"},
		{"first", "c ON\nb 128\n"},
		{"brightness", "b 128\n"},
	}
	for _, tt := range tests {
		e, err := ParseConfig("homeassistant/light/x/config", []byte(`{`+base+`,"on_cmd_type":"`+tt.onType+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeCommand(e, map[string]device.Value{"brightness": device.Int(50)})
		if err != nil || fmtPubs(got) != tt.want {
			t.Errorf("on_command_type %s: got %q, %v; want %q", tt.onType, fmtPubs(got), err, tt.want)
		}
	}
	// Home Assistant's schema_basic async_turn_on: with "brightness" a
	// turn-on without a brightness sends the brightness it knows, else 255.
	e, _ := ParseConfig("homeassistant/light/x/config", []byte(`{`+base+`,"on_cmd_type":"brightness"}`))
	if got, err := EncodeCommand(e, map[string]device.Value{"power": device.Bool(true)}); err != nil || fmtPubs(got) != "b 255\n" || !OnByBrightness(e) {
		t.Errorf("brightness power-on: %q, %v", fmtPubs(got), err)
	}
	// A colour-temperature change is a turn-on too: brightness first.
	if got, err := EncodeCommand(e, map[string]device.Value{"colorTemperature": device.Int(3000)}); err != nil || fmtPubs(got) != "b 255\nct 3000\n" {
		t.Errorf("brightness colour-temperature write: %q, %v", fmtPubs(got), err)
	}
	e, _ = ParseConfig("homeassistant/light/x/config", []byte(`{`+base+`}`))
	got, err := EncodeCommand(e, map[string]device.Value{"colorTemperature": device.Int(3000)})
	if err != nil || fmtPubs(got) != "ct 3000\nc ON\n" {
		t.Errorf("kelvin command: %q, %v", fmtPubs(got), err)
	}
	p, _ := e.facet("colorTemperature")
	if *p.prop.Min != 2700 || *p.prop.Max != 6500 {
		t.Errorf("kelvin range %v-%v", *p.prop.Min, *p.prop.Max)
	}
}

func TestCoverPositionScale(t *testing.T) {
	e, err := ParseConfig("homeassistant/cover/x/config", []byte(`{"pos_t":"p","set_pos_t":"sp","pos_open":255,"pos_clsd":0,"pl_stop":null,"cmd_t":"c"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := DecodeState(e, "p", []byte("51"))
	if !got["position"].Equal(device.Int(20)) {
		t.Errorf("position = %v, want 20", got["position"])
	}
	pubs, err := EncodeCommand(e, map[string]device.Value{"position": device.Int(50)})
	if err != nil || fmtPubs(pubs) != "sp 128\n" {
		t.Errorf("got %q, %v", fmtPubs(pubs), err)
	}
	m, _ := e.facet("motion")
	if len(m.prop.Values) != 2 {
		t.Errorf("payload_stop null should drop stop: %v", m.prop.Values)
	}
}

func TestOptimistic(t *testing.T) {
	tests := []struct {
		config string
		want   bool
	}{
		{`{"cmd_t":"c"}`, true},
		{`{"cmd_t":"c","stat_t":"s"}`, false},
		{`{"cmd_t":"c","stat_t":"s","opt":true}`, true},
	}
	for _, tt := range tests {
		e, err := ParseConfig("homeassistant/switch/x/config", []byte(tt.config))
		if err != nil {
			t.Fatal(err)
		}
		if got := Optimistic(e); got != tt.want {
			t.Errorf("Optimistic(%s) = %v, want %v", tt.config, got, tt.want)
		}
	}
}
