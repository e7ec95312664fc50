package hadiscovery

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hubagent/hubagent/internal/device"
)

// lightCaps is what a light supports, from either schema's config.
type lightCaps struct {
	brightness, colorTemp bool
	colorMode             string // rgb, xy or hs: how colour is sent; "" = none
	scale                 float64
	kelvin                bool // color_temp is in K rather than mireds
	minK, maxK            int
}

func lightCapsOf(e *Entity, jsonSchema bool) lightCaps {
	c := lightCaps{scale: e.num("brightness_scale", 255), kelvin: e.boolean("color_temp_kelvin", false)}
	if c.scale < 1 {
		c.scale = 255
	}
	if jsonSchema {
		modes := e.strList("supported_color_modes")
		has := func(m ...string) bool {
			for _, x := range m {
				if slices.Contains(modes, x) {
					return true
				}
			}
			return false
		}
		c.brightness = e.boolean("brightness", false) || has("brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white")
		c.colorTemp = e.boolean("color_temp", false) || has("color_temp")
		switch {
		case e.boolean("rgb", false) || has("rgb", "rgbw", "rgbww"):
			c.colorMode = "rgb"
		case e.boolean("xy", false) || has("xy"):
			c.colorMode = "xy"
		case e.boolean("hs", false) || has("hs"):
			c.colorMode = "hs"
		}
	} else {
		c.brightness = e.topic("brightness_command_topic") != ""
		c.colorTemp = e.topic("color_temp_command_topic") != ""
		switch {
		case e.topic("rgb_command_topic") != "":
			c.colorMode = "rgb"
		case e.topic("xy_command_topic") != "":
			c.colorMode = "xy"
		case e.topic("hs_command_topic") != "":
			c.colorMode = "hs"
		}
	}
	if e.present("min_kelvin") || e.present("max_kelvin") || !(e.present("min_mireds") || e.present("max_mireds")) && c.kelvin {
		c.minK, c.maxK = int(e.num("min_kelvin", 2000)), int(e.num("max_kelvin", 6535))
	} else {
		minM, maxM := e.num("min_mireds", 153), e.num("max_mireds", 500)
		if minM < 1 || maxM < 1 {
			minM, maxM = 153, 500
		}
		c.minK, c.maxK = int(math.Round(1e6/maxM)), int(math.Round(1e6/minM))
	}
	if c.minK > c.maxK {
		c.minK, c.maxK = c.maxK, c.minK
	}
	return c
}

// toPct converts a device brightness to percent.
func (c lightCaps) toPct(raw float64) float64 { return raw * 100 / c.scale }

// fromPct converts percent to the device's brightness scale, rounded.
func (c lightCaps) fromPct(pct int64) int64 { return int64(math.Round(float64(pct) * c.scale / 100)) }

// toK converts a device colour temperature to kelvin.
func (c lightCaps) toK(raw float64) float64 {
	if c.kelvin {
		return raw
	}
	if raw <= 0 {
		return math.NaN()
	}
	return 1e6 / raw
}

// fromK converts kelvin to the device's unit, rounded.
func (c lightCaps) fromK(k int64) int64 {
	if c.kelvin || k <= 0 {
		return k
	}
	return int64(math.Round(1e6 / float64(k)))
}

func (c lightCaps) properties(acc device.Access) []device.Property {
	props := []device.Property{boolProp("power", acc)}
	if c.brightness {
		props = append(props, pctProp("brightness", acc))
	}
	if c.colorTemp {
		props = append(props, numProp("colorTemperature", device.TypeInt, "kelvin", float64(c.minK), float64(c.maxK), nil, acc))
	}
	if c.colorMode != "" {
		props = append(props, device.Property{Name: "color", Type: device.TypeString, Access: acc})
	}
	return props
}

func buildLight(e *Entity) error {
	switch schema := e.strDef("schema", "default"); schema {
	case "default", "basic":
		return buildLightDefault(e)
	case "json":
		return buildLightJSON(e)
	case "template":
		return buildLightTemplate(e)
	default:
		return fmt.Errorf("light schema %q is not supported", schema)
	}
}

