package hadiscovery

import (
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/hubagent/hubagent/internal/device"
)

// alarmStates are Home Assistant's alarm_control_panel states.
var alarmStates = []string{"disarmed", "armed_home", "armed_away", "armed_night", "armed_vacation",
	"armed_custom_bypass", "pending", "triggered", "arming", "disarming"}

// buildAlarmPanel maps alarm_control_panel to alarmState (r, enum),
// alarmCommand (w, enum of the supported actions: disarm, arm_home,
// arm_away, arm_night, arm_vacation, arm_custom_bypass, trigger) and, when
// the panel has a code, alarmCode (w, string) written with alarmCommand.
//
// Code handling follows Home Assistant: "REMOTE_CODE"/"REMOTE_CODE_TEXT"
// pass the code the partner writes to the command template as code (the
// panel checks it); any other code is checked here, in constant time, and
// never published or listed; code_arm_required, code_disarm_required and
// code_trigger_required (default true) say which actions need it.
func buildAlarmPanel(e *Entity) error {
	if err := e.parseTemplates("value_template", "command_template"); err != nil {
		return err
	}
	e.facets = append(e.facets, facet{prop: enumProp("alarmState", alarmStates, device.AccessRead),
		topicKey: "state_topic", tplKey: "value_template", decode: enumDecoder(alarmStates)})

	features := e.strList("supported_features")
	if !e.present("supported_features") {
		features = []string{"arm_home", "arm_away", "arm_night", "arm_vacation", "arm_custom_bypass", "trigger"}
	}
	payloads := map[string]string{"disarm": e.strDef("payload_disarm", "DISARM")}
	actions := []string{"disarm"}
	for _, a := range []struct{ feature, key, def string }{
		{"arm_home", "payload_arm_home", "ARM_HOME"}, {"arm_away", "payload_arm_away", "ARM_AWAY"},
		{"arm_night", "payload_arm_night", "ARM_NIGHT"}, {"arm_vacation", "payload_arm_vacation", "ARM_VACATION"},
		{"arm_custom_bypass", "payload_arm_custom_bypass", "ARM_CUSTOM_BYPASS"}, {"trigger", "payload_trigger", "TRIGGER"},
	} {
		if slices.Contains(features, a.feature) {
			payloads[a.feature] = e.strDef(a.key, a.def)
			actions = append(actions, a.feature)
		}
	}
	code, hasCode := e.str("code")
	remote := code == "REMOTE_CODE" || code == "REMOTE_CODE_TEXT"
	required := map[string]bool{
		"disarm":  e.boolean("code_disarm_required", true),
		"trigger": e.boolean("code_trigger_required", true),
	}
	armRequired := e.boolean("code_arm_required", true)
	needsCode := func(action string) bool {
		if !hasCode {
			return false
		}
		if r, ok := required[action]; ok {
			return r
		}
		return armRequired
	}
	e.facets = append(e.facets, facet{prop: enumProp("alarmCommand", actions, device.AccessWrite)})
	if hasCode {
		e.facets = append(e.facets, facet{prop: device.Property{Name: "alarmCode", Type: device.TypeString, Access: device.AccessWrite}})
	}
	e.encodeAll = func(props map[string]device.Value) ([]Publish, error) {
		if e.probe != nil {
			return e.alarmCommand("", nil)
		}
		v, ok := props["alarmCommand"]
		if !ok {
			return nil, &device.Error{Code: device.CodeInvalidRequest, Property: "alarmCode",
				Message: "alarmCode is written together with alarmCommand"}
		}
		action, _ := v.AsString()
		given := ""
		if c, ok := props["alarmCode"]; ok {
			given, _ = c.AsString()
		}
		if needsCode(action) {
			if given == "" {
				return nil, &device.Error{Code: device.CodeInvalidRequest, Property: "alarmCode",
					Message: fmt.Sprintf("%s needs the panel's code (alarmCode)", action)}
			}
			if !remote && subtle.ConstantTimeCompare([]byte(given), []byte(code)) != 1 {
				return nil, &device.Error{Code: device.CodeAccessDenied, Property: "alarmCode", Message: "wrong alarm code"}
			}
		}
		vars := map[string]any{"action": payloads[action], "code": given}
		return e.alarmCommand(payloads[action], vars)
	}
	return nil
}

// alarmCommand renders command_template (Home Assistant's default is
// "{{action}}") with action and code.
func (e *Entity) alarmCommand(action string, vars map[string]any) ([]Publish, error) {
	if e.template("command_template") == nil && e.probe == nil {
		if err, broken := e.isBroken("command_template"); broken {
			return nil, fmt.Errorf("hadiscovery: %s: command_template: %w", e.ConfigTopic, err)
		}
		return []Publish{{Topic: e.topic("command_topic"), Payload: []byte(action), Retain: e.retain, QoS: e.qos()}}, nil
	}
	return e.command("command_topic", "command_template", action, vars)
}
