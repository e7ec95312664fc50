package hadiscovery

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// Events (event entities, device triggers, tag scans, camera images)
// reach partners as notifications: each is a read-only property that
// changes when the event happens, so StatusChanged carries it. A property
// holding only "what happened" would not change on a repeated button
// press, so every event also sets a "<name>At" property: when the agent
// received it, in milliseconds since the epoch.

func atProp(name string) device.Property {
	return device.Property{Name: name + "At", Type: device.TypeInt, Unit: "millisecond", Access: device.AccessRead}
}

// eventFacets adds name (decoded by decode) and nameAt, both set by the
// same message.
func (e *Entity) eventFacets(prop device.Property, topicKey, tplKey string, decode func(string) (device.Value, bool)) {
	e.facets = append(e.facets,
		facet{prop: prop, topicKey: topicKey, tplKey: tplKey, decode: decode},
		facet{prop: atProp(prop.Name), topicKey: topicKey, tplKey: tplKey, decode: func(s string) (device.Value, bool) {
			if _, ok := decode(s); !ok {
				return device.Value{}, false
			}
			return device.Int(time.Now().UnixMilli()), true
		}})
}

// buildEvent maps an event entity to <name> (enum of event_types) and
// <name>At. The state, after value_template, is JSON with event_type, as
// Home Assistant requires.
func buildEvent(e *Entity) error {
	if err := e.parseTemplates("value_template"); err != nil {
		return err
	}
	types := e.strList("event_types")
	if len(types) == 0 {
		return errString("event requires event_types")
	}
	e.eventFacets(enumProp(e.genericName(), types, device.AccessRead), "state_topic", "value_template",
		func(s string) (device.Value, bool) {
			var obj struct {
				EventType string `json:"event_type"`
			}
			if json.Unmarshal([]byte(s), &obj) != nil || !slices.Contains(types, obj.EventType) {
				return device.Value{}, false
			}
			return device.String(obj.EventType), true
		})
	return nil
}

// buildDeviceTrigger maps a device_automation trigger (automation_type
// trigger, type, subtype, topic, optional payload) to one property,
// lowerCamel(type_subtype), set to the time the trigger fired: a message
// on topic equal to payload (any message when there is none) after
// value_template.
func buildDeviceTrigger(e *Entity) error {
	if err := e.parseTemplates("value_template"); err != nil {
		return err
	}
	if at := e.strDef("automation_type", "trigger"); at != "trigger" {
		return errString("device_automation automation_type " + at + " is not supported")
	}
	typ, _ := e.str("type")
	sub, _ := e.str("subtype")
	name := lowerCamel(typ + "_" + sub)
	if name == "" {
		name = "trigger"
	}
	payload, hasPayload := e.str("payload")
	e.facets = append(e.facets, facet{prop: device.Property{Name: name, Type: device.TypeInt, Unit: "millisecond", Access: device.AccessRead},
		topicKey: "topic", tplKey: "value_template", decode: func(s string) (device.Value, bool) {
			if hasPayload && s != payload {
				return device.Value{}, false
			}
			return device.Int(time.Now().UnixMilli()), true
		}})
	return nil
}

// buildTag maps a tag scanner to tag (the id read, after value_template)
// and tagAt.
func buildTag(e *Entity) error {
	if err := e.parseTemplates("value_template"); err != nil {
		return err
	}
	e.eventFacets(device.Property{Name: "tag", Type: device.TypeString, Access: device.AccessRead}, "topic", "value_template",
		func(s string) (device.Value, bool) {
			s = strings.TrimSpace(s)
			if s == "" {
				return device.Value{}, false
			}
			return device.String(s), true
		})
	return nil
}

// buildCamera recognises a camera: its images are not served through
// /cic/v1 (the profile has no image type), which the entity's warning
// says; imageAt tells partners when the last image arrived.
func buildCamera(e *Entity) error {
	topic := e.topic("topic")
	e.warnf("camera: images on %s are not served: the profile has no image type; imageAt tells when one arrived", topic)
	e.facets = append(e.facets, facet{prop: device.Property{Name: "imageAt", Type: device.TypeInt, Unit: "millisecond", Access: device.AccessRead},
		topicKey: "topic", anyPayload: true, decode: func(string) (device.Value, bool) {
			return device.Int(time.Now().UnixMilli()), true
		}})
	return nil
}

// errString is a plain error for a config that cannot be used.
type errString string

func (e errString) Error() string { return string(e) }
