package hadiscovery

import (
	"fmt"
	"slices"
	"strings"
)

// MaxDeviceComponents bounds the components of one device-based discovery
// config (the 64 KiB config bound already limits them; this keeps a
// flood of tiny components from costing a device rebuild each).
const MaxDeviceComponents = 256

// DeviceComponent is one entry of a device config's "cmps" (components).
type DeviceComponent struct {
	ID          string // its key under cmps
	Platform    string // the component: sensor, light, ...
	ConfigTopic string // "<device config topic>#<ID>": the entity's identity
	Entity      *Entity
	// Removed: the entry names only its platform, Home Assistant's way of
	// removing one component from a device config.
	Removed bool
	Err     error // the component was refused (Entity is nil)
}

// IsDeviceConfigTopic reports whether topic is
// <prefix>/device/<object_id>/config, Home Assistant's device-based
// discovery (2024.11+).
func IsDeviceConfigTopic(topic string) bool {
	parts := strings.Split(topic, "/")
	n := len(parts)
	return n >= 4 && parts[n-1] == "config" && parts[n-3] == "device"
}

// ParseDeviceConfig parses a device-based discovery message: one config
// whose "cmps" (components) map holds the entities of one device. Every
// other top-level key (device, origin, state_topic, command_topic,
// availability, qos, "~", ...) is shared by the components, a component's
// own key winning. Each component is parsed as a per-entity config would be
// and refused or degraded on its own; the whole config is refused only when
// it is not a valid device config. An empty payload returns ErrRemoved (the
// whole device is removed).
func ParseDeviceConfig(topic string, payload []byte) ([]DeviceComponent, error) {
	if !IsDeviceConfigTopic(topic) {
		return nil, fmt.Errorf("hadiscovery: %q is not a device discovery topic", topic)
	}
	parts := strings.Split(topic, "/")
	objectID := parts[len(parts)-2]
	if !validID(objectID) {
		return nil, fmt.Errorf("hadiscovery: %s: object id must be [A-Za-z0-9_-]", topic)
	}
	if len(payload) == 0 {
		return nil, ErrRemoved
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("hadiscovery: %s: device: %s", topic, fmt.Sprintf(format, args...))
	}
	obj, err := decodeConfigObject(payload)
	if err != nil {
		return nil, fail("%v", err)
	}
	cmpsKey := "components"
	if _, ok := obj[cmpsKey]; !ok {
		cmpsKey = "cmps"
	}
	cmps, ok := obj[cmpsKey].(map[string]any)
	if !ok {
		return nil, fail("cmps (components) must be an object")
	}
	if len(cmps) > MaxDeviceComponents {
		return nil, fail("%d components exceed %d", len(cmps), MaxDeviceComponents)
	}
	// The components are one device only if the device block names it.
	if _, ok := parseDeviceInfo(expandConfig(obj)["device"]); !ok {
		return nil, fail("a device config needs a device block (dev) with identifiers or connections")
	}
	ids := make([]string, 0, len(cmps))
	for id := range cmps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]DeviceComponent, 0, len(ids))
	for _, id := range ids {
		c := DeviceComponent{ID: id, ConfigTopic: topic + "#" + id}
		c.Entity, c.Platform, c.Removed, c.Err = parseComponent(c.ConfigTopic, objectID, id, obj, cmps[id], cmpsKey)
		out = append(out, c)
	}
	return out, nil
}

// parseComponent merges one component with the shared keys and parses it.
func parseComponent(ctopic, objectID, id string, shared map[string]any, v any, cmpsKey string) (*Entity, string, bool, error) {
	comp, ok := v.(map[string]any)
	if !ok {
		return nil, "", false, fmt.Errorf("hadiscovery: %s: component must be an object", ctopic)
	}
	platform, _ := comp["p"].(string)
	if p, ok := comp["platform"].(string); ok {
		platform = p
	}
	if platform == "" {
		return nil, "", false, fmt.Errorf("hadiscovery: %s: component has no platform (p)", ctopic)
	}
	if len(comp) == 1 {
		return nil, platform, true, nil
	}
	if _, ok := requiredKeys(platform); !ok {
		return nil, platform, false, fmt.Errorf("hadiscovery: %s: unsupported component %q", ctopic, platform)
	}
	if !validID(id) {
		return nil, platform, false, fmt.Errorf("hadiscovery: %s: component id must be [A-Za-z0-9_-]", ctopic)
	}
	// Expanded afresh for each component: expansion builds new maps, so
	// "~" and availability are applied to this component's copy only.
	cfg := expandConfig(shared)
	delete(cfg, "components")
	delete(cfg, cmpsKey)
	own := expandConfig(comp)
	delete(own, "p")
	delete(own, "platform")
	delete(own, "device") // the device is the config's, not a component's
	for k, x := range own {
		cfg[k] = x
	}
	e, err := parseEntity(ctopic, platform, objectID, id, cfg)
	return e, platform, false, err
}
