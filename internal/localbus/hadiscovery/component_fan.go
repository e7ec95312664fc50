package hadiscovery

import (
	"math"

	"github.com/hubagent/hubagent/internal/device"
)

// buildFan maps power, and fanSpeed as an int percentage (scaled from
// speed_range_min..speed_range_max) when the fan has percentage topics,
// else as the enum of preset_modes. When it has both, presets become mode.
func buildFan(e *Entity) error {
	if err := e.parseTemplates("state_value_template", "command_template", "percentage_value_template",
		"percentage_command_template", "preset_mode_value_template", "preset_mode_command_template"); err != nil {
		return err
	}
	plOn, plOff := e.strDef("payload_on", "ON"), e.strDef("payload_off", "OFF")
	e.facets = append(e.facets, facet{prop: boolProp("power", e.access("state_topic", "command_topic")),
		topicKey: "state_topic", tplKey: "state_value_template", decode: onOff(plOn, plOff),
		encode: e.payloadEncoder("command_topic", "command_template", plOn, plOff)})
	lo, hi := e.num("speed_range_min", 1), e.num("speed_range_max", 100)
	if lo < 1 || hi < lo {
		lo, hi = 1, 100
	}
	states := hi - lo + 1
	// Home Assistant's ranged_value_to_percentage / percentage_to_ranged_value.
	toPct := func(raw float64) float64 { return math.Floor((raw - (lo - 1)) * 100 / states) }
	toRaw := func(p float64) float64 { return math.Ceil((lo - 1) + p*states/100) }
	hasPct := e.topic("percentage_state_topic") != "" || e.topic("percentage_command_topic") != ""
	if hasPct {
		e.addNum(numSpec{name: "fanSpeed", unit: "percent", typ: device.TypeInt, lo: 0, hi: 100, step: device.Num(1),
			stateKey: "percentage_state_topic", tplKey: "percentage_value_template",
			cmdKey: "percentage_command_topic", cmdTpl: "percentage_command_template",
			toModel: toPct})
		// Commands carry the device's integer speed step, not the percentage.
		if f, ok := e.facet("fanSpeed"); ok && f.encode != nil {
			f.encode = func(v device.Value) ([]Publish, error) {
				p, _ := v.AsFloat()
				return e.command("percentage_command_topic", "percentage_command_template", int64(toRaw(p)), nil)
			}
		}
	}
	name := "fanSpeed"
	if hasPct {
		name = "mode"
	}
	e.addEnum(name, e.strList("preset_modes"), "preset_mode_state_topic", "preset_mode_value_template",
		"preset_mode_command_topic", "preset_mode_command_template")
	return nil
}

// buildHumidifier maps power, targetHumidity, mode (from modes) and the
// measured humidity.
func buildHumidifier(e *Entity) error {
	if err := e.parseTemplates("state_value_template", "command_template", "target_humidity_state_template",
		"target_humidity_command_template", "mode_state_template", "mode_command_template",
		"current_humidity_template"); err != nil {
		return err
	}
	plOn, plOff := e.strDef("payload_on", "ON"), e.strDef("payload_off", "OFF")
	e.facets = append(e.facets, facet{prop: boolProp("power", e.access("state_topic", "command_topic")),
		topicKey: "state_topic", tplKey: "state_value_template", decode: onOff(plOn, plOff),
		encode: e.payloadEncoder("command_topic", "command_template", plOn, plOff)})
	e.addNum(numSpec{name: "targetHumidity", unit: "percent", typ: device.TypeInt,
		lo: e.num("min_humidity", 0), hi: e.num("max_humidity", 100), step: device.Num(1),
		stateKey: "target_humidity_state_topic", tplKey: "target_humidity_state_template",
		cmdKey: "target_humidity_command_topic", cmdTpl: "target_humidity_command_template"})
	e.addEnum("mode", e.strList("modes"), "mode_state_topic", "mode_state_template", "mode_command_topic", "mode_command_template")
	e.addNum(numSpec{name: "humidity", unit: "percent", typ: device.TypeFloat, lo: 0, hi: 100,
		stateKey: "current_humidity_topic", tplKey: "current_humidity_template"})
	return nil
}
