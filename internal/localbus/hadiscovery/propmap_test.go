package hadiscovery

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// A binding's bytes are stored with the device; PropMap must encode as the
// map[string]string it replaced, or every device would look changed.
func TestPropMapEncodesAsAMapAndReadsBack(t *testing.T) {
	names := []string{"power", "brightness", "power_l1", "color<>&", `q"uote`, "é", "a\\b", "", "z\u2028"}
	r := rand.New(rand.NewPCG(18, 5))
	for i := range 300 {
		want := map[string]string{}
		var pm PropMap
		for range r.IntN(6) {
			dev, local := names[r.IntN(len(names))], names[r.IntN(len(names))]
			want[dev] = local
			pm.Set(dev, local)
		}
		if i%3 == 0 {
			want = nil // a nil map encodes as null; PropMap as {} (BuildDevice never has a nil one)
		}
		wantJSON, _ := json.Marshal(want)
		got, err := json.Marshal(pm)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			continue
		}
		if string(got) != string(wantJSON) {
			t.Fatalf("PropMap encodes as %s, the map as %s", got, wantJSON)
		}
		var back PropMap
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if back.Len() != len(want) {
			t.Fatalf("read back %d pairs from %s, want %d", back.Len(), got, len(want))
		}
		for dev, local := range want {
			if l, ok := back.Local(dev); !ok || l != local {
				t.Errorf("Local(%q) = %q, %v after reading %s; want %q", dev, l, ok, got, local)
			}
		}
		if _, ok := back.Local("absent"); ok {
			t.Error("Local found a name that is not there")
		}
		var devs []string
		for dev := range back.All() {
			devs = append(devs, dev)
		}
		if !slices.Equal(devs, slices.Sorted(maps.Keys(want))) {
			t.Errorf("All yields %v, want the sorted names", devs)
		}
	}
}

func TestPropMapReadsLikeAMap(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{`{"power":"power","power":"state"}`, map[string]string{"power": "state"}, false}, // last wins, as for a map
		{`{}`, map[string]string{}, false},
		{`{"power":1}`, nil, true},
		{`["power"]`, nil, true},
		{`{"power":"power"`, nil, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var pm PropMap
			err := json.Unmarshal([]byte(tc.in), &pm)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			got := map[string]string{}
			for dev, local := range pm.All() {
				got[dev] = local
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("read %v, want %v", got, tc.want)
			}
		})
	}
}

// BenchmarkRetainedBindings reports what a parsed binding of a z2m lamp
// (light and link-quality sensor) keeps; the MQTT driver holds one per
// device for its life.
func BenchmarkRetainedBindings(b *testing.B) {
	const devices = 1000
	r := parseZ2MDevices(b, devices)
	var total uint64
	for b.Loop() {
		before := heapAfterGC()
		binds := make([]*Binding, 0, devices)
		for _, d := range r.devices {
			bind, err := ParseBinding(d.Binding)
			if err != nil {
				b.Fatal(err)
			}
			binds = append(binds, bind)
		}
		after := heapAfterGC()
		runtime.KeepAlive(binds)
		if after > before {
			total += after - before
		}
	}
	b.ReportMetric(float64(total)/float64(b.N)/devices, "retained-B/binding")
}
