package hadiscovery

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"github.com/hubagent/hubagent/internal/localbus/hadiscovery/hafixtures"
)

// BuildDeviceBinding's Binding is the one ParseBinding decodes from the
// device it built, for every real-world device of the fixtures (their
// entities grouped by device, as discovery tracks them).
func TestBuildDeviceBindingMatchesParsedBinding(t *testing.T) {
	byKey := map[string][]*Entity{}
	var keys []string
	for _, fx := range hafixtures.All() {
		e, err := ParseConfig(fx.Topic, []byte(fx.Config))
		if err != nil {
			continue // refused on purpose: its own test says why
		}
		k := DeviceKey(e)
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], e)
	}
	if len(keys) < 10 {
		t.Fatalf("only %d devices from the fixtures", len(keys))
	}
	multi := 0
	for _, k := range keys {
		dev, bind, err := BuildDeviceBinding(byKey[k])
		if cerr := CheckDevice(byKey[k]); fmt.Sprint(cerr) != fmt.Sprint(err) {
			t.Errorf("device %s: CheckDevice says %v, BuildDeviceBinding %v", k, cerr, err)
		}
		if err != nil {
			continue // entities of one device that do not combine: discovery's rebuild handles them
		}
		if len(byKey[k]) > 1 {
			multi++
		}
		want, err := ParseBinding(dev.Binding)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(bind, want) {
			t.Errorf("device %s: built binding %+v, parsed from the device %+v", k, bind, want)
		}
	}
	if multi == 0 {
		t.Error("no fixture device with several entities was built")
	}
	// Entities of two devices: both refuse, with the same reason.
	mixed := []*Entity{byKey[keys[0]][0], byKey[keys[1]][0]}
	_, _, err := BuildDeviceBinding(mixed)
	if cerr := CheckDevice(mixed); err == nil || fmt.Sprint(cerr) != fmt.Sprint(err) {
		t.Errorf("entities of two devices: CheckDevice says %v, BuildDeviceBinding %v", cerr, err)
	}
}

// An Entity is kept for its device's life, one per discovery config: it
// stays within the 512-byte size class (at 520 bytes it took 576).
func TestEntityFitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Entity{}); n > 512 {
		t.Errorf("Entity is %d bytes; the allocator rounds past 512 to 576", n)
	}
}

// Expanding a config in place gives what the copying expansion gives, for
// every fixture and for a config that has a key both abbreviated and in
// full (the full one wins) in each expanded block.
func TestExpandInPlaceMatchesExpandConfig(t *testing.T) {
	configs := []string{`{"stat_t":"a/b","state_topic":"full/wins","cmd_t":"a/set","dev":{"ids":["x"],"mf":"M","manufacturer":"Full"},` +
		`"avty":[{"t":"a/avail","topic":"full/avail","pl_avail":"up"}],"o":{"name":"pub","sw":"1"}}`}
	for _, fx := range hafixtures.All() {
		configs = append(configs, fx.Config)
	}
	for _, c := range configs {
		a, err1 := decodeConfigObject([]byte(c))
		b, err2 := decodeConfigObject([]byte(c))
		if err1 != nil || err2 != nil {
			continue
		}
		want := expandConfig(a)
		if got := expandConfigOwned(b); !reflect.DeepEqual(got, want) {
			t.Errorf("config %s:\n in place %v\n copied   %v", c, got, want)
		}
	}
}
