package hadiscovery

import (
	"math"
	"strings"

	"github.com/hubagent/hubagent/internal/device"
)

// sensorName maps a sensor device_class to the architecture's standard
// property name and type; "" means no standard name.
func sensorName(class string) (string, device.Type, string) {
	switch class {
	case "temperature":
		return "currentTemperature", device.TypeFloat, "celsius"
	case "humidity":
		return "humidity", device.TypeFloat, "percent"
	case "battery":
		return "battery", device.TypeInt, "percent"
	case "illuminance":
		return "illuminance", device.TypeFloat, "lux"
	case "power":
		return "power_W", device.TypeFloat, "watt"
	case "energy":
		return "energy_kWh", device.TypeFloat, "kilowattHour"
	case "pm25":
		return "pm25", device.TypeFloat, "µg/m³"
	case "carbon_dioxide":
		return "co2", device.TypeFloat, "ppm"
	}
	return "", "", ""
}

// unitConv converts a sensor's unit_of_measurement to the standard
// property's unit.
func unitConv(name, unit string) func(float64) float64 {
	u := strings.TrimSpace(unit)
	switch {
	case name == "currentTemperature" && (u == "°F" || u == "F"):
		return func(f float64) float64 { return math.Round((f-32)*5/9*100) / 100 }
	case name == "currentTemperature" && u == "K":
		return func(f float64) float64 { return f - 273.15 }
	case name == "power_W" && u == "kW":
		return func(f float64) float64 { return f * 1000 }
	case name == "energy_kWh" && u == "Wh":
		return func(f float64) float64 { return f / 1000 }
	case name == "energy_kWh" && u == "MWh":
		return func(f float64) float64 { return f * 1000 }
	}
	return nil
}

// buildSensor maps a sensor by device_class to a standard read-only
// property, else to a lowerCamel name: float when the sensor is numeric
// (a unit or state_class), string otherwise.
func buildSensor(e *Entity) error {
	if err := e.parseTemplates("value_template"); err != nil {
		return err
	}
	class, _ := e.str("device_class")
	name, typ, unit := sensorName(class)
	var conv func(float64) float64
	if name != "" {
		conv = unitConv(name, e.strDef("unit_of_measurement", ""))
	} else {
		name, unit = e.genericName(), e.strDef("unit_of_measurement", "")
		typ = device.TypeString
		if unit != "" || e.present("state_class") || e.present("suggested_display_precision") {
			typ = device.TypeFloat
		}
	}
	f := facet{prop: device.Property{Name: name, Type: typ, Unit: unit, Access: device.AccessRead},
		topicKey: "state_topic", tplKey: "value_template"}
	if typ == device.TypeString {
		f.decode = stringDecoder
	} else {
		if e.present("suggested_display_precision") {
			// Round to the precision the publisher asks to show; without
			// one the value keeps what the device reported (58.3 % stays).
			if p := e.num("suggested_display_precision", -1); p >= 0 && p <= 10 && typ == device.TypeFloat {
				mul, prev := math.Pow(10, math.Trunc(p)), conv
				conv = func(f float64) float64 {
					if prev != nil {
						f = prev(f)
					}
					return math.Round(f*mul) / mul
				}
			}
		}
		dec := numDecoder(typ, conv)
		f.decode = func(s string) (device.Value, bool) {
			// "None" is Home Assistant's unknown: the state becomes null.
			if s == "None" {
				return device.Value{}, true
			}
			return dec(s)
		}
	}
	e.facets = append(e.facets, f)
	return nil
}

// buildBinarySensor maps by device_class: door/window/opening/garage_door
// → contact (true = closed, contact made, as Zigbee2MQTT reports it, so
// Home Assistant's "on" = open reads false), motion/occupancy/presence →
// occupancy, moisture → leak, smoke → smoke; else a lowerCamel name.
func buildBinarySensor(e *Entity) error {
	if err := e.parseTemplates("value_template"); err != nil {
		return err
	}
	on, off := e.strDef("payload_on", "ON"), e.strDef("payload_off", "OFF")
	class, _ := e.str("device_class")
	name := e.genericName()
	switch class {
	case "door", "window", "opening", "garage_door":
		name, on, off = "contact", off, on
	case "motion", "occupancy", "presence":
		name = "occupancy"
	case "moisture":
		name = "leak"
	case "smoke":
		name = "smoke"
	}
	e.facets = append(e.facets, facet{prop: boolProp(name, device.AccessRead), topicKey: "state_topic",
		tplKey: "value_template", decode: onOff(on, off)})
	return nil
}

// buildNumber maps a number to an int property when min, max and step are
// whole, a float one otherwise, named after the entity.
func buildNumber(e *Entity) error {
	if err := e.parseTemplates("value_template", "command_template"); err != nil {
		return err
	}
	lo, hi, step := e.num("min", 1), e.num("max", 100), e.num("step", 1)
	if step <= 0 {
		step = 1
	}
	typ := device.TypeFloat
	if lo == math.Trunc(lo) && hi == math.Trunc(hi) && step == math.Trunc(step) {
		typ = device.TypeInt
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	e.addNum(numSpec{name: e.genericName(), unit: e.strDef("unit_of_measurement", ""), typ: typ, lo: lo, hi: hi,
		step: device.Num(step), stateKey: "state_topic", tplKey: "value_template",
		cmdKey: "command_topic", cmdTpl: "command_template"})
	return nil
}

// buildSelect maps a select to an enum of its options, named after the
// entity.
func buildSelect(e *Entity) error {
	if err := e.parseTemplates("value_template", "command_template"); err != nil {
		return err
	}
	e.addEnum(e.genericName(), e.strList("options"), "state_topic", "value_template", "command_topic", "command_template")
	return nil
}
