package hadiscovery

import (
	"fmt"
	"math"
	"slices"

	"github.com/hubagent/hubagent/internal/device"
)

// vacuumStates are the states of Home Assistant's vacuum state schema.
func vacuumStates() []string {
	return []string{"cleaning", "docked", "paused", "idle", "returning", "error"}
}

// buildVacuum maps the state schema: the JSON state object gives status
// (enum, read-only), battery and fanSpeed; command_topic takes an action
// (write-only enum of the supported payloads); set_fan_speed_topic sets
// fanSpeed.
func buildVacuum(e *Entity) error {
	if schema := e.strDef("schema", "state"); schema != "state" {
		return errUnsupportedSchema("vacuum", schema)
	}
	features := e.strList("supported_features")
	if !e.present("supported_features") {
		features = []string{"start", "stop", "return_home", "status", "battery", "clean_spot"}
	}
	has := func(f string) bool { return slices.Contains(features, f) }
	fanSpeeds := e.strList("fan_speed_list")
	if e.topic("state_topic") != "" {
		e.facets = append(e.facets, facet{prop: enumProp("status", vacuumStates(), device.AccessRead)})
		if has("battery") {
			e.facets = append(e.facets, facet{prop: pctProp("battery", device.AccessRead)})
		}
		e.jsonTopicKey = "state_topic"
		e.jsonDecode = func(obj jsonObject, out map[string]device.Value) {
			if s, ok := obj.str("state"); ok && slices.Contains(vacuumStates(), s) {
				out["status"] = device.String(s)
			}
			if f, ok := obj.num("battery_level"); ok && has("battery") {
				out["battery"] = device.Int(int64(math.Round(math.Max(0, math.Min(100, f)))))
			}
			if s, ok := obj.str("fan_speed"); ok && slices.Contains(fanSpeeds, s) {
				out["fanSpeed"] = device.String(s)
			}
		}
	}
	if e.topic("command_topic") != "" {
		payloads := map[string]string{}
		var actions []string
		for _, a := range []struct{ feature, action, key, def string }{
			{"start", "start", "payload_start", "start"},
			{"stop", "stop", "payload_stop", "stop"},
			{"pause", "pause", "payload_pause", "pause"},
			{"return_home", "return_to_base", "payload_return_to_base", "return_to_base"},
			{"clean_spot", "clean_spot", "payload_clean_spot", "clean_spot"},
			{"locate", "locate", "payload_locate", "locate"},
		} {
			if has(a.feature) {
				payloads[a.action] = e.strDef(a.key, a.def)
				actions = append(actions, a.action)
			}
		}
		if len(actions) > 0 {
			e.facets = append(e.facets, facet{prop: enumProp("action", actions, device.AccessWrite),
				encode: func(v device.Value) ([]Publish, error) {
					s, _ := v.AsString()
					return e.command("command_topic", "", payloads[s], nil)
				}})
		}
	}
	if len(fanSpeeds) > 0 && has("fan_speed") {
		f := facet{prop: enumProp("fanSpeed", fanSpeeds, e.access("state_topic", "set_fan_speed_topic"))}
		if e.topic("set_fan_speed_topic") != "" {
			f.encode = func(v device.Value) ([]Publish, error) {
				s, _ := v.AsString()
				return e.command("set_fan_speed_topic", "", s, nil)
			}
		}
		e.facets = append(e.facets, f)
	}
	return nil
}

func errUnsupportedSchema(component, schema string) error {
	return fmt.Errorf("%s schema %q is not supported", component, schema)
}
