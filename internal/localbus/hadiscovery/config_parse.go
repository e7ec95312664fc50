package hadiscovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on discovery input.
const (
	// MaxConfigLen is the largest config payload accepted.
	MaxConfigLen = 64 << 10
	// MaxJSONDepth is the deepest JSON nesting accepted in a config.
	MaxJSONDepth = 32
	// MaxStateLen is the largest state or availability payload decoded.
	MaxStateLen = 256 << 10
	maxTopicLen = 1024
)

// ErrRemoved is returned by ParseConfig for an empty payload: the publisher
// removed the entity (Home Assistant's convention for retained configs).
var ErrRemoved = errors.New("hadiscovery: entity removed")

// components lists the supported components and their required keys.
func requiredKeys(component string) ([]string, bool) {
	switch component {
	case "light", "lock", "fan", "button", "number":
		return []string{"command_topic"}, true
	case "switch", "cover", "climate", "water_heater", "vacuum":
		return nil, true
	case "humidifier":
		return []string{"command_topic", "target_humidity_command_topic"}, true
	case "sensor", "binary_sensor":
		return []string{"state_topic"}, true
	case "select":
		return []string{"command_topic", "options"}, true
	case "alarm_control_panel":
		return []string{"state_topic", "command_topic"}, true
	case "valve", "siren", "update", "device_tracker":
		return nil, true
	case "scene", "text":
		return []string{"command_topic"}, true
	case "event":
		return []string{"state_topic", "event_types"}, true
	case "device_automation":
		return []string{"topic", "type", "subtype"}, true
	case "tag", "camera":
		return []string{"topic"}, true
	}
	return nil, false
}

// ParseConfig parses one retained discovery message published on
// <prefix>/<component>/[<node_id>/]<object_id>/config. An empty payload
// returns (nil, ErrRemoved). Abbreviations and the "~" base topic are
// expanded, topics and templates are checked, and the entity's properties
// are worked out; any problem refuses the whole entity with the reason.
func ParseConfig(topic string, payload []byte) (*Entity, error) {
	component, nodeID, objectID, err := parseConfigTopic(topic)
	if err != nil {
		return nil, err
	}
	if len(payload) == 0 {
		return nil, ErrRemoved
	}
	obj, err := decodeConfigObject(payload)
	if err != nil {
		return nil, fmt.Errorf("hadiscovery: %s: %w", topic, err)
	}
	return parseEntity(topic, component, nodeID, objectID, expandConfigOwned(obj))
}

// decodeConfigObject checks a discovery payload's size, encoding and depth
// and decodes it as a JSON object: the same gate for per-entity and
// device-based configs.
func decodeConfigObject(payload []byte) (map[string]any, error) {
	if len(payload) > MaxConfigLen {
		return nil, fmt.Errorf("config of %d bytes exceeds %d", len(payload), MaxConfigLen)
	}
	if !utf8.Valid(payload) {
		return nil, errors.New("config is not valid UTF-8")
	}
	if err := checkJSONDepth(payload, MaxJSONDepth); err != nil {
		return nil, err
	}
	raw, err := decodeJSON(payload)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, errors.New("config is not a JSON object")
	}
	return obj, nil
}

// parseEntity builds an entity from an expanded config: the part of
// ParseConfig shared with device-based discovery, whose components arrive
// inside one device config.
func parseEntity(topic, component, nodeID, objectID string, cfg map[string]any) (*Entity, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("hadiscovery: %s: %s", topic, fmt.Sprintf(format, args...))
	}
	if err := applyBaseTopic(cfg); err != nil {
		return nil, fail("%v", err)
	}
	if err := checkTopics(cfg); err != nil {
		return nil, fail("%v", err)
	}
	required, _ := requiredKeys(component)
	if component == "light" && cfg["schema"] == "template" {
		required = []string{"command_topic", "command_on_template", "command_off_template"}
	}
	for _, k := range required {
		if v, ok := cfg[k]; !ok || v == nil || v == "" {
			return nil, fail("%s requires %s", component, k)
		}
	}
	e := &Entity{
		Component:   component,
		NodeID:      nodeID,
		ObjectID:    objectID,
		ConfigTopic: topic,
		cfg:         cfg,
	}
	e.UniqueID, _ = e.str("unique_id")
	e.Name, _ = e.str("name")
	e.Device, e.HasDevice = parseDeviceInfo(cfg["device"])
	e.keepSettings()
	if err := e.parseAvailability(); err != nil {
		return nil, fail("%v", err)
	}
	if err := e.build(); err != nil {
		return nil, fail("%s: %v", component, err)
	}
	if len(e.facets) == 0 && (e.encodeAll == nil || len(e.broken) > 0) {
		if len(e.Warnings) > 0 {
			return nil, fail("%s has nothing left to read or control: %s", component, strings.Join(e.Warnings, "; "))
		}
		return nil, fail("%s has nothing to read or control", component)
	}
	e.cfg = nil // everything read later was copied out (keepSettings) or captured by the build
	if cap(e.facets) > len(e.facets) {
		e.facets = slices.Clone(e.facets) // append's spare capacity would live as long as the entity
	}
	return e, nil
}

