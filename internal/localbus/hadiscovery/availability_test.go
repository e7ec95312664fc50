package hadiscovery

import "testing"

func TestAvailabilityModes(t *testing.T) {
	cfg := func(mode string) string {
		return `{"cmd_t":"c","avty_mode":"` + mode + `","avty":[{"t":"bridge/state","val_tpl":"{{ value_json.state }}"},{"t":"dev/lwt","pl_avail":"Online","pl_not_avail":"Offline"}]}`
	}
	type msg struct{ topic, payload string }
	steps := []msg{{"bridge/state", `{"state":"online"}`}, {"dev/lwt", "Online"}, {"dev/lwt", "Offline"}, {"bridge/state", `{"state":"online"}`}, {"dev/lwt", "garbage"}}
	tests := []struct {
		mode string
		want []bool
	}{
		{"all", []bool{false, true, false, false, false}},
		{"any", []bool{true, true, true, true, true}},
		{"latest", []bool{true, true, false, true, true}},
	}
	for _, tt := range tests {
		e := mustParse(t, "homeassistant/switch/x/config", cfg(tt.mode))
		a := NewAvailability(e)
		if a.Online() {
			t.Errorf("%s: online before any message", tt.mode)
		}
		for i, s := range steps {
			if got := a.Update(s.topic, []byte(s.payload)); got != tt.want[i] {
				t.Errorf("%s step %d (%s %s): online=%v, want %v", tt.mode, i, s.topic, s.payload, got, tt.want[i])
			}
		}
	}
}

func TestAvailabilityDefaultsAndAlwaysOnline(t *testing.T) {
	e := mustParse(t, "homeassistant/switch/x/config", `{"cmd_t":"c","avty_t":"dev/status"}`)
	a := NewAvailability(e)
	if a.Update("dev/status", []byte("online")) != true || a.Update("dev/status", []byte("offline")) != false {
		t.Error("default payloads online/offline not honoured")
	}
	if !NewAvailability(mustParse(t, "homeassistant/switch/y/config", `{"cmd_t":"c"}`)).Online() {
		t.Error("an entity without availability topics must be online")
	}
}
