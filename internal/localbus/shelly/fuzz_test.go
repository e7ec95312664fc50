package shelly

import (
	"strings"
	"testing"
)

// FuzzParse feeds the RPC decoding (Shelly.GetDeviceInfo, Shelly.GetStatus,
// error objects) and the digest challenge parser arbitrary input: no panics,
// and accepted identities and channels stay within bounds.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"name":null,"id":"shellyplus2pm-a8032ab12345","mac":"A8032AB12345","model":"SNSW-102P16EU","gen":2,"app":"Plus2PM","ver":"1.0.8","auth_en":false}`))
	f.Add([]byte(`{"switch:0":{"id":0,"output":true,"apower":8.5,"aenergy":{"total":1234.5}},"cover:1":{"current_pos":40,"pos_control":true},"sys":{}}`))
	f.Add([]byte(`{"code":-105,"message":"Argument 'id', value 3 not found!"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if in, err := ParseDeviceInfo(data); err == nil && (!idPattern.MatchString(in.ID) || in.Gen < 2) {
			t.Fatalf("accepted %+v", in)
		}
		if comps, err := ParseStatus(data); err == nil {
			if len(comps) > 16 {
				t.Fatalf("%d components", len(comps))
			}
			for _, c := range comps {
				_ = componentState(c)
				if c.ID < 0 || c.ID > 64 {
					t.Fatalf("channel %d", c.ID)
				}
			}
		}
		_ = ParseRPCError(data)
		if ch, err := parseChallenge(string(data)); err == nil {
			if !strings.Contains(ch.authorization(User, "pw", "POST", "/rpc/Shelly.GetStatus", 1, "0a4f113b"), "SHA-256") {
				t.Fatal("authorization without algorithm")
			}
		}
	})
}
