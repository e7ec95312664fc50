package hadiscovery

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/localbus/hatemplate"
)

// parseDeviceInfo reads the (expanded) device block. ok is false when the
// block names no identifiers and no connections: such an entity is a
// device of its own. Every entity of a device repeats the block, and
// manufacturers, models and versions repeat across devices, so the
// strings are interned.
func parseDeviceInfo(v any) (DeviceInfo, bool) {
	m, _ := v.(map[string]any)
	if m == nil {
		return DeviceInfo{}, false
	}
	s := func(k string) string {
		switch x := m[k].(type) {
		case string:
			return intern(x)
		case json.Number, bool:
			return intern(hatemplate.Str(x))
		}
		return ""
	}
	d := DeviceInfo{Name: s("name"), Manufacturer: s("manufacturer"), Model: s("model"), ModelID: s("model_id"),
		SWVersion: s("sw_version"), HWVersion: s("hw_version"), SuggestedArea: s("suggested_area"), ViaDevice: s("via_device")}
	switch ids := m["identifiers"].(type) {
	case string:
		d.Identifiers = []string{intern(ids)}
	case []any:
		for _, id := range ids {
			if s := hatemplate.Str(id); s != "" {
				d.Identifiers = append(d.Identifiers, intern(s))
			}
		}
	}
	if cns, ok := m["connections"].([]any); ok {
		for _, c := range cns {
			if pair, ok := c.([]any); ok && len(pair) == 2 {
				d.Connections = append(d.Connections, [2]string{intern(hatemplate.Str(pair[0])), intern(hatemplate.Str(pair[1]))})
			}
		}
	}
	return d, len(d.Identifiers) > 0 || len(d.Connections) > 0
}

// DeviceKey is the key entities are grouped by: the first device
// identifier, else the first connection as "type:value", else (no device)
// "unique_id:<id>" or "topic:<config topic>".
func DeviceKey(e *Entity) string {
	switch {
	case len(e.Device.Identifiers) > 0:
		return e.Device.Identifiers[0]
	case len(e.Device.Connections) > 0:
		c := e.Device.Connections[0]
		return strings.ToLower(c[0]) + ":" + strings.ToLower(c[1])
	case e.UniqueID != "":
		return "unique_id:" + e.UniqueID
	}
	return "topic:" + e.ConfigTopic
}

// DeviceID derives a stable device id from a key: "mqtt-" and the key when
// it is made of [A-Za-z0-9_.-] and short; otherwise the key with other
// characters replaced by "_", cut, and a hash of the whole key appended so
// that distinct keys keep distinct ids. At most 128 bytes.
func DeviceID(key string) string {
	const maxLen = 128
	var b strings.Builder
	b.WriteString("mqtt-")
	clean := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		if isAlnum(c) || c == '_' || c == '.' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
			clean = false
		}
	}
	id := b.String()
	if clean && len(id) <= maxLen {
		return id
	}
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + hex.EncodeToString(sum[:6])
	if len(id) > maxLen-len(suffix) {
		id = id[:maxLen-len(suffix)]
	}
	return id + suffix
}

// rank orders components for choosing a device's main entity; lower wins.
func rank(component string) int {
	order := []string{"climate", "alarm_control_panel", "light", "fan", "cover", "valve", "lock", "switch", "siren",
		"humidifier", "water_heater", "vacuum", "camera", "sensor", "binary_sensor", "device_tracker", "number", "select",
		"text", "update", "scene", "button", "event", "device_automation", "tag"}
	if i := slices.Index(order, component); i >= 0 {
		return i
	}
	return len(order)
}

