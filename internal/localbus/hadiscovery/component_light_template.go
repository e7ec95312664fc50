package hadiscovery

import (
	"fmt"
	"math"
	"strings"

	"github.com/hubagent/hubagent/internal/device"
)

// buildLightTemplate maps the template schema: command_on_template and
// command_off_template render every command to command_topic; the state
// topic is read through state_template ("on"/"off"), brightness_template
// (0..255), color_temp_template (mireds) and red/green/blue_template.
// Variables as in Home Assistant: state, brightness, color_temp, red,
// green, blue, hue, sat (only those written are defined).
func buildLightTemplate(e *Entity) error {
	if err := e.parseTemplates("command_on_template", "command_off_template", "state_template", "brightness_template",
		"color_temp_template", "red_template", "green_template", "blue_template"); err != nil {
		return err
	}
	for _, k := range []string{"command_on_template", "command_off_template"} {
		if e.template(k) == nil {
			if err, broken := e.isBroken(k); broken {
				return fmt.Errorf("light schema template: %s: %w", k, err)
			}
			return fmt.Errorf("light schema template requires %s", k)
		}
	}
	c := lightCaps{scale: 255, minK: 2000, maxK: 6535}
	minM, maxM := e.num("min_mireds", 153), e.num("max_mireds", 500)
	if minM >= 1 && maxM >= 1 {
		c.minK, c.maxK = int(math.Round(1e6/maxM)), int(math.Round(1e6/minM))
	}
	c.brightness = e.present("brightness_template")
	c.colorTemp = e.present("color_temp_template")
	if e.present("red_template") && e.present("green_template") && e.present("blue_template") {
		c.colorMode = "rgb"
	}
	acc := device.AccessReadWrite
	state := func(key string, p device.Property, dec func(string) (device.Value, bool)) facet {
		return facet{prop: p, topicKey: "state_topic", tplKey: key, decode: dec}
	}
	for _, p := range c.properties(acc) {
		switch p.Name {
		case "power":
			e.facets = append(e.facets, state("state_template", p, onOff("on", "off")))
		case "brightness":
			e.facets = append(e.facets, state("brightness_template", p, numDecoder(device.TypeInt, c.toPct)))
		case "colorTemperature":
			e.facets = append(e.facets, state("color_temp_template", p, numDecoder(device.TypeInt, c.toK)))
		case "color":
			// Three templates make one colour, rendered from the payload.
			e.facets = append(e.facets, facet{prop: p, topicKey: "state_topic", decode: e.templateRGB})
		}
	}
	e.encodeAll = func(props map[string]device.Value) ([]Publish, error) {
		on := true
		if v, ok := props["power"]; ok {
			on, _ = v.AsBool()
		}
		if !on {
			return e.command("command_topic", "command_off_template", "off", map[string]any{"state": "off"})
		}
		vars := map[string]any{"state": "on"}
		if v, ok := props["brightness"]; ok {
			p, _ := v.AsInt()
			vars["brightness"] = c.fromPct(p)
		}
		if v, ok := props["colorTemperature"]; ok {
			k, _ := v.AsInt()
			vars["color_temp"] = c.fromK(k)
		}
		if v, ok := props["color"]; ok {
			s, _ := v.AsString()
			r, g, b, err := parseHexColor(s)
			if err != nil {
				return nil, err
			}
			h, sat := rgbToHS(r, g, b)
			vars["red"], vars["green"], vars["blue"], vars["hue"], vars["sat"] = int64(r), int64(g), int64(b), h, sat
		}
		return e.command("command_topic", "command_on_template", "on", vars)
	}
	return nil
}

// parseHexColor reads #rrggbb.
func parseHexColor(s string) (r, g, b uint8, err error) {
	if len(s) != 7 || s[0] != '#' {
		return 0, 0, 0, &device.Error{Code: device.CodeValueOutOfRange, Property: "color", Message: "color must be #rrggbb"}
	}
	var rgb [3]uint8
	for i := range rgb {
		var v uint8
		if _, err := fmt.Sscanf(strings.ToLower(s[1+2*i:3+2*i]), "%02x", &v); err != nil {
			return 0, 0, 0, &device.Error{Code: device.CodeValueOutOfRange, Property: "color", Message: "color must be #rrggbb"}
		}
		rgb[i] = v
	}
	return rgb[0], rgb[1], rgb[2], nil
}

// rgbToHS gives hue (degrees) and saturation (%), rounded to 0.1 as Home
// Assistant's colour helpers do.
func rgbToHS(r, g, b uint8) (float64, float64) {
	rf, gf, bf := float64(r)/255, float64(g)/255, float64(b)/255
	mx, mn := math.Max(rf, math.Max(gf, bf)), math.Min(rf, math.Min(gf, bf))
	d := mx - mn
	h := 0.0
	switch {
	case d == 0:
	case mx == rf:
		h = math.Mod((gf-bf)/d, 6)
	case mx == gf:
		h = (bf-rf)/d + 2
	default:
		h = (rf-gf)/d + 4
	}
	h *= 60
	if h < 0 {
		h += 360
	}
	s := 0.0
	if mx > 0 {
		s = d / mx * 100
	}
	return math.Round(h*10) / 10, math.Round(s*10) / 10
}

// templateRGB renders red/green/blue_template over a state payload into
// #rrggbb; any part missing or out of 0..255 reads as nothing.
func (e *Entity) templateRGB(payload string) (device.Value, bool) {
	vars := stateVars([]byte(payload))
	var rgb [3]int64
	for i, k := range []string{"red_template", "green_template", "blue_template"} {
		t := e.template(k)
		if t == nil {
			return device.Value{}, false
		}
		s, err := t.Render(vars)
		if err != nil {
			return device.Value{}, false
		}
		f, ok := parseNum(s)
		if !ok || f < 0 || f > 255 {
			return device.Value{}, false
		}
		rgb[i] = int64(math.Round(f))
	}
	return device.String(fmt.Sprintf("#%02x%02x%02x", rgb[0], rgb[1], rgb[2])), true
}
