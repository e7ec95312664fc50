package hadiscovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unique"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hatemplate"
)

// Publish is one MQTT message a property write turns into.
type Publish struct {
	Topic   string
	Payload []byte
	Retain  bool
	QoS     byte
}

// DeviceInfo is the discovery config's device block, abbreviations expanded.
type DeviceInfo struct {
	Identifiers   []string
	Connections   [][2]string
	Name          string
	Manufacturer  string
	Model         string
	ModelID       string
	SWVersion     string
	HWVersion     string
	SuggestedArea string
	ViaDevice     string
}

// Entity is one parsed discovery config: a Home Assistant MQTT entity and
// the device-model properties it provides, under entity-local names (see
// Binding for the names on the device). Entities are immutable after
// ParseConfig and safe for concurrent use.
type Entity struct {
	Component   string // light, switch, sensor, ...
	NodeID      string // optional middle level of the config topic
	ObjectID    string
	ConfigTopic string // the discovery topic: the entity's identity
	UniqueID    string
	Name        string
	Device      DeviceInfo

	// cfg is the config with abbreviations and "~" expanded. It is read
	// only while ParseConfig builds the entity, which then drops it: the
	// decoded JSON was most of what a tracked entity kept alive. What
	// state, commands and availability read later is copied out below
	// (topics and settings) or captured by the facets' closures.
	cfg map[string]any
	// topics are the config's topics (keys ending in _topic), looked up
	// by key when state arrives and when commands are published.
	topics []keyedTopic
	// HasDevice: the config had a device block with identifiers or
	// connections. (Next to the other flags: every entity is kept for
	// its device's life, and 8 bytes less put it in a smaller size class.)
	HasDevice bool
	// Settings read after the build.
	retain, optimistic bool
	// onByBrightness: a light with on_command_type "brightness" and a
	// brightness command topic, which turns on by its brightness.
	onByBrightness   bool
	qosLevel         byte
	availabilityMode availabilityMode
	deviceClass      string

	// templates are the parsed templates by config key: a slice, as a map
	// would cost more than the one or two templates most entities have.
	templates []keyedTemplate
	facets    []facet
	// jsonTopicKey/jsonDecode decode a whole JSON state object (json schema
	// lights, vacuums) into several properties, added to out.
	jsonTopicKey string
	jsonDecode   func(obj jsonObject, out map[string]device.Value)
	// encodeAll, when set, turns a whole write into publishes; components
	// whose properties share one command (json lights) or need ordering
	// (on_command_type) use it instead of per-facet encoders.
	encodeAll func(props map[string]device.Value) ([]Publish, error)
	// expect, when set, maps written values to the form the device will
	// report them back in (see Expect).
	expect func(props map[string]device.Value) map[string]device.Value

	availability []AvailabilityTopic

	// Warnings are what the agent could not use of the config, each naming
	// the component, the config key and the construct; the entity works
	// without them (see degrade).
	Warnings []string
	broken   []brokenField
	// probe, while set, makes command() record the template keys it would
	// render instead of rendering (see writeTemplates).
	probe *[]string
}

// keyedTopic is one topic of the config under its key.
type keyedTopic struct{ key, topic string }

// keyedTemplate is one parsed template under its config key.
type keyedTemplate struct {
	key string
	t   *hatemplate.Template
}

// template returns the parsed template under a config key, nil when the
// config has none.
func (e *Entity) template(key string) *hatemplate.Template {
	for _, kt := range e.templates {
		if kt.key == key {
			return kt.t
		}
	}
	return nil
}

// facet is one property of an entity and how it is read and written.
type facet struct {
	prop     device.Property
	topicKey string // config key of the state topic ("" = not read from MQTT)
	tplKey   string // config key of the value template ("" = the payload itself)
	decode   func(s string) (device.Value, bool)
	encode   func(v device.Value) ([]Publish, error)
	// anyPayload: decode sees every message, text or not, as "" (camera
	// images are binary; only their arrival is reported).
	anyPayload bool
}

