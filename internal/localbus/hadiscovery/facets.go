package hadiscovery

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/hubagent/hubagent/internal/device"
)

// build works out the entity's facets from its component and checks the
// property descriptors they give: a config with, say, min_humidity above
// max_humidity is refused with that reason here, not accepted and then
// failing when its device is built.
func (e *Entity) build() error {
	if err := e.buildFacets(); err != nil {
		return err
	}
	e.degrade()
	for _, f := range e.facets {
		if err := f.prop.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// buildFacets dispatches on the component.
func (e *Entity) buildFacets() error {
	switch e.Component {
	case "light":
		return buildLight(e)
	case "switch":
		return buildSwitch(e)
	case "lock":
		return buildLock(e)
	case "button":
		return buildButton(e)
	case "cover":
		return buildCover(e)
	case "climate":
		return buildClimate(e)
	case "water_heater":
		return buildWaterHeater(e)
	case "fan":
		return buildFan(e)
	case "humidifier":
		return buildHumidifier(e)
	case "vacuum":
		return buildVacuum(e)
	case "sensor":
		return buildSensor(e)
	case "binary_sensor":
		return buildBinarySensor(e)
	case "number":
		return buildNumber(e)
	case "select":
		return buildSelect(e)
	case "alarm_control_panel":
		return buildAlarmPanel(e)
	case "valve":
		return buildValve(e)
	case "scene":
		return buildScene(e)
	case "siren":
		return buildSiren(e)
	case "update":
		return buildUpdate(e)
	case "text":
		return buildText(e)
	case "device_tracker":
		return buildDeviceTracker(e)
	case "event":
		return buildEvent(e)
	case "device_automation":
		return buildDeviceTrigger(e)
	case "tag":
		return buildTag(e)
	case "camera":
		return buildCamera(e)
	}
	return fmt.Errorf("unsupported component %q", e.Component)
}

// access is r, w or rw from whether a state and a command topic exist.
func (e *Entity) access(stateKey, cmdKey string) device.Access {
	r, w := stateKey != "" && e.topic(stateKey) != "", cmdKey != "" && e.topic(cmdKey) != ""
	switch {
	case r && w:
		return device.AccessReadWrite
	case w:
		// Without a state topic Home Assistant is optimistic: it shows what
		// it last sent. The hub does the same, so the property reads too.
		return device.AccessReadWrite
	}
	return device.AccessRead
}

func boolProp(name string, acc device.Access) device.Property {
	return device.Property{Name: name, Type: device.TypeBool, Access: acc}
}

func numProp(name string, t device.Type, unit string, lo, hi float64, step *float64, acc device.Access) device.Property {
	return device.Property{Name: name, Type: t, Unit: unit, Min: device.Num(lo), Max: device.Num(hi), Step: step, Access: acc}
}

func pctProp(name string, acc device.Access) device.Property {
	return numProp(name, device.TypeInt, "percent", 0, 100, device.Num(1), acc)
}

func enumProp(name string, values []string, acc device.Access) device.Property {
	return device.Property{Name: name, Type: device.TypeEnum, Values: slices.Clone(values), Access: acc}
}

// onOff decodes a rendered state equal to on or off.
func onOff(on, off string) func(string) (device.Value, bool) {
	return func(s string) (device.Value, bool) {
		switch s {
		case on:
			return device.Bool(true), true
		case off:
			return device.Bool(false), true
		}
		return device.Value{}, false
	}
}

// parseNum reads a rendered number; empty, "None", "unknown" and garbage
// read as nothing.
func parseNum(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "xXpP") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// numDecoder decodes a rendered number, converted by conv, as an int
// (rounded) or float value.
func numDecoder(t device.Type, conv func(float64) float64) func(string) (device.Value, bool) {
	return func(s string) (device.Value, bool) {
		f, ok := parseNum(s)
		if !ok {
			return device.Value{}, false
		}
		if conv != nil {
			f = conv(f)
		}
		if t == device.TypeInt {
			if math.Abs(f) >= 1<<53 {
				return device.Value{}, false
			}
			return device.Int(int64(math.Round(f))), true
		}
		return device.Float(f), true
	}
}

// enumDecoder decodes a rendered state that is one of values.
func enumDecoder(values []string) func(string) (device.Value, bool) {
	return func(s string) (device.Value, bool) {
		if slices.Contains(values, s) {
			return device.String(s), true
		}
		return device.Value{}, false
	}
}

func stringDecoder(s string) (device.Value, bool) {
	if s == "" {
		return device.Value{}, false
	}
	return device.String(s), true
}

// numArg is how a number goes into a command: an int when whole, as Home
// Assistant passes 21 rather than 21.0 for whole-degree setpoints only when
// the property is an int; floats stay floats.
func numArg(v device.Value, t device.Type) any {
	if t == device.TypeInt {
		i, _ := v.AsInt()
		return i
	}
	f, _ := v.AsFloat()
	return f
}

// lowerCamel turns "Battery low", "battery_low" or "0x1234_power_l1" into
// batteryLow / 0x1234PowerL1: the architecture's naming for properties
// without a standard name.
func lowerCamel(s string) string {
	var b strings.Builder
	upper := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if r > unicode.MaxASCII {
				upper = false
				continue
			}
			if b.Len() == 0 {
				b.WriteRune(unicode.ToLower(r))
			} else if upper {
				b.WriteRune(unicode.ToUpper(r))
			} else {
				b.WriteRune(r)
			}
			upper = false
		default:
			upper = true
		}
	}
	return b.String()
}

// genericName is the property name of an entity with no standard name: the
// entity name, else the object id.
func (e *Entity) genericName() string {
	if n := lowerCamel(e.Name); n != "" {
		return n
	}
	if n := lowerCamel(e.ObjectID); n != "" {
		return n
	}
	return "value"
}

// tempConv returns converters between the entity's temperature unit and
// °C: Home Assistant configs may be in °F.
func (e *Entity) tempConv(unitKey string) (toC, fromC func(float64) float64) {
	u := strings.ToUpper(strings.TrimPrefix(e.strDef(unitKey, "C"), "°"))
	if u == "F" {
		return func(f float64) float64 { return math.Round((f-32)*5/9*100) / 100 },
			func(c float64) float64 { return math.Round((c*9/5+32)*100) / 100 }
	}
	return nil, nil
}

func apply(conv func(float64) float64, f float64) float64 {
	if conv == nil {
		return f
	}
	return conv(f)
}
