package hadiscovery

import (
	"math"

	"github.com/hubagent/hubagent/internal/device"
)

// Expect returns, for the written entity-local properties whose value
// travels in a lossy form, the value the device will report back: a
// brightness of 15 % on a light with brightness_scale 10 is sent as 2 and
// reads back as 20 %; 2700 K is sent as 370 mireds and reads back as
// 2703 K; a colour sent as xy or hs comes back as the nearest rgb. Other
// properties are left out (they come back as written). Values are assumed
// checked (EncodeCommand's checks run on the same values).
func Expect(e *Entity, props map[string]device.Value) map[string]device.Value {
	if e.expect == nil {
		return nil
	}
	return e.expect(props)
}

// expect is the light's round trip of brightness, colour temperature and
// colour through the device's units.
func (c lightCaps) expect(props map[string]device.Value) map[string]device.Value {
	out := map[string]device.Value{}
	if v, ok := props["brightness"].AsInt(); ok && c.brightness {
		out["brightness"] = device.Int(int64(math.Round(c.toPct(float64(c.fromPct(v))))))
	}
	if v, ok := props["colorTemperature"].AsInt(); ok && c.colorTemp {
		if k := c.toK(float64(c.fromK(v))); !math.IsNaN(k) && !math.IsInf(k, 0) {
			out["colorTemperature"] = device.Int(int64(math.Round(k)))
		}
	}
	if s, ok := props["color"].AsString(); ok && c.colorMode != "" {
		if col, ok := parseHex(s); ok {
			switch c.colorMode {
			case "xy":
				out["color"] = device.String(xyToRGB(col.toXY()).hex())
			case "hs":
				out["color"] = device.String(hsToRGB(col.toHS()).hex())
			default:
				out["color"] = device.String(col.hex())
			}
		}
	}
	return out
}
