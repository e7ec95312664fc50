package hadiscovery

import (
	"math"

	"github.com/hubagent/hubagent/internal/device"
)

// buildCover maps a cover to position (int %, 0 closed) and motion
// (write-only enum open/close/stop). Position comes from position_topic
// scaled between position_closed and position_open; without one, the
// state_topic's state_open/state_closed read as 100/0.
func buildCover(e *Entity) error {
	if err := e.parseTemplates("value_template", "position_template", "set_position_template"); err != nil {
		return err
	}
	closed, open := e.num("position_closed", 0), e.num("position_open", 100)
	if closed == open {
		open = closed + 100
	}
	toPct := func(raw float64) float64 {
		return math.Max(0, math.Min(100, (raw-closed)*100/(open-closed)))
	}
	fromPct := func(p int64) int64 { return int64(math.Round(closed + float64(p)*(open-closed)/100)) }

	acc := device.AccessRead
	var enc func(device.Value) ([]Publish, error)
	if e.topic("set_position_topic") != "" {
		acc = device.AccessReadWrite
		enc = func(v device.Value) ([]Publish, error) {
			p, _ := v.AsInt()
			raw := fromPct(p)
			return e.command("set_position_topic", "set_position_template", raw, map[string]any{"position": raw})
		}
	}
	switch {
	case e.topic("position_topic") != "":
		e.facets = append(e.facets, facet{prop: pctProp("position", acc), topicKey: "position_topic",
			tplKey: "position_template", decode: numDecoder(device.TypeInt, toPct), encode: enc})
	case e.topic("state_topic") != "" || enc != nil:
		stOpen, stClosed := e.strDef("state_open", "open"), e.strDef("state_closed", "closed")
		e.facets = append(e.facets, facet{prop: pctProp("position", acc), topicKey: "state_topic",
			tplKey: "value_template", encode: enc,
			decode: func(s string) (device.Value, bool) {
				switch s {
				case stOpen:
					return device.Int(100), true
				case stClosed:
					return device.Int(0), true
				}
				return device.Value{}, false
			}})
	}
	if e.topic("command_topic") != "" {
		payloads, values := e.motionPayloads()
		if len(values) > 0 {
			e.facets = append(e.facets, facet{prop: enumProp("motion", values, device.AccessWrite),
				encode: func(v device.Value) ([]Publish, error) {
					s, _ := v.AsString()
					return e.command("command_topic", "", payloads[s], nil)
				}})
		}
	}
	return nil
}

// motionPayloads reads payload_open/close/stop of a cover or valve: the
// motions it offers and what each publishes. A null payload disables that
// motion, as in Home Assistant.
func (e *Entity) motionPayloads() (map[string]string, []string) {
	payloads := map[string]string{}
	var values []string
	for _, a := range []struct{ name, key, def string }{
		{"open", "payload_open", "OPEN"}, {"close", "payload_close", "CLOSE"}, {"stop", "payload_stop", "STOP"},
	} {
		if e.present(a.key) && e.cfg[a.key] == nil {
			continue
		}
		payloads[a.name] = e.strDef(a.key, a.def)
		values = append(values, a.name)
	}
	return payloads, values
}
