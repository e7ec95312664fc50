package hadiscovery

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hubagent/hubagent/internal/device"
)

// buildScene maps a scene to activate (w, bool): true publishes
// payload_on ("ON") through command_template... scenes have none in Home
// Assistant, so the payload goes as it is; false publishes nothing.
func buildScene(e *Entity) error {
	on := e.strDef("payload_on", "ON")
	e.facets = append(e.facets, facet{prop: boolProp("activate", device.AccessWrite),
		encode: func(v device.Value) ([]Publish, error) {
			if b, _ := v.AsBool(); !b {
				return nil, nil
			}
			return e.command("command_topic", "", on, nil)
		}})
	return nil
}

// buildSiren maps a siren to power (payload_on/off, state_on/off,
// state_value_template) and, when the config says the siren supports
// them, tone (enum of available_tones), volume (int %) and duration (int
// s), written with power=true. With command_template (command_off_template
// for off) the payload is rendered with value (the on/off payload), tone,
// volume_level (0..1) and duration; without one it is Home Assistant's
// JSON {"state": <payload>, "tone": ..., "volume_level": ..., "duration":
// ...} with the parameters written.
func buildSiren(e *Entity) error {
	if err := e.parseTemplates("state_value_template", "command_template", "command_off_template"); err != nil {
		return err
	}
	plOn, plOff := e.strDef("payload_on", "ON"), e.strDef("payload_off", "OFF")
	acc := e.access("state_topic", "command_topic")
	plain := onOff(e.strDef("state_on", plOn), e.strDef("state_off", plOff))
	e.facets = append(e.facets, facet{prop: boolProp("power", acc), topicKey: "state_topic", tplKey: "state_value_template",
		decode: func(s string) (device.Value, bool) {
			// Home Assistant also takes {"state": "ON", "tone": ...}.
			if strings.HasPrefix(s, "{") {
				var obj struct {
					State *string `json:"state"`
				}
				if json.Unmarshal([]byte(s), &obj) == nil && obj.State != nil {
					s = *obj.State
				}
			}
			return plain(s)
		}})
	if e.topic("command_topic") == "" {
		e.encodeAll = nil
		return nil
	}
	// Home Assistant reads tone, volume_level and duration from a JSON
	// state too, and supports volume and duration unless told not to.
	attrAcc, attrTopic := device.AccessWrite, ""
	if e.topic("state_topic") != "" {
		attrAcc, attrTopic = device.AccessReadWrite, "state_topic"
	}
	if tones := e.strList("available_tones"); len(tones) > 0 && e.boolean("support_tones", true) {
		e.facets = append(e.facets, facet{prop: enumProp("tone", tones, attrAcc), topicKey: attrTopic,
			decode: sirenAttr(func(obj map[string]any) (device.Value, bool) {
				t, ok := obj["tone"].(string)
				return device.String(t), ok && slices.Contains(tones, t)
			})})
	}
	if e.boolean("support_volume_set", true) {
		e.facets = append(e.facets, facet{prop: pctProp("volume", attrAcc), topicKey: attrTopic,
			decode: sirenAttr(func(obj map[string]any) (device.Value, bool) {
				v, ok := obj["volume_level"].(float64)
				return device.Int(int64(math.Round(v * 100))), ok && v >= 0 && v <= 1
			})})
	}
	if e.boolean("support_duration", true) {
		e.facets = append(e.facets, facet{prop: numProp("duration", device.TypeInt, "second", 0, 86400, device.Num(1), attrAcc),
			topicKey: attrTopic, decode: sirenAttr(func(obj map[string]any) (device.Value, bool) {
				v, ok := obj["duration"].(float64)
				return device.Int(int64(v)), ok && v >= 0 && v <= 86400 && v == math.Trunc(v)
			})})
	}
	e.encodeAll = func(props map[string]device.Value) ([]Publish, error) {
		on := true
		if p, ok := props["power"]; ok {
			on, _ = p.AsBool()
		}
		params := map[string]any{}
		if v, ok := props["tone"]; ok {
			params["tone"], _ = v.AsString()
		}
		if v, ok := props["volume"]; ok {
			i, _ := v.AsInt()
			params["volume_level"] = float64(i) / 100
		}
		if v, ok := props["duration"]; ok {
			params["duration"], _ = v.AsInt()
		}
		if !on {
			if len(params) > 0 {
				return nil, &device.Error{Code: device.CodeInvalidRequest, Message: "tone, volume and duration go with power=true"}
			}
			if e.template("command_off_template") != nil || e.probe != nil {
				return e.command("command_topic", "command_off_template", plOff, nil)
			}
			if e.template("command_template") != nil {
				return e.command("command_topic", "command_template", plOff, nil)
			}
			b, _ := json.Marshal(map[string]any{"state": plOff})
			return []Publish{{Topic: e.topic("command_topic"), Payload: b, Retain: e.retain, QoS: e.qos()}}, nil
		}
		if e.template("command_template") != nil || e.probe != nil {
			vars := map[string]any{"tone": nil, "volume_level": nil, "duration": nil}
			for k, v := range params {
				vars[k] = v
			}
			return e.command("command_topic", "command_template", plOn, vars)
		}
		// Without a template Home Assistant publishes JSON: the state and
		// the parameters given.
		b, _ := json.Marshal(map[string]any{"state": plOn})
		b = b[:len(b)-1]
		for _, k := range []string{"tone", "volume_level", "duration"} {
			if v, ok := params[k]; ok {
				kb, _ := json.Marshal(k)
				vb, _ := json.Marshal(v)
				b = append(append(append(append(b, ','), kb...), ':'), vb...)
			}
		}
		b = append(b, '}')
		return []Publish{{Topic: e.topic("command_topic"), Payload: b, Retain: e.retain, QoS: e.qos()}}, nil
	}
	return nil
}

