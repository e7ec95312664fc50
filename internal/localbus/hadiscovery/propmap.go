package hadiscovery

import (
	"bytes"
	"encoding/json"
	"iter"
	"slices"
	"strings"
)

// PropMap maps a device's property names to one entity's own names (see
// Binding). It is kept as name pairs, sorted by device name: an entity
// provides a handful, and every device keeps its binding for its life,
// where a Go map of two or three entries costs ~270 bytes. In JSON it is
// an object, byte for byte what a map[string]string encodes to.
type PropMap struct {
	pairs []propPair
}

type propPair struct{ dev, local string }

// Len is the number of properties.
func (m PropMap) Len() int { return len(m.pairs) }

// Local returns the entity's name for device property dev.
func (m PropMap) Local(dev string) (string, bool) {
	i, ok := slices.BinarySearchFunc(m.pairs, dev, func(p propPair, dev string) int { return strings.Compare(p.dev, dev) })
	if !ok {
		return "", false
	}
	return m.pairs[i].local, true
}

// All yields (device name, entity name) in device-name order.
func (m PropMap) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, p := range m.pairs {
			if !yield(p.dev, p.local) {
				return
			}
		}
	}
}

// Set maps device property dev to the entity's name local.
func (m *PropMap) Set(dev, local string) {
	if dev == local {
		local = dev // one string for both, as most entities keep their names
	}
	i, ok := slices.BinarySearchFunc(m.pairs, dev, func(p propPair, dev string) int { return strings.Compare(p.dev, dev) })
	if ok {
		m.pairs[i].local = local
		return
	}
	m.pairs = slices.Insert(m.pairs, i, propPair{dev, local})
}

// MarshalJSON writes the object a map[string]string would: keys sorted.
func (m PropMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range m.pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.dev)
		v, _ := json.Marshal(p.local)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object of strings (a repeated key: the last wins,
// as for a map).
func (m *PropMap) UnmarshalJSON(data []byte) error {
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	m.pairs = make([]propPair, 0, len(raw))
	for dev, local := range raw {
		m.Set(dev, local)
	}
	return nil
}
