package notify

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
)

// TestNotificationSplicedAsEncodingJSON pins the spliced StatusChanged and
// OnlineChanged envelopes to the bytes encoding/json writes for the same
// events decoded into maps, the sequence among their sorted keys, and
// checks that what the splice cannot place takes that path itself.
func TestNotificationSplicedAsEncodingJSON(t *testing.T) {
	hd := cic.Header{Namespace: "CIC.Notification", MessageID: "n-0123456789abcdef01234567", PayloadVersion: "1", Timestamp: 1764470000123}
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	status := mustJSON(statusEvent{DeviceID: "zl42_light", Timestamp: 1764470000000, State: map[string]device.Value{
		"power": device.Bool(true), "brightness": device.Int(57), "colorTemperature": device.Int(4000),
		"color": device.String("#ff00aa"), "temperature": device.Float(21.5),
		"label": device.String(`<a & "b"> \ é ` + "\u2028\x01"), "gone": {},
	}})
	tiny := mustJSON(statusEvent{DeviceID: "t", State: map[string]device.Value{"small": device.Float(1e-7)}})
	online := mustJSON(onlineEvent{DeviceID: "dev<1>", Online: false, Timestamp: 1764470000001})
	cases := []struct {
		name    string
		event   string
		payload [][]byte
		spliced bool // the fast path takes it
		// asStored: a number that encoding/json, through float64, would
		// write in another (equal) form keeps the device model's form,
		// as QueryStatus writes it.
		asStored bool
	}{
		{"status", EventStatusChanged, [][]byte{status}, true, false},
		{"status batch", EventStatusChanged, [][]byte{status, mustJSON(statusEvent{DeviceID: "a", State: map[string]device.Value{"x": device.Int(-3)}})}, true, false},
		{"float in exponent form", EventStatusChanged, [][]byte{tiny}, true, true},
		{"online", EventOnlineChanged, [][]byte{online, online}, true, false},
		{"empty object", EventStatusChanged, [][]byte{[]byte(`{}`)}, true, false},
		{"every key after sequence", EventStatusChanged, [][]byte{[]byte(`{"state":{"a":1},"timestamp":2}`)}, true, false},
		{"every key before sequence", EventStatusChanged, [][]byte{[]byte(`{"a":[1,{"z":"}"}],"b":"s,\"q\":"}`)}, true, false},
		{"nested sequence key", EventStatusChanged, [][]byte{[]byte(`{"a":{"sequence":1,"zz":2},"z":3}`)}, true, false},
		{"key with an escape", EventStatusChanged, [][]byte{[]byte(`{"d\u0065viceId":"x","a":1}`)}, false, false},
		{"sequence stored", EventStatusChanged, [][]byte{[]byte(`{"deviceId":"x","sequence":9}`)}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			batch := make([]pending, len(c.payload))
			for i, p := range c.payload {
				batch[i] = pending{id: int64(i + 1), subID: "sub-<1>", seq: int64(100 + i), name: c.event, payload: p}
			}
			h := hd
			h.Name = c.event
			want, err := encodeNotificationGeneric(batch, h)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeNotificationAs(batch, h)
			if err != nil {
				t.Fatal(err)
			}
			if c.asStored {
				var g, w any
				if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil || !reflect.DeepEqual(g, w) ||
					!bytes.Contains(got, []byte(`"small":1e-07`)) {
					t.Errorf("spliced:\n%s\nencoding/json:\n%s", got, want)
				}
			} else if !bytes.Equal(got, want) {
				t.Errorf("spliced:\n%s\nencoding/json:\n%s", got, want)
			}
			if _, ok := spliceEvents(batch, h); ok != c.spliced {
				t.Errorf("spliced = %v, want %v", ok, c.spliced)
			}
		})
	}
}

// TestNotificationBadStoredEventRefused: an outbox row that is not JSON
// (a damaged durable copy) is an error, as before, not a broken POST body.
func TestNotificationBadStoredEventRefused(t *testing.T) {
	for _, p := range []string{`{"deviceId":"x",}`, `{"a":1`, `not json`, `{"a":1}}`} {
		batch := []pending{{id: 7, subID: "s", seq: 1, name: EventStatusChanged, payload: []byte(p)}}
		if b, err := encodeNotificationAs(batch, cic.Header{Name: EventStatusChanged}); err == nil {
			t.Errorf("stored event %q encoded as %s", p, b)
		}
	}
}

// BenchmarkEncodeNotification encodes a POST of 100 StatusChanged events
// as the ingest scenario's lights make them, spliced and (the path before)
// through encoding/json's maps. Per op: one POST body.
func BenchmarkEncodeNotification(b *testing.B) {
	batch := make([]pending, 100)
	for i := range batch {
		p, _ := json.Marshal(statusEvent{DeviceID: "zl" + string(rune('0'+i%10)) + "_light", Timestamp: 1764470000000 + int64(i),
			State: map[string]device.Value{"brightness": device.Int(int64(i)), "power": device.Bool(true)}})
		batch[i] = pending{id: int64(i), subID: "s-1", seq: int64(i + 1), name: EventStatusChanged, payload: p}
	}
	hd := cic.Header{Namespace: "CIC.Notification", Name: EventStatusChanged, MessageID: "n-x", PayloadVersion: "1", Timestamp: 1}
	for _, c := range []struct {
		name string
		f    func([]pending, cic.Header) ([]byte, error)
	}{{"spliced", encodeNotificationAs}, {"encoding_json", encodeNotificationGeneric}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.f(batch, hd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStatusEventAsEncodingJSON pins the stored StatusChanged event to
// json.Marshal's bytes for statusEvent.
func TestStatusEventAsEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		id    string
		state map[string]device.Value
	}{
		{"zl42_light", map[string]device.Value{"power": device.Bool(true), "brightness": device.Int(57), "colorTemperature": device.Int(-4000)}},
		{"d<&>\"\u2028\xff", map[string]device.Value{"b": device.Float(21.5), "a": device.Float(1e-7), "c": device.Float(1e300), "Z": {},
			"x<y": device.String("<a & \"b\"> é \u2029\x01\xfe"), "é": device.Float(math.Copysign(0, -1)), "n": device.Float(math.NaN())}},
		{"empty", map[string]device.Value{}},
		{"nil", nil},
	} {
		want, err := json.Marshal(statusEvent{DeviceID: c.id, State: c.state, Timestamp: 1764470000123})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStatusEvent(nil, c.id, c.state, 1764470000123); !bytes.Equal(got, want) {
			t.Errorf("appendStatusEvent(%q):\n%s\njson.Marshal:\n%s", c.id, got, want)
		}
	}
}
