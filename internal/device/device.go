// Package device is the device model both sides of the agent speak: devices,
// categories, property descriptors, state values, validation of writes, and
// the profile's error codes. It does no I/O.
package device

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Device is one appliance as the hub knows it.
type Device struct {
	ID           string
	Name         string
	Category     Category
	Manufacturer string
	Model        string
	Room         string
	Online       bool
	Properties   []Property
	State        map[string]Value
	UpdatedAt    time.Time

	// Source names the local bus driver that owns the device (mqtt, wled,
	// shelly, ...). Binding is that driver's private addressing data, opaque
	// to everybody else. Neither goes on the wire.
	Source  string
	Binding json.RawMessage
}

// Property returns the descriptor of the named property.
func (d *Device) Property(name string) (Property, bool) {
	for _, p := range d.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// Clone returns a deep copy, so callers can hand devices out without sharing
// maps or slices with the registry.
func (d *Device) Clone() *Device {
	c := *d
	c.Properties = slices.Clone(d.Properties)
	for i := range c.Properties {
		c.Properties[i].Values = slices.Clone(c.Properties[i].Values)
	}
	c.State = maps.Clone(d.State)
	c.Binding = slices.Clone(d.Binding)
	return &c
}

// Validate checks that the device is well formed: an id, a known category,
// well formed and uniquely named properties.
func (d *Device) Validate() error {
	if d.ID == "" {
		return fmt.Errorf("device: missing id")
	}
	if len(d.ID) > 128 {
		return fmt.Errorf("device: id longer than 128 bytes")
	}
	if !d.Category.Valid() {
		return fmt.Errorf("device %s: unknown category %q", d.ID, d.Category)
	}
	// Most devices have a handful of properties: comparing with the ones
	// before is cheaper than a map, which every rebuild threw away.
	var seen map[string]bool
	if len(d.Properties) > 16 {
		seen = make(map[string]bool, len(d.Properties))
	}
	for i, p := range d.Properties {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("device %s: %w", d.ID, err)
		}
		dup := seen[p.Name]
		if seen == nil {
			dup = slices.ContainsFunc(d.Properties[:i], func(q Property) bool { return q.Name == p.Name })
		} else {
			seen[p.Name] = true
		}
		if dup {
			return fmt.Errorf("device %s: property %s listed twice", d.ID, p.Name)
		}
	}
	return nil
}

// CheckWrite validates a requested write of several properties and returns
// the values coerced to each property's type. The first failure is returned
// as an *Error carrying PROPERTY_NOT_SUPPORTED, PROPERTY_READ_ONLY or
// VALUE_OUT_OF_RANGE; properties are checked in name order so the answer is
// the same every time.
func (d *Device) CheckWrite(props map[string]Value) (map[string]Value, error) {
	if len(props) == 0 {
		return nil, &Error{Code: CodeValueOutOfRange, DeviceID: d.ID, Message: "no properties to set"}
	}
	out := make(map[string]Value, len(props))
	for _, name := range slices.Sorted(maps.Keys(props)) {
		p, ok := d.Property(name)
		if !ok {
			return nil, &Error{Code: CodePropertyNotSupported, DeviceID: d.ID, Property: name,
				Message: fmt.Sprintf("device %s has no property %s", d.ID, name)}
		}
		if !p.Access.Writable() {
			return nil, &Error{Code: CodePropertyReadOnly, DeviceID: d.ID, Property: name,
				Message: fmt.Sprintf("property %s of device %s is read-only", name, d.ID)}
		}
		v, err := p.Coerce(props[name])
		if err != nil {
			e := err.(*Error)
			e.DeviceID = d.ID
			return nil, e
		}
		out[name] = v
	}
	return out, nil
}

// wireDevice is the profile's JSON form of a device (§5.1).
type wireDevice struct {
	DeviceID     string           `json:"deviceId"`
	Name         string           `json:"name"`
	Category     Category         `json:"category"`
	Manufacturer string           `json:"manufacturer,omitempty"`
	Model        string           `json:"model,omitempty"`
	Room         string           `json:"room,omitempty"`
	Online       bool             `json:"online"`
	Properties   []Property       `json:"properties"`
	State        map[string]Value `json:"state"`
	UpdatedAt    int64            `json:"updatedAt"`
}

// MarshalJSON encodes the device exactly as the profile's Discover response
// does. Source and binding stay private.
func (d Device) MarshalJSON() ([]byte, error) {
	w := wireDevice{
		DeviceID: d.ID, Name: d.Name, Category: d.Category, Manufacturer: d.Manufacturer,
		Model: d.Model, Room: d.Room, Online: d.Online, Properties: d.Properties,
		State: d.State, UpdatedAt: d.UpdatedAt.UnixMilli(),
	}
	if w.Properties == nil {
		w.Properties = []Property{}
	}
	if w.State == nil {
		w.State = map[string]Value{}
	}
	if d.UpdatedAt.IsZero() {
		w.UpdatedAt = 0
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the profile's JSON form of a device.
func (d *Device) UnmarshalJSON(data []byte) error {
	var w wireDevice
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*d = Device{
		ID: w.DeviceID, Name: w.Name, Category: w.Category, Manufacturer: w.Manufacturer,
		Model: w.Model, Room: w.Room, Online: w.Online, Properties: w.Properties, State: w.State,
	}
	if w.UpdatedAt != 0 {
		d.UpdatedAt = time.UnixMilli(w.UpdatedAt)
	}
	return nil
}