// Properties returns the entity's property descriptors under entity-local
// names, in a stable order.
func (e *Entity) Properties() []device.Property {
	out := make([]device.Property, len(e.facets))
	for i, f := range e.facets {
		out[i] = f.prop
	}
	return out
}

func (e *Entity) facet(name string) (*facet, bool) {
	for i := range e.facets {
		if e.facets[i].prop.Name == name {
			return &e.facets[i], true
		}
	}
	return nil, false
}

// str returns a config value as Home Assistant's cv.string would: strings
// as they are, other scalars Python-formatted (true → "True"). Missing and
// null are not ok.
func (e *Entity) str(key string) (string, bool) {
	switch v := e.cfg[key].(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case bool, json.Number:
		return hatemplate.Str(v), true
	}
	return "", false
}

func (e *Entity) strDef(key, def string) string {
	if s, ok := e.str(key); ok {
		return s
	}
	return def
}

// present reports whether key is in the config, even as null (a null
// payload disables a command in Home Assistant).
func (e *Entity) present(key string) bool {
	_, ok := e.cfg[key]
	return ok
}

func (e *Entity) num(key string, def float64) float64 {
	switch v := e.cfg[key].(type) {
	case json.Number:
		if f, err := v.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return def
}

func (e *Entity) boolean(key string, def bool) bool {
	switch v := e.cfg[key].(type) {
	case bool:
		return v
	case string:
		switch strings.ToLower(v) {
		case "true", "yes", "on", "1":
			return true
		case "false", "no", "off", "0":
			return false
		}
	}
	return def
}

func (e *Entity) strList(key string) []string {
	list, ok := e.cfg[key].([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range list {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case bool, json.Number:
			out = append(out, hatemplate.Str(x))
		}
	}
	return out
}

// topic returns the topic under a config key, "" when there is none.
// Entities have a handful of topics, so a scan beats a map in both time
// and memory.
func (e *Entity) topic(key string) string {
	for _, t := range e.topics {
		if t.key == key {
			return t.topic
		}
	}
	return ""
}

// keepSettings copies out of the config what is read after the build.
// Strings that recur across entities (topic keys, the topics that
// Zigbee2MQTT entities of one device share, device classes) are interned
// so that a thousand entities hold one copy each.
func (e *Entity) keepSettings() {
	n := 0
	for k, v := range e.cfg {
		// checkTopics made sure a topic is a non-empty string or null.
		if _, ok := v.(string); ok && isTopicKey(k) {
			n++
		}
	}
	e.topics = make([]keyedTopic, 0, n)
	for k, v := range e.cfg {
		if s, ok := v.(string); ok && isTopicKey(k) {
			e.topics = append(e.topics, keyedTopic{key: intern(k), topic: intern(s)})
		}
	}
	e.retain = e.boolean("retain", false)
	e.optimistic = e.boolean("optimistic", false)
	if q := e.num("qos", 0); q == 1 || q == 2 {
		e.qosLevel = byte(q)
	}
	switch e.strDef("availability_mode", "latest") {
	case "all":
		e.availabilityMode = availabilityAll
	case "any":
		e.availabilityMode = availabilityAny
	default:
		e.availabilityMode = availabilityLatest
	}
	if c, ok := e.str("device_class"); ok {
		e.deviceClass = intern(c)
	}
}

func (e *Entity) qos() byte { return e.qosLevel }

// intern returns the canonical copy of s, shared by every entity that
// holds an equal string.
func intern(s string) string { return unique.Make(s).Value() }

// parseTemplates parses the templates the component uses. One that is
// not a string or falls outside the hatemplate subset is marked broken:
// the properties that need it degrade (see degrade), the others work.
// Templates the component never renders are not looked at.
func (e *Entity) parseTemplates(keys ...string) error {
	for _, k := range keys {
		v, ok := e.cfg[k]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			e.markBroken(k, fmt.Errorf("must be a string"))
			continue
		}
		t, err := hatemplate.Parse(s)
		if err != nil {
			e.markBroken(k, err)
			continue
		}
		e.templates = append(e.templates, keyedTemplate{key: k, t: t})
	}
	return nil
}

// stateVars are the variables of an availability template: value and,
// when the payload is JSON, value_json. (State templates use State, which
// decodes once per message; availability payloads are not checked for
// being text, so they keep encoding/json's handling of invalid UTF-8.)
func stateVars(payload []byte) map[string]any {
	vars := map[string]any{"value": string(payload)}
	if v, err := decodeJSON(payload); err == nil && checkJSONDepth(payload, MaxJSONDepth) == nil {
		vars["value_json"] = v
	}
	return vars
}

// StateTopics returns the topics the entity's state arrives on, each once,
// in a stable order. Availability topics are separate (AvailabilityTopics).
func (e *Entity) StateTopics() []string {
	var out []string
	add := func(key string) {
		if t := e.topic(key); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if e.jsonDecode != nil {
		add(e.jsonTopicKey)
	}
	for _, f := range e.facets {
		add(f.topicKey)
	}
	return out
}

// Optimistic reports whether the entity reports no state of its own (no
// state topic) or is configured optimistic: the hub then takes a command
// as confirmed once it is published.
func Optimistic(e *Entity) bool {
	return e.optimistic || len(e.StateTopics()) == 0
}

// OnByBrightness reports whether the entity is a light that Home
// Assistant turns on by publishing a brightness (on_command_type
// "brightness"), never payload_on: a power-on then needs the brightness
// the device last reported, passed as brightness; without one, EncodeCommand
// uses full brightness, as Home Assistant does.
func OnByBrightness(e *Entity) bool { return e.onByBrightness }

// EncodeCommand turns a write of entity-local properties into publishes.
// Values are checked against the properties first (type, range, enum).
func EncodeCommand(e *Entity, props map[string]device.Value) ([]Publish, error) {
	if len(props) == 0 {
		return nil, errors.New("hadiscovery: nothing to write")
	}
	checked := make(map[string]device.Value, len(props))
	for name, v := range props {
		f, ok := e.facet(name)
		if !ok {
			return nil, &device.Error{Code: device.CodePropertyNotSupported, Property: name,
				Message: fmt.Sprintf("%s has no property %s", e.ConfigTopic, name)}
		}
		if !f.prop.Access.Writable() {
			return nil, &device.Error{Code: device.CodePropertyReadOnly, Property: name,
				Message: fmt.Sprintf("property %s of %s is read-only", name, e.ConfigTopic)}
		}
		cv, err := f.prop.Coerce(v)
		if err != nil {
			return nil, err
		}
		checked[name] = cv
	}
	if e.encodeAll != nil {
		return e.encodeAll(checked)
	}
	var out []Publish
	for _, name := range slices.Sorted(maps.Keys(checked)) {
		f, _ := e.facet(name)
		if f.encode == nil {
			return nil, fmt.Errorf("hadiscovery: %s: property %s cannot be written", e.ConfigTopic, name)
		}
		p, err := f.encode(checked[name])
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}

// command renders one publish: the value through the command template (as
// value, plus extra variables) or, without one, the value formatted as
// Home Assistant would.
func (e *Entity) command(topicKey, tplKey string, value any, extra map[string]any) ([]Publish, error) {
	if e.probe != nil {
		if tplKey != "" {
			*e.probe = append(*e.probe, tplKey)
		}
		return nil, nil
	}
	topic := e.topic(topicKey)
	if topic == "" {
		return nil, fmt.Errorf("hadiscovery: %s: no %s", e.ConfigTopic, topicKey)
	}
	if err, ok := e.isBroken(tplKey); ok {
		return nil, fmt.Errorf("hadiscovery: %s: %s: %w", e.ConfigTopic, tplKey, err)
	}
	var payload string
	if t := e.template(tplKey); t != nil {
		vars := map[string]any{"value": value}
		for k, v := range extra {
			vars[k] = v
		}
		s, err := t.Render(vars)
		if err != nil {
			return nil, fmt.Errorf("hadiscovery: %s: %s: %w", e.ConfigTopic, tplKey, err)
		}
		payload = s
	} else {
		payload = hatemplate.Str(value)
	}
	return []Publish{{Topic: topic, Payload: []byte(payload), Retain: e.retain, QoS: e.qos()}}, nil
}
