package hadiscovery

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/hubagent/hubagent/internal/device"
)

// buildValve maps a valve like a cover: position (int %, 0 closed) and
// motion (w: open/close/stop). With reports_position the state is the
// position (a number, or JSON {"position": n, "state": ...}) and a
// position write publishes the number to command_topic; without it the
// states state_open/state_opening read 100 and state_closed/state_closing
// read 0, and position cannot be written.
func buildValve(e *Entity) error {
	if err := e.parseTemplates("value_template", "command_template"); err != nil {
		return err
	}
	closed, open := e.num("position_closed", 0), e.num("position_open", 100)
	if closed == open {
		open = closed + 100
	}
	toPct := func(raw float64) float64 { return math.Max(0, math.Min(100, (raw-closed)*100/(open-closed))) }
	fromPct := func(p int64) int64 { return int64(math.Round(closed + float64(p)*(open-closed)/100)) }
	stOpen, stOpening := e.strDef("state_open", "open"), e.strDef("state_opening", "opening")
	stClosed, stClosing := e.strDef("state_closed", "closed"), e.strDef("state_closing", "closing")
	byState := func(s string) (device.Value, bool) {
		switch s {
		case stOpen, stOpening:
			return device.Int(100), true
		case stClosed, stClosing:
			return device.Int(0), true
		}
		return device.Value{}, false
	}
	reports := e.boolean("reports_position", false)
	acc := device.AccessRead
	var enc func(device.Value) ([]Publish, error)
	if reports && e.topic("command_topic") != "" {
		acc = device.AccessReadWrite
		enc = func(v device.Value) ([]Publish, error) {
			p, _ := v.AsInt()
			raw := fromPct(p)
			return e.command("command_topic", "command_template", raw, map[string]any{"position": raw})
		}
	}
	decode := byState
	if reports {
		decode = func(s string) (device.Value, bool) {
			if f, ok := parseNum(s); ok {
				return device.Int(int64(math.Round(toPct(f)))), true
			}
			if strings.HasPrefix(strings.TrimSpace(s), "{") {
				var obj struct {
					Position *float64 `json:"position"`
					State    string   `json:"state"`
				}
				if json.Unmarshal([]byte(s), &obj) == nil {
					if obj.Position != nil {
						return device.Int(int64(math.Round(toPct(*obj.Position)))), true
					}
					return byState(obj.State)
				}
			}
			return byState(s)
		}
	}
	if e.topic("state_topic") != "" || enc != nil {
		e.facets = append(e.facets, facet{prop: pctProp("position", acc), topicKey: "state_topic",
			tplKey: "value_template", decode: decode, encode: enc})
	}
	if e.topic("command_topic") != "" {
		// Home Assistant: a valve that reports position opens and closes
		// by sending the end positions; payload_stop stops either kind.
		payloads, values := e.motionPayloads()
		if len(values) > 0 {
			e.facets = append(e.facets, facet{prop: enumProp("motion", values, device.AccessWrite),
				encode: func(v device.Value) ([]Publish, error) {
					s, _ := v.AsString()
					if !reports || s == "stop" {
						return e.command("command_topic", "command_template", payloads[s], nil)
					}
					raw := fromPct(0)
					if s == "open" {
						raw = fromPct(100)
					}
					return e.command("command_topic", "command_template", raw, map[string]any{"position": raw})
				}})
		}
	}
	return nil
}