func category(main *Entity) device.Category {
	switch main.Component {
	case "climate":
		if p, ok := main.facet("mode"); ok && slices.Contains(p.prop.Values, "cool") {
			return device.CategoryAirConditioner
		}
		return device.CategoryThermostat
	case "light":
		return device.CategoryLight
	case "fan":
		return device.CategoryFan
	case "cover":
		return device.CategoryCurtain
	case "lock":
		return device.CategoryLock
	case "switch":
		return device.CategorySwitch
	case "humidifier":
		if main.deviceClass == "dehumidifier" {
			return device.CategoryDehumidifier
		}
		return device.CategoryHumidifier
	case "water_heater":
		return device.CategoryWaterHeater
	case "vacuum":
		return device.CategoryRobotVacuum
	case "sensor", "binary_sensor", "device_tracker":
		return device.CategorySensor
	case "alarm_control_panel":
		return device.CategoryAlarmPanel
	case "valve":
		return device.CategoryValve
	case "siren":
		return device.CategorySiren
	case "camera":
		return device.CategoryCamera
	case "scene":
		return device.CategoryScene
	case "button", "event", "device_automation", "tag":
		return device.CategoryRemote
	}
	return device.CategoryOther
}

// Binding is what BuildDevice stores in device.Device.Binding: for each
// entity of the device, its config topic and the map from device property
// names to the entity's own property names (they differ when two entities
// provide the same standard name and one was suffixed).
type Binding struct {
	Entities []BoundEntity `json:"entities"`
	// byTopic indexes Entities by config topic (made by ParseBinding for
	// devices of more than bindingIndexMin entities): the state path looks
	// an entity up per message, and a device may have hundreds. Below that
	// a scan is as quick, and the map (~250 bytes even for one entry) would
	// be a tenth of what a typical one-entity device keeps.
	byTopic map[string]int
}

// bindingIndexMin is the entity count from which a Binding is indexed.
const bindingIndexMin = 8

// BoundEntity is one entity of a Binding.
type BoundEntity struct {
	ConfigTopic string  `json:"configTopic"`
	Props       PropMap `json:"props"` // device property → entity property
}

// ParseBinding decodes a device's Binding.
func ParseBinding(raw []byte) (*Binding, error) {
	var b Binding
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("hadiscovery: binding: %w", err)
	}
	b.index()
	return &b, nil
}

// index makes byTopic for a device of more than bindingIndexMin entities.
func (b *Binding) index() {
	if len(b.Entities) <= bindingIndexMin {
		return
	}
	b.byTopic = make(map[string]int, len(b.Entities))
	for i, be := range b.Entities {
		if _, dup := b.byTopic[be.ConfigTopic]; dup {
			b.byTopic = nil // not made by BuildDevice: scan instead
			break
		}
		b.byTopic[be.ConfigTopic] = i
	}
}

// ToDevice renames an entity's decoded state to device property names.
func (b *Binding) ToDevice(configTopic string, state map[string]device.Value) map[string]device.Value {
	out := make(map[string]device.Value, len(state))
	b.ToDeviceInto(configTopic, state, out)
	return out
}

// ToDeviceInto is ToDevice adding to out (which it does not clear), so the
// ingest path can reuse one map per worker.
func (b *Binding) ToDeviceInto(configTopic string, state, out map[string]device.Value) {
	ents := b.Entities
	if b.byTopic != nil {
		i, ok := b.byTopic[configTopic]
		if !ok {
			return
		}
		ents = ents[i : i+1]
	}
	for _, be := range ents {
		if be.ConfigTopic != configTopic {
			continue
		}
		for devName, local := range be.Props.All() {
			if v, ok := state[local]; ok {
				out[devName] = v
			}
		}
	}
}

// Split divides a device write by entity: config topic → entity-local
// property values, ready for EncodeCommand. A property no entity provides
// is an error.
func (b *Binding) Split(props map[string]device.Value) (map[string]map[string]device.Value, error) {
	out := map[string]map[string]device.Value{}
	for name, v := range props {
		found := false
		for _, be := range b.Entities {
			if local, ok := be.Props.Local(name); ok {
				if out[be.ConfigTopic] == nil {
					out[be.ConfigTopic] = map[string]device.Value{}
				}
				out[be.ConfigTopic][local] = v
				found = true
				break
			}
		}
		if !found {
			return nil, &device.Error{Code: device.CodePropertyNotSupported, Property: name,
				Message: fmt.Sprintf("no entity provides property %s", name)}
		}
	}
	return out, nil
}