// buildUpdate maps an update entity to installedVersion and latestVersion
// (r, strings) and install (w, bool, when command_topic is set: true
// publishes payload_install). The state (after value_template) is the
// installed version, or JSON with installed_version and latest_version;
// latest_version_topic (with latest_version_template) may give the latter.
func buildUpdate(e *Entity) error {
	if err := e.parseTemplates("value_template", "latest_version_template"); err != nil {
		return err
	}
	field := func(key string, plain bool) func(string) (device.Value, bool) {
		return func(s string) (device.Value, bool) {
			s = strings.TrimSpace(s)
			if strings.HasPrefix(s, "{") {
				var obj map[string]any
				if json.Unmarshal([]byte(s), &obj) != nil {
					return device.Value{}, false
				}
				if v, ok := obj[key].(string); ok && v != "" {
					return device.String(v), true
				}
				return device.Value{}, false
			}
			if plain && s != "" && s != "None" {
				return device.String(s), true
			}
			return device.Value{}, false
		}
	}
	strProp := func(name string) device.Property {
		return device.Property{Name: name, Type: device.TypeString, Access: device.AccessRead}
	}
	if e.topic("state_topic") != "" {
		e.facets = append(e.facets, facet{prop: strProp("installedVersion"), topicKey: "state_topic", tplKey: "value_template",
			decode: field("installed_version", true)})
	}
	if e.topic("latest_version_topic") != "" {
		e.facets = append(e.facets, facet{prop: strProp("latestVersion"), topicKey: "latest_version_topic",
			tplKey: "latest_version_template", decode: field("latest_version", true)})
	} else if e.topic("state_topic") != "" {
		e.facets = append(e.facets, facet{prop: strProp("latestVersion"), topicKey: "state_topic", tplKey: "value_template",
			decode: field("latest_version", false)})
	}
	if e.topic("command_topic") != "" {
		pl := e.strDef("payload_install", "install")
		e.facets = append(e.facets, facet{prop: boolProp("install", device.AccessWrite),
			encode: func(v device.Value) ([]Publish, error) {
				if b, _ := v.AsBool(); !b {
					return nil, nil
				}
				return e.command("command_topic", "", pl, nil)
			}})
	}
	return nil
}

