package wled

import (
	"testing"
)

// FuzzParse feeds /json/info and /json/state decoding arbitrary bytes: it
// must never panic, and what it accepts must be in range.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"on":true,"bri":128,"seg":[{"id":0,"col":[[255,160,0],[0,0,0],[0,0,0]]}]}`))
	f.Add([]byte(`{"ver":"0.14.4","name":"WLED","mac":"a8032ab1c2d3","arch":"esp32","brand":"WLED","product":"FOSS"}`))
	f.Add([]byte(`{"on":tru`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if st, err := ParseState(data); err == nil {
			if st.Brightness < 0 || st.Brightness > 255 {
				t.Fatalf("accepted brightness %d", st.Brightness)
			}
			if p := Percent(st.Brightness); p < 0 || p > 100 {
				t.Fatalf("percent %d", p)
			}
			if c, ok := st.Color(); ok && len(c) != 7 {
				t.Fatalf("color %q", c)
			}
		}
		if in, err := ParseInfo(data); err == nil && len(in.MAC) != 12 {
			t.Fatalf("accepted mac %q", in.MAC)
		}
	})
}

func TestBrightnessSurvivesTheRoundTrip(t *testing.T) {
	for pct := 0; pct <= 100; pct++ {
		if got := Percent(Bri(pct)); got != pct {
			t.Errorf("%d %% → bri %d → %d %%", pct, Bri(pct), got)
		}
	}
}