// parseConfigTopic splits a discovery topic. The prefix may itself contain
// slashes, so the topic is read from its end.
func parseConfigTopic(topic string) (component, nodeID, objectID string, err error) {
	parts := strings.Split(topic, "/")
	n := len(parts)
	if n < 4 || parts[n-1] != "config" {
		return "", "", "", fmt.Errorf("hadiscovery: %q is not a discovery config topic", topic)
	}
	objectID = parts[n-2]
	if _, ok := requiredKeys(parts[n-3]); ok {
		component = parts[n-3]
	} else if n >= 5 {
		if _, ok := requiredKeys(parts[n-4]); ok {
			component, nodeID = parts[n-4], parts[n-3]
		}
	}
	if component == "" {
		// Name the segment that is the component: with a node id level
		// (<prefix>/<component>/<node>/<object>/config) it is the fourth
		// from the end, unless that is the prefix's last level. Without
		// knowing the prefix, a known component name two levels up, or a
		// three-level prefix-less topic, settle it; else prefer the
		// node-id reading when the third-from-end looks like a node id
		// (Zigbee2MQTT's 0x..., long hex or containing digits).
		name := parts[n-3]
		if n >= 5 && looksLikeNodeID(parts[n-3]) {
			name = parts[n-4]
		}
		return "", "", "", fmt.Errorf("hadiscovery: %s: unsupported component %q", topic, name)
	}
	if !validID(objectID) || (nodeID != "" && !validID(nodeID)) {
		return "", "", "", fmt.Errorf("hadiscovery: %s: node and object ids must be [A-Za-z0-9_-]", topic)
	}
	return component, nodeID, objectID, nil
}

func validID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || isAlnum(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// checkJSONDepth refuses nesting deeper than max before decoding, so a
// hostile payload cannot make the decoder recurse deeply.
func checkJSONDepth(b []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return fmt.Errorf("JSON nested deeper than %d", max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// decodeJSON decodes one JSON value with numbers kept exact, refusing
// trailing data.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	// Only whitespace may follow: json.Decoder.More alone would accept a
	// closing bracket ({"a":1}]]]).
	for _, c := range b[d.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return nil, errors.New("trailing data after the JSON value")
		}
	}
	return v, nil
}

// expandConfig expands abbreviations at the top level and in the device,
// origin and availability blocks. A full key wins over its abbreviation.
func expandConfig(obj map[string]any) map[string]any {
	cfg := make(map[string]any, len(obj))
	for k, v := range obj {
		full := expandKey(k)
		if _, dup := obj[full]; dup && full != k {
			continue
		}
		cfg[full] = v
	}
	if d, ok := cfg["device"].(map[string]any); ok {
		cfg["device"] = expandMap(d, expandDeviceKey)
	}
	if o, ok := cfg["origin"].(map[string]any); ok {
		cfg["origin"] = expandMap(o, expandOriginKey)
	}
	if list, ok := cfg["availability"].([]any); ok {
		out := make([]any, len(list))
		for i, item := range list {
			if m, ok := item.(map[string]any); ok {
				out[i] = expandMap(m, expandAvailabilityKey)
			} else {
				out[i] = item
			}
		}
		cfg["availability"] = out
	}
	return cfg
}

// expandConfigOwned is expandConfig for a config decoded for one entity
// alone (ParseConfig): it expands in place instead of copying every map,
// garbage made for each of the thousand configs a household's broker
// replays at start. Device-based discovery shares its maps between
// components and copies (expandConfig).
func expandConfigOwned(obj map[string]any) map[string]any {
	expandInPlace(obj, expandKey)
	if d, ok := obj["device"].(map[string]any); ok {
		expandInPlace(d, expandDeviceKey)
	}
	if o, ok := obj["origin"].(map[string]any); ok {
		expandInPlace(o, expandOriginKey)
	}
	if list, ok := obj["availability"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				expandInPlace(m, expandAvailabilityKey)
			}
		}
	}
	return obj
}

