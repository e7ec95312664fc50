package cic

import (
	"slices"
	"testing"
)

func FuzzParseQueryRequest(f *testing.F) {
	for _, s := range []string{
		`{"deviceIds":["a","b"]}`, " {\n\t\"deviceIds\" : [ \"lamp-1\" , \"é☃\" ] }\r\n", `{"deviceIds":[]}`,
		`{"deviceIds":["a\"b"]}`, `{"deviceIds":["\u0041"]}`, `{"DeviceIDs":["a"]}`, `{"deviceIds":["a"],"deviceIds":["b"]}`,
		`{"deviceIds":["a"],"x":1}`, `{"deviceIds":null}`, `{"deviceIds":["a",]}`, `{"deviceIds":["a"]} {}`,
		"{\"deviceIds\":[\"\xff\"]}", `{"deviceIds":[1]}`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ids, ok := parseQueryRequest(raw)
		if !ok {
			return
		}
		var req QueryRequest
		if err := decodePayload(raw, &req); err != nil {
			t.Fatalf("fast path accepted %q, decodePayload refuses it: %v", raw, err)
		}
		if !slices.Equal(ids, req.DeviceIDs) {
			t.Fatalf("fast path read %q from %q, decodePayload %q", ids, raw, req.DeviceIDs)
		}
	})
}

// The fast path takes the common shape and leaves everything else to the
// strict decoder (whose errors partners see).
func TestParseQueryRequestTakesOnlyThePlainShape(t *testing.T) {
	for raw, want := range map[string]string{
		`{"deviceIds":["a","b"]}`:               " a b",
		" {\"deviceIds\" : [ \"x\" ] }\n":       " x",
		`{"deviceIds":[]}`:                      "",
		`{"deviceIds":["a\"b"]}`:                "slow",
		`{"DeviceIDs":["a"]}`:                   "slow",
		`{"deviceIds":["a"],"deviceIds":["b"]}`: "slow",
		`{"deviceIds":["a"],"x":1}`:             "slow",
		`{"deviceIds":["a"]} {}`:                "slow",
		"{\"deviceIds\":[\"\xff\"]}":            "slow",
	} {
		ids, ok := parseQueryRequest([]byte(raw))
		got := "slow"
		if ok {
			got = ""
			for _, id := range ids {
				got += " " + id
			}
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", raw, got, want)
		}
	}
}