// buildLightJSON: one JSON state object, one JSON command.
func buildLightJSON(e *Entity) error {
	// One copy of the capabilities for the three functions below: each
	// would otherwise capture its own (a tenth of what a light keeps).
	c := new(lightCaps)
	*c = lightCapsOf(e, true)
	for _, p := range c.properties(device.AccessReadWrite) {
		e.facets = append(e.facets, facet{prop: p})
	}
	e.jsonTopicKey = "state_topic"
	e.expect = func(props map[string]device.Value) map[string]device.Value { return c.expect(props) }
	e.jsonDecode = func(obj jsonObject, out map[string]device.Value) {
		if s, ok := obj.str("state"); ok {
			switch s {
			case "ON":
				out["power"] = device.Bool(true)
			case "OFF":
				out["power"] = device.Bool(false)
			}
		}
		if f, ok := obj.num("brightness"); ok && c.brightness {
			out["brightness"] = device.Int(int64(math.Round(c.toPct(f))))
		}
		if f, ok := obj.num("color_temp"); ok && c.colorTemp {
			if k := c.toK(f); !math.IsNaN(k) {
				out["colorTemperature"] = device.Int(int64(math.Round(k)))
			}
		}
		if c.colorMode != "" {
			if col, ok := obj.object("color"); ok {
				if rgb, ok := colorFromJSON(col); ok {
					out["color"] = device.String(rgb.hex())
				}
			}
		}
	}
	e.encodeAll = func(props map[string]device.Value) ([]Publish, error) {
		var b strings.Builder
		if on, ok := props["power"].AsBool(); ok && !on {
			b.WriteString(`{"state":"OFF"}`)
		} else {
			b.WriteString(`{"state":"ON"`)
			if v, ok := props["brightness"].AsInt(); ok {
				fmt.Fprintf(&b, `,"brightness":%d`, c.fromPct(v))
			}
			if v, ok := props["colorTemperature"].AsInt(); ok {
				fmt.Fprintf(&b, `,"color_temp":%d`, c.fromK(v))
			}
			if s, ok := props["color"].AsString(); ok {
				col, ok := parseHex(s)
				if !ok {
					return nil, badColor(s)
				}
				b.WriteString(`,"color":`)
				b.WriteString(colorToJSON(col, c.colorMode))
			}
			b.WriteByte('}')
		}
		topic := e.topic("command_topic")
		return []Publish{{Topic: topic, Payload: []byte(b.String()), Retain: e.retain, QoS: e.qos()}}, nil
	}
	return nil
}

func badColor(s string) error {
	return &device.Error{Code: device.CodeValueOutOfRange, Property: "color",
		Message: fmt.Sprintf("property color: %q is not #rrggbb", s)}
}

func jsonNum(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil && !math.IsInf(f, 0)
}

func colorFromJSON(col map[string]any) (rgb, bool) {
	if r, ok := jsonNum(col["r"]); ok {
		g, _ := jsonNum(col["g"])
		b, _ := jsonNum(col["b"])
		return rgb{clamp255(r), clamp255(g), clamp255(b)}, true
	}
	if h, ok := jsonNum(col["h"]); ok {
		s, _ := jsonNum(col["s"])
		return hsToRGB(h, s), true
	}
	if x, ok := jsonNum(col["x"]); ok {
		y, _ := jsonNum(col["y"])
		return xyToRGB(x, y), true
	}
	return rgb{}, false
}

