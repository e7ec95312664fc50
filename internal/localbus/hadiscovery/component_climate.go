package hadiscovery

import (
	"github.com/hubagent/hubagent/internal/device"
)

// numSpec describes a numeric property read from one topic and written to
// another, each through an optional template and unit conversion.
type numSpec struct {
	name, unit       string
	typ              device.Type
	lo, hi           float64
	step             *float64
	stateKey, tplKey string
	cmdKey, cmdTpl   string
	toModel, toDev   func(float64) float64
}

// addNum adds a numeric facet when its state or command topic exists.
func (e *Entity) addNum(s numSpec) {
	if e.topic(s.stateKey) == "" && e.topic(s.cmdKey) == "" {
		return
	}
	f := facet{prop: numProp(s.name, s.typ, s.unit, s.lo, s.hi, s.step, e.access(s.stateKey, s.cmdKey)),
		topicKey: s.stateKey, tplKey: s.tplKey, decode: numDecoder(s.typ, s.toModel)}
	if s.cmdKey != "" && e.topic(s.cmdKey) != "" {
		f.encode = func(v device.Value) ([]Publish, error) {
			arg := numArg(v, s.typ)
			if s.toDev != nil {
				fv, _ := v.AsFloat()
				arg = s.toDev(fv)
			}
			return e.command(s.cmdKey, s.cmdTpl, arg, nil)
		}
	}
	e.facets = append(e.facets, f)
}

// addEnum adds an enum facet when its state or command topic exists.
func (e *Entity) addEnum(name string, values []string, stateKey, tplKey, cmdKey, cmdTpl string) {
	if len(values) == 0 || (e.topic(stateKey) == "" && e.topic(cmdKey) == "") {
		return
	}
	f := facet{prop: enumProp(name, values, e.access(stateKey, cmdKey)), topicKey: stateKey, tplKey: tplKey,
		decode: enumDecoder(values)}
	if e.topic(cmdKey) != "" {
		f.encode = func(v device.Value) ([]Publish, error) {
			s, _ := v.AsString()
			return e.command(cmdKey, cmdTpl, s, nil)
		}
	}
	e.facets = append(e.facets, f)
}

// tempStep is the target temperature step: temp_step, else precision,
// else none (Home Assistant defaults to whole degrees in the UI only).
func (e *Entity) tempStep() *float64 {
	if s := e.num("temp_step", 0); s > 0 {
		return device.Num(s)
	}
	if s := e.num("precision", 0); s > 0 {
		return device.Num(s)
	}
	return nil
}

// buildClimate maps mode, targetTemperature, currentTemperature, fanSpeed,
// humidity and targetHumidity. Temperatures are °C on the model, converted
// when temperature_unit is F.
func buildClimate(e *Entity) error {
	if err := e.parseTemplates("mode_state_template", "mode_command_template", "temperature_state_template",
		"temperature_command_template", "current_temperature_template", "fan_mode_state_template",
		"fan_mode_command_template", "current_humidity_template", "target_humidity_state_template",
		"target_humidity_command_template", "action_template"); err != nil {
		return err
	}
	modes := e.strList("modes")
	if !e.present("modes") {
		modes = []string{"auto", "off", "cool", "heat", "dry", "fan_only"}
	}
	// What the unit is doing (Home Assistant's hvac_action), read-only.
	e.addEnum("hvacAction", []string{"off", "heating", "cooling", "drying", "idle", "fan", "preheating", "defrosting"},
		"action_topic", "action_template", "", "")
	e.addEnum("mode", modes, "mode_state_topic", "mode_state_template", "mode_command_topic", "mode_command_template")
	e.addTemperatures(7, 35)
	fanModes := e.strList("fan_modes")
	if !e.present("fan_modes") {
		fanModes = []string{"auto", "low", "medium", "high"}
	}
	e.addEnum("fanSpeed", fanModes, "fan_mode_state_topic", "fan_mode_state_template", "fan_mode_command_topic", "fan_mode_command_template")
	e.addNum(numSpec{name: "humidity", unit: "percent", typ: device.TypeFloat, lo: 0, hi: 100,
		stateKey: "current_humidity_topic", tplKey: "current_humidity_template"})
	e.addNum(numSpec{name: "targetHumidity", unit: "percent", typ: device.TypeInt,
		lo: e.num("min_humidity", 30), hi: e.num("max_humidity", 99), step: device.Num(1),
		stateKey: "target_humidity_state_topic", tplKey: "target_humidity_state_template",
		cmdKey: "target_humidity_command_topic", cmdTpl: "target_humidity_command_template"})
	return nil
}

// addTemperatures adds targetTemperature and currentTemperature with
// defaults (in °C) for min_temp/max_temp.
func (e *Entity) addTemperatures(defMinC, defMaxC float64) {
	toC, fromC := e.tempConv("temperature_unit")
	lo, hi := defMinC, defMaxC
	if e.present("min_temp") {
		lo = apply(toC, e.num("min_temp", 0))
	}
	if e.present("max_temp") {
		hi = apply(toC, e.num("max_temp", 0))
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	e.addNum(numSpec{name: "targetTemperature", unit: "celsius", typ: device.TypeFloat, lo: lo, hi: hi, step: e.tempStep(),
		stateKey: "temperature_state_topic", tplKey: "temperature_state_template",
		cmdKey: "temperature_command_topic", cmdTpl: "temperature_command_template", toModel: toC, toDev: fromC})
	e.addNum(numSpec{name: "currentTemperature", unit: "celsius", typ: device.TypeFloat, lo: -273.15, hi: 1e4,
		stateKey: "current_temperature_topic", tplKey: "current_temperature_template", toModel: toC})
}

// buildWaterHeater maps mode, targetTemperature, currentTemperature and
// power (power_command_topic with payload_on/payload_off).
func buildWaterHeater(e *Entity) error {
	if err := e.parseTemplates("mode_state_template", "mode_command_template", "temperature_state_template",
		"temperature_command_template", "current_temperature_template", "power_command_template"); err != nil {
		return err
	}
	modes := e.strList("modes")
	if !e.present("modes") {
		modes = []string{"off", "eco", "electric", "gas", "heat_pump", "high_demand", "performance"}
	}
	e.addEnum("mode", modes, "mode_state_topic", "mode_state_template", "mode_command_topic", "mode_command_template")
	// Home Assistant's defaults are 110–140 °F; whole degrees keep a step
	// grid (counted from the minimum) on whole degrees.
	e.addTemperatures(43, 60)
	if e.topic("power_command_topic") != "" {
		e.facets = append(e.facets, facet{prop: boolProp("power", device.AccessReadWrite),
			encode: e.payloadEncoder("power_command_topic", "power_command_template",
				e.strDef("payload_on", "ON"), e.strDef("payload_off", "OFF"))})
	}
	return nil
}