// BuildDevice builds the device of a group of entities sharing one
// DeviceKey. The main entity (climate > light > fan > cover > lock >
// switch > humidifier > water_heater > vacuum > sensors) gives the
// category and, with no device name, the name. Properties keep the
// standard names; when two entities provide the same name, the first in
// rank then config-topic order keeps it and the others get "_<object id>"
// appended. The mapping goes into the device's Binding (see Binding).
// Source is "mqtt"; Online and State are left for the caller.
func BuildDevice(entities []*Entity) (*device.Device, error) {
	d, _, err := buildDevice(entities, true)
	return d, err
}

// CheckDevice reports whether BuildDevice would build the entities'
// device, without making its Binding: discovery checks every config on
// its own as it arrives, and the check is garbage at once.
func CheckDevice(entities []*Entity) error {
	_, _, err := buildDevice(entities, false)
	return err
}

// BuildDeviceBinding is BuildDevice also returning the device's Binding
// as ParseBinding would decode it from the device, but sharing its
// strings with the entities instead of holding copies of them.
func BuildDeviceBinding(entities []*Entity) (*device.Device, *Binding, error) {
	return buildDevice(entities, true)
}

// usedNamesMin is the property count from which buildDevice keeps the
// names taken in a map; below it, scanning the properties is cheaper.
const usedNamesMin = 32

func buildDevice(entities []*Entity, withBinding bool) (*device.Device, *Binding, error) {
	if len(entities) == 0 {
		return nil, nil, errors.New("hadiscovery: no entities")
	}
	ents := slices.Clone(entities)
	slices.SortStableFunc(ents, func(a, b *Entity) int {
		if r := rank(a.Component) - rank(b.Component); r != 0 {
			return r
		}
		return strings.Compare(a.ConfigTopic, b.ConfigTopic)
	})
	main := ents[0]
	key := DeviceKey(main)
	for _, e := range ents[1:] {
		if DeviceKey(e) != key {
			return nil, nil, fmt.Errorf("hadiscovery: entities of different devices (%q, %q)", key, DeviceKey(e))
		}
	}
	d := &device.Device{
		ID: DeviceID(key), Category: category(main), Source: "mqtt",
		Manufacturer: main.Device.Manufacturer, Model: main.Device.Model, Room: main.Device.SuggestedArea,
		Name: main.Device.Name,
	}
	if d.Model == "" {
		d.Model = main.Device.ModelID
	}
	if d.Name == "" {
		d.Name = main.Name
	}
	if d.Name == "" {
		d.Name = main.ObjectID
	}
	n := 0
	for _, e := range ents {
		n += len(e.facets)
	}
	d.Properties = make([]device.Property, 0, n)
	var usedMap map[string]bool
	if n >= usedNamesMin {
		usedMap = make(map[string]bool, n)
	}
	used := func(name string) bool {
		if usedMap != nil {
			return usedMap[name]
		}
		return slices.ContainsFunc(d.Properties, func(p device.Property) bool { return p.Name == name })
	}
	var bind Binding
	if withBinding {
		bind.Entities = make([]BoundEntity, 0, len(ents))
	}
	for _, e := range ents {
		be := BoundEntity{ConfigTopic: e.ConfigTopic}
		for _, f := range e.facets {
			p := f.prop
			name := p.Name
			if used(name) {
				name = p.Name + "_" + e.ObjectID
				for i := 2; used(name); i++ {
					name = fmt.Sprintf("%s_%s_%d", p.Name, e.ObjectID, i)
				}
			}
			if usedMap != nil {
				usedMap[name] = true
			}
			if withBinding {
				be.Props.Set(name, p.Name)
			}
			p.Name = name
			d.Properties = append(d.Properties, p)
		}
		if withBinding {
			bind.Entities = append(bind.Entities, be)
		}
	}
	if err := d.Validate(); err != nil {
		return nil, nil, fmt.Errorf("hadiscovery: %w", err)
	}
	if !withBinding {
		return d, nil, nil
	}
	raw, err := json.Marshal(bind)
	if err != nil {
		return nil, nil, fmt.Errorf("hadiscovery: binding: %w", err)
	}
	d.Binding = raw
	bind.index()
	return d, &bind, nil
}