func colorToJSON(c rgb, mode string) string {
	switch mode {
	case "xy":
		x, y := c.toXY()
		return fmt.Sprintf(`{"x":%s,"y":%s}`, fmtNum(x), fmtNum(y))
	case "hs":
		h, s := c.toHS()
		return fmt.Sprintf(`{"h":%s,"s":%s}`, fmtNum(h), fmtNum(s))
	}
	return fmt.Sprintf(`{"r":%d,"g":%d,"b":%d}`, c.r, c.g, c.b)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// buildLightDefault: separate topics per attribute, payload_on/off for
// power, comma-separated colours.
func buildLightDefault(e *Entity) error {
	if err := e.parseTemplates("state_value_template", "brightness_value_template", "brightness_command_template",
		"color_temp_value_template", "color_temp_command_template", "rgb_value_template", "rgb_command_template",
		"hs_value_template", "hs_command_template", "xy_value_template", "xy_command_template"); err != nil {
		return err
	}
	c := lightCapsOf(e, false)
	plOn, plOff := e.strDef("payload_on", "ON"), e.strDef("payload_off", "OFF")
	props := c.properties(device.AccessReadWrite)
	e.facets = append(e.facets, facet{prop: props[0], topicKey: "state_topic", tplKey: "state_value_template",
		decode: onOff(plOn, plOff)})
	if c.brightness {
		e.facets = append(e.facets, facet{prop: pctProp("brightness", device.AccessReadWrite),
			topicKey: "brightness_state_topic", tplKey: "brightness_value_template",
			decode: numDecoder(device.TypeInt, c.toPct)})
	}
	if c.colorTemp {
		p, _ := findProp(props, "colorTemperature")
		e.facets = append(e.facets, facet{prop: p, topicKey: "color_temp_state_topic", tplKey: "color_temp_value_template",
			decode: numDecoder(device.TypeInt, c.toK)})
	}
	if c.colorMode != "" {
		p, _ := findProp(props, "color")
		e.facets = append(e.facets, facet{prop: p, topicKey: c.colorMode + "_state_topic", tplKey: c.colorMode + "_value_template",
			decode: colorListDecoder(c.colorMode)})
	}
	e.expect = c.expect
	onType := e.strDef("on_command_type", "last")
	e.onByBrightness = onType == "brightness" && c.brightness && e.topic("brightness_command_topic") != ""
	e.encodeAll = func(props map[string]device.Value) ([]Publish, error) {
		if on, ok := props["power"].AsBool(); ok && !on {
			return e.command("command_topic", "", plOff, nil)
		}
		var attrs []Publish
		add := func(p []Publish, err error) error {
			attrs = append(attrs, p...)
			return err
		}
		bri, hasBri := props["brightness"].AsInt()
		if !hasBri && e.onByBrightness {
			// Home Assistant turns such a light on by its brightness,
			// never payload_on: the last brightness it knows (the
			// caller passes it as brightness), else full.
			bri, hasBri = 100, true
		}
		if hasBri {
			if err := add(e.command("brightness_command_topic", "brightness_command_template", c.fromPct(bri), nil)); err != nil {
				return nil, err
			}
		}
		if v, ok := props["colorTemperature"].AsInt(); ok {
			if err := add(e.command("color_temp_command_topic", "color_temp_command_template", c.fromK(v), nil)); err != nil {
				return nil, err
			}
		}
		if s, ok := props["color"].AsString(); ok {
			col, ok := parseHex(s)
			if !ok {
				return nil, badColor(s)
			}
			if err := add(e.colorCommand(c.colorMode, col)); err != nil {
				return nil, err
			}
		}
		if onType == "brightness" && hasBri {
			return attrs, nil
		}
		on, err := e.command("command_topic", "", plOn, nil)
		if err != nil {
			return nil, err
		}
		if onType == "first" {
			return append(on, attrs...), nil
		}
		return append(attrs, on...), nil
	}
	return nil
}

func findProp(props []device.Property, name string) (device.Property, bool) {
	for _, p := range props {
		if p.Name == name {
			return p, true
		}
	}
	return device.Property{}, false
}

// colorCommand publishes a colour as "r,g,b", "h,s" or "x,y", or through
// the mode's command template (variables red/green/blue, hue/sat, x/y).
func (e *Entity) colorCommand(mode string, c rgb) ([]Publish, error) {
	switch mode {
	case "xy":
		x, y := c.toXY()
		return e.command("xy_command_topic", "xy_command_template", fmtNum(x)+","+fmtNum(y), map[string]any{"x": x, "y": y})
	case "hs":
		h, s := c.toHS()
		return e.command("hs_command_topic", "hs_command_template", fmtNum(h)+","+fmtNum(s), map[string]any{"hue": h, "sat": s})
	}
	return e.command("rgb_command_topic", "rgb_command_template", fmt.Sprintf("%d,%d,%d", c.r, c.g, c.b),
		map[string]any{"red": c.r, "green": c.g, "blue": c.b})
}

// colorListDecoder reads "r,g,b", "h,s" or "x,y" state.
func colorListDecoder(mode string) func(string) (device.Value, bool) {
	return func(s string) (device.Value, bool) {
		parts := strings.Split(s, ",")
		var f []float64
		for _, p := range parts {
			n, ok := parseNum(p)
			if !ok {
				return device.Value{}, false
			}
			f = append(f, n)
		}
		switch {
		case mode == "rgb" && len(f) >= 3:
			return device.String(rgb{clamp255(f[0]), clamp255(f[1]), clamp255(f[2])}.hex()), true
		case mode == "hs" && len(f) == 2:
			return device.String(hsToRGB(f[0], f[1]).hex()), true
		case mode == "xy" && len(f) == 2:
			return device.String(xyToRGB(f[0], f[1]).hex()), true
		}
		return device.Value{}, false
	}
}
