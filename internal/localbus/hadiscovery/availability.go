package hadiscovery

import (
	"github.com/hubagent/hubagent/internal/localbus/hatemplate"
)

// AvailabilityTopic is one topic that says whether the entity is online.
type AvailabilityTopic struct {
	Topic               string
	PayloadAvailable    string // default "online"
	PayloadNotAvailable string // default "offline"
	template            *hatemplate.Template
}

// AvailabilityTopics returns the entity's availability topics: the
// availability list, else availability_topic with the entity-level
// payloads and availability_template. Empty means always available.
func (e *Entity) AvailabilityTopics() []AvailabilityTopic {
	return e.availability
}

// AvailabilityMode is availability_mode: "latest" (default), "all" or "any".
func (e *Entity) AvailabilityMode() string {
	switch e.availabilityMode {
	case availabilityAll:
		return "all"
	case availabilityAny:
		return "any"
	}
	return "latest"
}

// availabilityMode is availability_mode in a byte (the zero value is
// "latest", the default).
type availabilityMode uint8

const (
	availabilityLatest availabilityMode = iota
	availabilityAll
	availabilityAny
)

// parseAvailability reads availability settings at config time.
func (e *Entity) parseAvailability() error {
	// Availability topics and payloads are usually one bridge's, shared by
	// every entity it publishes: interned, they are kept once.
	plOn, plOff := intern(e.strDef("payload_available", "online")), intern(e.strDef("payload_not_available", "offline"))
	if list, ok := e.cfg["availability"].([]any); ok {
		n := len(list)
		if e.topic("availability_topic") != "" {
			n++
		}
		e.availability = make([]AvailabilityTopic, 0, n)
		for i, item := range list {
			m := item.(map[string]any) // checkTopics made sure
			t := AvailabilityTopic{Topic: intern(m["topic"].(string)), PayloadAvailable: plOn, PayloadNotAvailable: plOff}
			sub := &Entity{cfg: m}
			t.PayloadAvailable = intern(sub.strDef("payload_available", "online"))
			t.PayloadNotAvailable = intern(sub.strDef("payload_not_available", "offline"))
			if s, ok := m["value_template"].(string); ok {
				tpl, err := hatemplate.Parse(s)
				if err != nil {
					// Degrade: this topic no longer decides availability.
					e.warnf("%s: availability[%d].value_template ignored, with its topic: %v", e.Component, i, err)
					continue
				}
				t.template = tpl
			}
			e.availability = append(e.availability, t)
		}
	}
	if topic := e.topic("availability_topic"); topic != "" {
		t := AvailabilityTopic{Topic: topic, PayloadAvailable: plOn, PayloadNotAvailable: plOff}
		if s, ok := e.cfg["availability_template"].(string); ok {
			tpl, err := hatemplate.Parse(s)
			if err != nil {
				e.warnf("%s: availability_template ignored, with availability_topic: %v", e.Component, err)
				return nil
			}
			t.template = tpl
		}
		e.availability = append(e.availability, t)
	}
	return nil
}

// Availability evaluates one entity's availability from the messages on
// its availability topics, as Home Assistant does: with no topics the
// entity is always online; otherwise it is offline until told otherwise,
// and availability_mode decides between several topics. Not safe for
// concurrent use; the caller serialises messages per entity.
type Availability struct {
	topics []AvailabilityTopic
	mode   string
	state  map[string]bool // per topic: last known availability ("all" and "any" only)
	latest bool
	heard  bool // a message has said available or not
}

// NewAvailability returns the evaluator for e.
func NewAvailability(e *Entity) *Availability {
	return &Availability{topics: e.AvailabilityTopics(), mode: e.AvailabilityMode()}
}

// set records a topic's availability. The per-topic map is made only for
// the modes that read it: most entities are "latest", and an empty map per
// entity was a tenth of what a one-entity device kept.
func (a *Availability) set(topic string, up bool) {
	a.latest, a.heard = up, true
	if a.mode != "all" && a.mode != "any" {
		return
	}
	if a.state == nil {
		a.state = make(map[string]bool, len(a.topics))
	}
	a.state[topic] = up
}

// Update applies a message and returns whether the entity is now online.
// A payload that is neither the available nor the not-available payload
// changes nothing; a message on an unrelated topic changes nothing.
func (a *Availability) Update(topic string, payload []byte) bool {
	for _, t := range a.topics {
		if t.Topic != topic || len(payload) > MaxStateLen {
			continue
		}
		s := string(payload)
		if t.template != nil {
			r, err := t.template.Render(stateVars(payload))
			if err != nil {
				continue
			}
			s = r
		}
		switch s {
		case t.PayloadAvailable:
			a.set(topic, true)
		case t.PayloadNotAvailable:
			a.set(topic, false)
		}
	}
	return a.Online()
}

// Known reports whether Online is more than the default: the entity has
// no availability topics, or a message on one has said available or not.
// Until then Home Assistant shows it unavailable; the agent, after a
// restart, waits for the broker's retained message before it tells
// partners so.
func (a *Availability) Known() bool { return len(a.topics) == 0 || a.heard }

// Online reports the entity's availability now.
func (a *Availability) Online() bool {
	if len(a.topics) == 0 {
		return true
	}
	switch a.mode {
	case "all":
		for _, t := range a.topics {
			if !a.state[t.Topic] {
				return false
			}
		}
		return true
	case "any":
		for _, t := range a.topics {
			if a.state[t.Topic] {
				return true
			}
		}
		return false
	}
	return a.latest
}
