package cic

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
)

// awkwardStrings need every kind of escaping encoding/json does.
var awkwardStrings = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "héllo wörld ☃ 🙂", "line\u2028para\u2029", "bad utf8 \xff\xfe end", "\xed\xa0\x80",
	"trailing \xe2\x82",
}

func FuzzAppendString(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}

// The envelope header is written as encoding/json writes Header.
func TestAppendHeaderMatchesEncodingJSON(t *testing.T) {
	for _, s := range awkwardStrings {
		hd := Header{Namespace: "CIC." + s, Name: s + "Response", MessageID: s, PayloadVersion: "1", Timestamp: -42}
		want, _ := json.Marshal(hd)
		if got := appendHeader(nil, hd); !bytes.Equal(got, want) {
			t.Errorf("header %q:\n got %s\nwant %s", s, got, want)
		}
	}
}

// referenceQuery is the QueryStatus payload built the way it was before the
// hand-written encoder: copies of each device into QueryResponse, encoded by
// encoding/json.
func referenceQuery(hb *hub.Hub, ids []string, exposed func(*device.Device) bool) QueryResponse {
	out := QueryResponse{Devices: []QueryItem{}}
	for _, id := range ids {
		item := QueryItem{DeviceID: id}
		found := hb.View(id, func(d *device.Device) {
			if !exposed(d) {
				return
			}
			item.Online = d.Online
			item.State = map[string]device.Value{}
			for k, v := range d.State {
				item.State[k] = v
			}
			item.UpdatedAt = d.UpdatedAt.UnixMilli()
		})
		if !found || item.State == nil {
			e := notFound(id)
			item = QueryItem{DeviceID: id, ErrorCode: e.Code, Message: e.Message}
		}
		out.Devices = append(out.Devices, item)
	}
	return out
}

func TestQueryAnswerMatchesEncodingJSON(t *testing.T) {
	ctx := context.Background()
	_, hb := newTestHub(t)
	state := map[string]device.Value{}
	for i, s := range awkwardStrings {
		if utf8.ValidString(s) && s != "" {
			state[s] = device.String(s) // awkward keys and values alike
		}
		state["n"+string(rune('a'+i))] = device.Int(int64(i) - 5)
	}
	state["zero"] = device.Float(0)
	state["big"] = device.Float(1e21)
	state["small"] = device.Float(1.5e-7)
	state["nan"] = device.Float(math.NaN())
	state["on"] = device.Bool(true)
	state["null"] = device.Value{}
	props := []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}
	for _, d := range []*device.Device{
		{ID: "full", Name: "Full", Category: device.CategoryLight, Online: true, Source: "test", Properties: props, State: state},
		{ID: "quiet", Name: "Quiet", Category: device.CategoryLight, Source: "test", Properties: props},
		{ID: "hidden", Name: "Hidden", Category: device.CategoryLight, Online: true, Source: "test", Properties: props,
			State: map[string]device.Value{"power": device.Bool(true)}},
		{ID: "<&>", Name: "Odd id", Category: device.CategorySwitch, Online: true, Source: "test", Properties: props,
			UpdatedAt: time.UnixMilli(1_700_000_000_123)},
	} {
		if err := hb.UpsertDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	exposed := func(d *device.Device) bool { return d.ID != "hidden" }
	for _, ids := range [][]string{
		{"full"}, {"quiet"}, {"hidden"}, {"missing"}, {"<&>"},
		{"full", "quiet", "hidden", "missing", "<&>", "full"},
	} {
		want, err := json.Marshal(referenceQuery(hb, ids, exposed))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(queryAnswer{hub: hb, ids: ids, exposed: exposed})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ids %q:\n got %s\nwant %s", ids, got, want)
		}
		// And inside a whole envelope, as the handler writes it.
		hd := Header{Namespace: "CIC.Query", Name: "QueryStatusResponse", MessageID: "m-1", PayloadVersion: "1", Timestamp: 7}
		var pool scratchPool
		env, err := pool.encodeResponse(hd, queryAnswer{hub: hb, ids: ids, exposed: exposed})
		if err != nil {
			t.Fatal(err)
		}
		wantEnv, _ := json.Marshal(Response{Header: hd, Payload: referenceQuery(hb, ids, exposed)})
		if !bytes.Equal(env, wantEnv) {
			t.Errorf("envelope for %q:\n got %s\nwant %s", ids, env, wantEnv)
		}
	}
}

// Payloads without their own encoder go through encoding/json unchanged.
func TestEncodeResponseFallsBackToEncodingJSON(t *testing.T) {
	hd := Header{Namespace: "CIC.Control", Name: "ControlResponse", MessageID: "m", PayloadVersion: "1", Timestamp: 1}
	payload := ControlResponse{Results: []ControlResult{{DeviceID: "a<b", State: map[string]device.Value{"x": device.Int(1)}}}}
	var pool scratchPool
	got, err := pool.encodeResponse(hd, payload)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(Response{Header: hd, Payload: payload})
	if !bytes.Equal(got, want) {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if _, err := pool.encodeResponse(hd, map[string]any{"f": func() {}}); err == nil {
		t.Fatal("an unencodable payload encoded")
	}
}
