package hadiscovery

import (
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

// FuzzParseConfig feeds arbitrary topics and payloads to ParseConfig and,
// when one is accepted, exercises everything built from it.
func FuzzParseConfig(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(fx.topic, []byte(fx.config))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		e, err := ParseConfig(topic, payload)
		if err != nil {
			return
		}
		for _, st := range e.StateTopics() {
			_, _ = DecodeState(e, st, payload)
		}
		_ = NewAvailability(e).Update("x", payload)
		for _, p := range e.Properties() {
			var v device.Value
			switch p.Type {
			case device.TypeBool:
				v = device.Bool(true)
			case device.TypeEnum:
				v = device.String(p.Values[0])
			case device.TypeString:
				v = device.String("#102030")
			default:
				v = device.Int(0)
				if p.Min != nil {
					v = device.Float(*p.Min)
				}
			}
			_, _ = EncodeCommand(e, map[string]device.Value{p.Name: v})
		}
		if _, err := BuildDevice([]*Entity{e}); err != nil {
			t.Fatalf("BuildDevice of an accepted entity: %v", err)
		}
	})
}

// FuzzDecodeState decodes arbitrary payloads for each fixture entity.
func FuzzDecodeState(f *testing.F) {
	var fxs []fixture
	for _, fx := range fixtures() {
		if fx.refused == "" { // refused on purpose: nothing to decode
			fxs = append(fxs, fx)
		}
	}
	for i, fx := range fxs {
		f.Add(uint8(i), []byte(fx.state))
	}
	f.Add(uint8(0), []byte{0xff, 0x00, 0xfe})
	f.Add(uint8(1), []byte(`{"state":"ON","brightness":1e999,"color_temp":0}`))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		fx := fxs[int(which)%len(fxs)]
		e, err := ParseConfig(fx.topic, []byte(fx.config))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range e.StateTopics() {
			got, err := DecodeState(e, st, payload)
			if err != nil {
				continue
			}
			for name, v := range got {
				p, ok := e.facet(name)
				if !ok {
					t.Fatalf("decoded unknown property %s", name)
				}
				if !v.IsNull() && p.prop.Type == device.TypeEnum {
					if _, err := p.prop.Coerce(v); err != nil {
						t.Fatalf("decoded %s=%v outside its enum", name, v)
					}
				}
			}
		}
	})
}

// FuzzParseDeviceConfig feeds arbitrary device-based discovery configs to
// ParseDeviceConfig; accepted components must build into one device.
func FuzzParseDeviceConfig(f *testing.F) {
	f.Add("homeassistant/device/kitchen01/config", []byte(testDeviceConfig))
	f.Add("homeassistant/device/x/config", []byte(`{"dev":{"ids":"x"},"cmps":{"a":{"p":"sensor"},"b":{"p":"switch","cmd_t":"c","~":"base","stat_t":"~/s"}},"avty_t":"av"}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		comps, err := ParseDeviceConfig(topic, payload)
		if err != nil {
			return
		}
		var ents []*Entity
		for _, c := range comps {
			if c.Entity != nil {
				ents = append(ents, c.Entity)
				for _, st := range c.Entity.StateTopics() {
					_, _ = DecodeState(c.Entity, st, payload)
				}
			}
		}
		if len(ents) > 0 {
			if _, err := BuildDevice(ents); err != nil {
				t.Fatalf("components of one device config do not build: %v", err)
			}
		}
	})
}
