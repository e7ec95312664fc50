package localbus

import (
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/testutil"
)

// A batch of messages taken together reaches the hub in arrival order:
// state gathered before an availability message is reported before the
// device goes offline, and state after it after.
func TestStateBatchKeepsArrivalOrderAroundAvailability(t *testing.T) {
	broker := testutil.StartMosquitto(t)
	r := newRig(t, broker, "", rigOptions{})
	r.publish("homeassistant/light/zb0/light/config",
		`{"brightness":true,"brightness_scale":100,"command_topic":"zb/0/set","availability_topic":"zb/0/availability",`+
			`"device":{"identifiers":["zb0"],"name":"Light"},"name":null,"schema":"json","state_topic":"zb/0","unique_id":"zb0_light"}`, true)
	r.publish("zb/0/availability", "online", true)
	var id string
	testutil.Eventually(t, 10*time.Second, "the light online", func() bool {
		for _, d := range r.hub.Devices() {
			if d.Online {
				id = d.ID
				return true
			}
		}
		return false
	})
	testutil.Eventually(t, 10*time.Second, "its routes", func() bool {
		r.mq.disc.procMu.RLock()
		defer r.mq.disc.procMu.RUnlock()
		return len(r.mq.disc.routes["zb/0"]) > 0 && len(r.mq.disc.routes["zb/0/availability"]) > 0
	})
	sub := r.hub.Subscribe(64, hub.StateChanged, hub.OnlineChanged)
	defer sub.Close()
	r.mq.disc.messages(newStateScratch(), []busMessage{
		{"zb/0", []byte(`{"state":"ON","brightness":10}`)},
		{"zb/0", []byte(`{"state":"ON","brightness":20}`)},
		{"zb/0/availability", []byte("offline")},
		{"zb/0", []byte(`{"state":"ON","brightness":30}`)},
		{"zb/0/availability", []byte("online")},
	})
	type step struct {
		brightness int64 // state event, or
		online     *bool // online event
	}
	on, off := true, false
	want := []step{{brightness: 10}, {brightness: 20}, {online: &off}, {brightness: 30}, {online: &on}}
	for i, w := range want {
		select {
		case ev := <-sub.C:
			if ev.DeviceID != id {
				t.Fatalf("event %d for %s, want %s", i, ev.DeviceID, id)
			}
			switch {
			case w.online != nil:
				if ev.Type != hub.OnlineChanged || ev.Online != *w.online {
					t.Fatalf("event %d = %v online=%v, want OnlineChanged online=%v", i, ev.Type, ev.Online, *w.online)
				}
			default:
				if ev.Type != hub.StateChanged || !ev.State["brightness"].Equal(device.Int(w.brightness)) {
					t.Fatalf("event %d = %v %v, want StateChanged brightness %d", i, ev.Type, ev.State, w.brightness)
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d (%+v) never came", i, w)
		}
	}
}
