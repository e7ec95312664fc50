package hadiscovery

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

// A device of a few entities is scanned, a large one indexed; both map an
// entity's state to the same device properties, and a topic the binding
// does not hold maps to nothing.
func TestBindingMapsStateTheSameIndexedOrScanned(t *testing.T) {
	for _, n := range []int{1, bindingIndexMin, bindingIndexMin + 1, 40} {
		t.Run(fmt.Sprint(n, " entities"), func(t *testing.T) {
			var ents []string
			for i := range n {
				ents = append(ents, fmt.Sprintf(`{"configTopic":"homeassistant/switch/d/e%d/config","props":{"power_e%d":"power"}}`, i, i))
			}
			b, err := ParseBinding([]byte(`{"entities":[` + strings.Join(ents, ",") + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			if indexed := b.byTopic != nil; indexed != (n > bindingIndexMin) {
				t.Errorf("indexed = %v with %d entities; want an index only above %d", indexed, n, bindingIndexMin)
			}
			for i := range n {
				got := b.ToDevice(fmt.Sprintf("homeassistant/switch/d/e%d/config", i), map[string]device.Value{"power": device.Bool(i%2 == 0)})
				if len(got) != 1 || !got[fmt.Sprintf("power_e%d", i)].Equal(device.Bool(i%2 == 0)) {
					t.Errorf("entity %d: ToDevice = %v", i, got)
				}
			}
			if got := b.ToDevice("homeassistant/switch/d/other/config", map[string]device.Value{"power": device.Bool(true)}); len(got) != 0 {
				t.Errorf("unknown topic: ToDevice = %v", got)
			}
		})
	}
}