// expandInPlace is expandMap on m itself. Full names are never
// abbreviations, so a key put in is not expanded again; of two
// abbreviations of one absent key, one wins, as with expandMap.
func expandInPlace(m map[string]any, expand func(string) string) {
	var buf [32]string
	abbr := buf[:0]
	for k := range m {
		if expand(k) != k {
			abbr = append(abbr, k)
		}
	}
	for _, k := range abbr {
		v := m[k]
		delete(m, k)
		if full := expand(k); !hasKey(m, full) {
			m[full] = v
		}
	}
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func expandMap(m map[string]any, expand func(string) string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		full := expand(k)
		if _, dup := m[full]; dup && full != k {
			continue
		}
		out[full] = v
	}
	return out
}

// isTopicKey reports whether a config key names an MQTT topic.
// "topic" is the one topic of device triggers, tags and cameras.
func isTopicKey(k string) bool { return k == "topic" || strings.HasSuffix(k, "_topic") }

// applyBaseTopic replaces a leading or trailing "~" in every topic with the
// "~" value, as Home Assistant does.
func applyBaseTopic(cfg map[string]any) error {
	base, ok := cfg["~"]
	if !ok {
		return nil
	}
	b, ok := base.(string)
	if !ok {
		return errors.New(`"~" must be a string`)
	}
	expand := func(s string) string {
		switch {
		case strings.HasPrefix(s, "~"):
			return b + s[1:]
		case strings.HasSuffix(s, "~"):
			return s[:len(s)-1] + b
		}
		return s
	}
	for k, v := range cfg {
		if s, ok := v.(string); ok && isTopicKey(k) {
			cfg[k] = expand(s)
		}
	}
	if list, ok := cfg["availability"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				if s, ok := m["topic"].(string); ok {
					m["topic"] = expand(s)
				}
			}
		}
	}
	return nil
}

// checkTopics refuses topics that are not strings, are empty, too long, or
// contain MQTT wildcards: every topic here is published to or subscribed
// to exactly.
func checkTopics(cfg map[string]any) error {
	check := func(k string, v any) error {
		if v == nil {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s must be a string", k)
		}
		switch {
		case s == "":
			return fmt.Errorf("%s is empty", k)
		case len(s) > maxTopicLen:
			return fmt.Errorf("%s longer than %d bytes", k, maxTopicLen)
		case strings.ContainsAny(s, "+#\x00"):
			return fmt.Errorf("%s %q contains a wildcard or NUL", k, s)
		}
		return nil
	}
	for k, v := range cfg {
		if isTopicKey(k) {
			if err := check(k, v); err != nil {
				return err
			}
		}
	}
	if av, ok := cfg["availability"]; ok && av != nil {
		list, ok := av.([]any)
		if !ok {
			return errors.New("availability must be a list")
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return fmt.Errorf("availability[%d] must be an object", i)
			}
			if m["topic"] == nil {
				return fmt.Errorf("availability[%d] has no topic", i)
			}
			if err := check(fmt.Sprintf("availability[%d].topic", i), m["topic"]); err != nil {
				return err
			}
		}
	}
	return nil
}

// looksLikeNodeID reports whether a topic level reads as a node id rather
// than a component name: component names are lower-case words with
// underscores, node ids carry digits or upper case (0x0017880104e45520,
// ESP_3C71BF, shellyplus1-a8032ab1).
func looksLikeNodeID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z') && c != '_' {
			return true
		}
	}
	return false
}
