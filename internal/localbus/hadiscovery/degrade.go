package hadiscovery

import (
	"fmt"
	"slices"

	"github.com/hubagent/hubagent/internal/device"
)

// Degradation is per property: a template (or field) the agent cannot
// handle costs only the properties that need it. The entity keeps the
// rest and records a warning naming the component, the config key and
// the construct; `hubagent discovered --errors` lists it.

// brokenField is a config key whose value the agent cannot use, and why.
type brokenField struct {
	key string
	err error
}

// markBroken records that a config key cannot be used.
func (e *Entity) markBroken(key string, err error) {
	e.broken = append(e.broken, brokenField{key: key, err: err})
}

func (e *Entity) isBroken(key string) (error, bool) {
	for _, b := range e.broken {
		if b.key == key {
			return b.err, true
		}
	}
	return nil, false
}

func (e *Entity) warnf(format string, args ...any) {
	e.Warnings = append(e.Warnings, fmt.Sprintf(format, args...))
}

// probeValues are writes that exercise a property's encoder: each bool,
// the range ends, every enum value.
func probeValues(p device.Property) []device.Value {
	switch p.Type {
	case device.TypeBool:
		return []device.Value{device.Bool(true), device.Bool(false)}
	case device.TypeInt, device.TypeFloat:
		lo, hi := 0.0, 0.0
		if p.Min != nil {
			lo = *p.Min
		}
		if p.Max != nil {
			hi = *p.Max
		}
		if p.Type == device.TypeInt {
			return []device.Value{device.Int(int64(lo)), device.Int(int64(hi))}
		}
		return []device.Value{device.Float(lo), device.Float(hi)}
	case device.TypeEnum:
		out := make([]device.Value, 0, len(p.Values))
		for _, v := range p.Values {
			out = append(out, device.String(v))
		}
		return out
	}
	return []device.Value{device.String("x")}
}

// writeTemplates returns the config keys of the templates that writing
// the property renders, found by encoding probe values with the
// template-using path recording instead of rendering.
func (e *Entity) writeTemplates(f *facet) []string {
	e.probe = &[]string{}
	defer func() { e.probe = nil }()
	for _, v := range probeValues(f.prop) {
		if e.encodeAll != nil {
			_, _ = e.encodeAll(map[string]device.Value{f.prop.Name: v})
		} else if f.encode != nil {
			_, _ = f.encode(v)
		}
	}
	return *e.probe
}

// degrade drops what depends on broken fields: a property whose state
// template is unusable loses its read side (write-only if it can still be
// written, else dropped); one whose command template is unusable loses its
// write side. Each loss is a warning.
func (e *Entity) degrade() {
	if len(e.broken) == 0 {
		return
	}
	kept := e.facets[:0]
	for i := range e.facets {
		f := e.facets[i]
		readErr, readBroken := e.isBroken(f.tplKey)
		readBroken = readBroken && f.tplKey != "" && f.topicKey != ""
		var writeErr error
		writeBroken := false
		if f.prop.Access.Writable() {
			for _, k := range e.writeTemplates(&f) {
				if err, ok := e.isBroken(k); ok {
					writeErr, writeBroken = fmt.Errorf("%s: %w", k, err), true
					break
				}
			}
		}
		switch {
		case readBroken && (writeBroken || !f.prop.Access.Writable()):
			e.warnf("%s: property %s dropped: %s: %v", e.Component, f.prop.Name, f.tplKey, readErr)
			continue
		case readBroken:
			e.warnf("%s: property %s is write-only: %s: %v", e.Component, f.prop.Name, f.tplKey, readErr)
			f.topicKey, f.tplKey, f.decode = "", "", nil
			f.prop.Access = device.AccessWrite
		case writeBroken && f.prop.Access.Readable() && f.topicKey != "":
			e.warnf("%s: property %s is read-only: %v", e.Component, f.prop.Name, writeErr)
			f.encode = nil
			f.prop.Access = device.AccessRead
		case writeBroken:
			e.warnf("%s: property %s dropped: %v", e.Component, f.prop.Name, writeErr)
			continue
		}
		kept = append(kept, f)
	}
	e.facets = kept
	// Templates of no remaining use are reported even when they cost no
	// property (say a template of a topic the entity does not read).
	for _, b := range e.broken {
		if !slices.ContainsFunc(e.Warnings, func(w string) bool { return containsKey(w, b.key) }) {
			e.warnf("%s: %s ignored: %v", e.Component, b.key, b.err)
		}
	}
}

func containsKey(w, key string) bool {
	for i := 0; i+len(key) <= len(w); i++ {
		if w[i:i+len(key)] == key && (i+len(key) == len(w) || w[i+len(key)] == ':' || w[i+len(key)] == ' ') {
			return true
		}
	}
	return false
}