// buildText maps a text entity to a string property named after it,
// written through command_template and checked against min/max length
// (0..255) and pattern.
func buildText(e *Entity) error {
	if err := e.parseTemplates("value_template", "command_template"); err != nil {
		return err
	}
	lo, hi := int(e.num("min", 0)), int(e.num("max", 255))
	var re *regexp.Regexp
	if p, ok := e.str("pattern"); ok {
		var err error
		if re, err = regexp.Compile(`\A(?:` + p + `)\z`); err != nil {
			e.markBroken("pattern", fmt.Errorf("%q is not a pattern the agent can check: %v", p, err))
			e.warnf("text: pattern ignored: %q is not a pattern the agent can check (Go RE2)", p)
			re = nil
		}
	}
	e.facets = append(e.facets, facet{prop: device.Property{Name: e.genericName(), Type: device.TypeString, Access: e.access("state_topic", "command_topic")},
		topicKey: "state_topic", tplKey: "value_template", decode: func(s string) (device.Value, bool) { return device.String(s), true },
		encode: func(v device.Value) ([]Publish, error) {
			s, _ := v.AsString()
			if n := utf8.RuneCountInString(s); n < lo || n > hi {
				return nil, &device.Error{Code: device.CodeValueOutOfRange, Message: fmt.Sprintf("text length %d outside %d..%d", n, lo, hi)}
			}
			if re != nil && !re.MatchString(s) {
				return nil, &device.Error{Code: device.CodeValueOutOfRange, Message: "text does not match the entity's pattern"}
			}
			return e.command("command_topic", "command_template", s, nil)
		}})
	if e.topic("command_topic") == "" {
		e.facets[len(e.facets)-1].encode = nil
	}
	return nil
}

// buildDeviceTracker maps a device tracker to home (r, bool: the state
// is payload_home) and location (r, string: the state, a zone name or
// not_home), plus latitude/longitude (r, float) from a JSON
// json_attributes_topic.
func buildDeviceTracker(e *Entity) error {
	if err := e.parseTemplates("value_template"); err != nil {
		return err
	}
	home, away, reset := e.strDef("payload_home", "home"), e.strDef("payload_not_home", "not_home"), e.strDef("payload_reset", "None")
	if e.topic("state_topic") != "" {
		e.facets = append(e.facets,
			facet{prop: boolProp("home", device.AccessRead), topicKey: "state_topic", tplKey: "value_template",
				decode: func(s string) (device.Value, bool) {
					switch {
					case s == reset || s == "":
						return device.Value{}, true
					case s == home:
						return device.Bool(true), true
					}
					return device.Bool(false), true
				}},
			facet{prop: device.Property{Name: "location", Type: device.TypeString, Access: device.AccessRead}, topicKey: "state_topic",
				tplKey: "value_template", decode: func(s string) (device.Value, bool) {
					switch s {
					case reset, "":
						return device.Value{}, true
					case home:
						return device.String("home"), true
					case away:
						return device.String("not_home"), true
					}
					return device.String(s), true
				}})
	}
	if e.topic("json_attributes_topic") != "" {
		coord := func(key string, lim float64) func(string) (device.Value, bool) {
			return func(s string) (device.Value, bool) {
				var obj map[string]any
				if json.Unmarshal([]byte(s), &obj) != nil {
					return device.Value{}, false
				}
				f, ok := obj[key].(float64)
				if !ok || math.Abs(f) > lim {
					return device.Value{}, false
				}
				return device.Float(f), true
			}
		}
		e.facets = append(e.facets,
			facet{prop: numProp("latitude", device.TypeFloat, "degree", -90, 90, nil, device.AccessRead), topicKey: "json_attributes_topic", decode: coord("latitude", 90)},
			facet{prop: numProp("longitude", device.TypeFloat, "degree", -180, 180, nil, device.AccessRead), topicKey: "json_attributes_topic", decode: coord("longitude", 180)})
	}
	return nil
}

// sirenAttr decodes one attribute of a siren's JSON state message.
func sirenAttr(get func(obj map[string]any) (device.Value, bool)) func(string) (device.Value, bool) {
	return func(s string) (device.Value, bool) {
		if !strings.HasPrefix(s, "{") {
			return device.Value{}, false
		}
		var obj map[string]any
		if json.Unmarshal([]byte(s), &obj) != nil {
			return device.Value{}, false
		}
		return get(obj)
	}
}
