package hadiscovery

import (
	"github.com/hubagent/hubagent/internal/device"
)

// buildSwitch maps a switch to power: state_on/state_off (defaulting to
// payload_on/payload_off, "ON"/"OFF") read it, payload_on/payload_off
// through command_template write it.
func buildSwitch(e *Entity) error {
	if err := e.parseTemplates("value_template", "command_template"); err != nil {
		return err
	}
	plOn, plOff := e.strDef("payload_on", "ON"), e.strDef("payload_off", "OFF")
	e.facets = append(e.facets, facet{
		prop:     boolProp("power", e.access("state_topic", "command_topic")),
		topicKey: "state_topic",
		tplKey:   "value_template",
		decode:   onOff(e.strDef("state_on", plOn), e.strDef("state_off", plOff)),
		encode:   e.payloadEncoder("command_topic", "command_template", plOn, plOff),
	})
	return nil
}

// payloadEncoder writes a bool as one of two payloads through an optional
// command template (which sees the payload as value).
func (e *Entity) payloadEncoder(topicKey, tplKey, on, off string) func(device.Value) ([]Publish, error) {
	if e.topic(topicKey) == "" {
		return nil
	}
	return func(v device.Value) ([]Publish, error) {
		b, _ := v.AsBool()
		pl := off
		if b {
			pl = on
		}
		return e.command(topicKey, tplKey, pl, nil)
	}
}

// buildLock maps a lock to locked: state_locked/state_unlocked read it,
// payload_lock/payload_unlock write it. Transitional states (locking,
// jammed, open) change nothing.
func buildLock(e *Entity) error {
	if err := e.parseTemplates("value_template", "command_template"); err != nil {
		return err
	}
	plLock, plUnlock := e.strDef("payload_lock", "LOCK"), e.strDef("payload_unlock", "UNLOCK")
	e.facets = append(e.facets, facet{
		prop:     boolProp("locked", e.access("state_topic", "command_topic")),
		topicKey: "state_topic",
		tplKey:   "value_template",
		decode:   onOff(e.strDef("state_locked", "LOCKED"), e.strDef("state_unlocked", "UNLOCKED")),
		encode:   e.payloadEncoder("command_topic", "command_template", plLock, plUnlock),
	})
	return nil
}

// buildButton maps a button to a write-only bool action named after the
// entity: writing true publishes payload_press; writing false does nothing.
func buildButton(e *Entity) error {
	if err := e.parseTemplates("command_template"); err != nil {
		return err
	}
	press := e.strDef("payload_press", "PRESS")
	e.facets = append(e.facets, facet{
		prop: boolProp(e.genericName(), device.AccessWrite),
		encode: func(v device.Value) ([]Publish, error) {
			if b, _ := v.AsBool(); !b {
				return nil, nil
			}
			return e.command("command_topic", "command_template", press, nil)
		},
	})
	return nil
}
