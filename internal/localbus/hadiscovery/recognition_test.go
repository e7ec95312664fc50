package hadiscovery

import (
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hadiscovery/hafixtures"
)

// TestRecognitionRate pins the share of collected upstream configs
// (hafixtures, every one replayed by the fixture tests here and through
// mosquitto in localbus) the agent recognises: at least 98 %. A refusal
// must be a documented one (the fixture's Refused, with its reason).
func TestRecognitionRate(t *testing.T) {
	total, accepted := 0, 0
	for _, fx := range hafixtures.All() {
		total++
		_, err := ParseConfig(fx.Topic, []byte(fx.Config))
		switch {
		case err == nil && fx.Refused == "":
			accepted++
		case err != nil && fx.Refused != "" && strings.Contains(err.Error(), fx.Refused):
		default:
			t.Errorf("%s: error %v, want refused=%q", fx.Name, err, fx.Refused)
		}
	}
	rate := float64(accepted) / float64(total)
	t.Logf("recognised %d of %d upstream configs (%.1f %%)", accepted, total, 100*rate)
	if rate < 0.98 {
		t.Errorf("recognised %.1f %%, want at least 98 %%", 100*rate)
	}
}

// TestEventsReachPartnersAsChangingState pins the event model: every
// occurrence sets the event and a newer <name>At, a non-matching payload
// sets nothing.
func TestEventsReachPartnersAsChangingState(t *testing.T) {
	parse := func(topic, cfg string) *Entity {
		e, err := ParseConfig(topic, []byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	before := time.Now().UnixMilli()
	ev := parse("homeassistant/event/test/config", `{"name":"Doorbell","state_topic":"t","event_types":["press","hold"]}`)
	st, _ := DecodeState(ev, "t", []byte(`{"event_type":"press"}`))
	at, _ := st["doorbellAt"].AsInt()
	if st["doorbell"] != device.String("press") || at < before {
		t.Errorf("event state %v", st)
	}
	if st, _ := DecodeState(ev, "t", []byte(`{"event_type":"explode"}`)); len(st) != 0 {
		t.Errorf("unknown event type decoded: %v", st)
	}
	trig := parse("homeassistant/device_automation/0x1/action_double/config",
		`{"automation_type":"trigger","type":"action","subtype":"double","payload":"double","topic":"z/action","device":{"identifiers":["z1"]}}`)
	if st, _ := DecodeState(trig, "z/action", []byte("single")); len(st) != 0 {
		t.Errorf("other payload fired the trigger: %v", st)
	}
	st, _ = DecodeState(trig, "z/action", []byte("double"))
	if v, _ := st["actionDouble"].AsInt(); v < before {
		t.Errorf("trigger state %v", st)
	}
	tag := parse("homeassistant/tag/0AFFD2/bla/config", `{"topic":"foobar/tag_scanned","value_template":"{{ value_json.PN532.UID }}","device":{"identifiers":["0AFFD2"]}}`)
	st, _ = DecodeState(tag, "foobar/tag_scanned", []byte(`{"PN532":{"UID":"E9F35959","DATA":"ILOVETASMOTA"}}`))
	if st["tag"] != device.String("E9F35959") {
		t.Errorf("tag state %v", st)
	}
	cam := parse("homeassistant/camera/test/config", `{"name":"test","topic":"test/1"}`)
	if len(cam.Warnings) != 1 || !strings.Contains(cam.Warnings[0], "not served") {
		t.Errorf("camera warnings %q", cam.Warnings)
	}
	st, err := DecodeState(cam, "test/1", []byte("\xff\xd8\xff\xe0 JPEG"))
	if v, _ := st["imageAt"].AsInt(); err != nil || v < before {
		t.Errorf("camera image: %v %v", st, err)
	}
}

// TestSirenAndAlarmWrites pins the write side of sirens (Home Assistant's
// JSON without a template) and alarm code handling.
func TestSirenAndAlarmWrites(t *testing.T) {
	siren, err := ParseConfig("homeassistant/siren/s/config", []byte(`{"name":"s","command_topic":"s/set","state_topic":"s/state",
		"available_tones":["ping","siren"],"support_volume_set":true,"support_duration":true}`))
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := EncodeCommand(siren, map[string]device.Value{"power": device.Bool(true), "tone": device.String("ping"), "volume": device.Int(50)})
	if err != nil || len(pubs) != 1 || string(pubs[0].Payload) != `{"state":"ON","tone":"ping","volume_level":0.5}` {
		t.Errorf("siren on: %s %v", fmtPubs(pubs), err)
	}
	if st, _ := DecodeState(siren, "s/state", []byte(`{"state":"ON","tone":"siren"}`)); st["power"] != device.Bool(true) {
		t.Errorf("siren JSON state: %v", st)
	}
	alarm, err := ParseConfig("homeassistant/alarm_control_panel/a/config", []byte(`{"state_topic":"a/s","command_topic":"a/c","code":"1234",
		"code_arm_required":false,"supported_features":["arm_home"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		props map[string]device.Value
		want  string // payload, or error code
	}{
		{"arming needs no code here", map[string]device.Value{"alarmCommand": device.String("arm_home")}, "ARM_HOME"},
		{"disarm without the code", map[string]device.Value{"alarmCommand": device.String("disarm")}, string(device.CodeInvalidRequest)},
		{"disarm with a wrong code", map[string]device.Value{"alarmCommand": device.String("disarm"), "alarmCode": device.String("1235")}, string(device.CodeAccessDenied)},
		{"disarm with the code", map[string]device.Value{"alarmCommand": device.String("disarm"), "alarmCode": device.String("1234")}, "DISARM"},
		{"code alone", map[string]device.Value{"alarmCode": device.String("1234")}, string(device.CodeInvalidRequest)},
		{"unsupported mode", map[string]device.Value{"alarmCommand": device.String("arm_away")}, string(device.CodeValueOutOfRange)},
	} {
		pubs, err := EncodeCommand(alarm, tt.props)
		got := ""
		if err != nil {
			got = string(device.CodeOf(err))
			if strings.Contains(err.Error(), "1234") {
				t.Errorf("%s: the error shows the code: %v", tt.name, err)
			}
		} else if len(pubs) == 1 {
			got = string(pubs[0].Payload)
		}
		if got != tt.want {
			t.Errorf("%s: got %q (%v), want %q", tt.name, got, err, tt.want)
		}
	}
	for _, p := range alarm.Properties() {
		if strings.Contains(p.Name+strings.Join(p.Values, ","), "1234") {
			t.Errorf("property %+v shows the code", p)
		}
	}
}
