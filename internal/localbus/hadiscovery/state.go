package hadiscovery

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hubagent/hubagent/internal/device"
)

// State is one message on a state topic, decoded for the entities that
// listen on that topic. Zigbee2MQTT publishes one JSON object per device
// on one topic that its light and all its sensors read, so the checks, the
// text and the JSON decode are done at most once per message, lazily, and
// shared by every entity decoding it. The decoded values are only read,
// never modified. A State is for one goroutine at a time; Reset reuses it
// (and its template variables map) for the next message.
type State struct {
	topic   string
	payload []byte

	checked bool
	fault   stateFault

	text     string
	haveText bool

	vars     map[string]any // value and, when the payload is JSON, value_json
	haveVars bool

	obj     jsonObject // the payload as a top-level JSON object, for jsonDecode
	objOK   bool
	haveObj bool
}

// stateFault is why a payload is not decoded at all.
type stateFault uint8

const (
	stateOK stateFault = iota
	stateTooLarge
	stateNotText
)

// NewState returns payload, received on topic, ready to be decoded.
func NewState(topic string, payload []byte) *State {
	s := &State{}
	s.Reset(topic, payload)
	return s
}

// Reset makes s the next message, forgetting everything decoded from the
// previous one.
func (s *State) Reset(topic string, payload []byte) {
	vars, fields := s.vars, s.obj.fields
	clear(vars)
	clear(fields) // the members are substrings of the payload's text
	*s = State{topic: topic, payload: payload, vars: vars, obj: jsonObject{fields: fields[:0]}}
}

// Topic returns the topic the message arrived on.
func (s *State) Topic() string { return s.topic }

// check validates the payload once: bounded, and text.
func (s *State) check() stateFault {
	if !s.checked {
		s.checked = true
		switch {
		case len(s.payload) > MaxStateLen:
			s.fault = stateTooLarge
		case !utf8.Valid(s.payload) || bytes.IndexByte(s.payload, 0) >= 0:
			s.fault = stateNotText
		}
	}
	return s.fault
}

// str is the payload as a string, converted once.
func (s *State) str() string {
	if !s.haveText {
		s.text, s.haveText = string(s.payload), true
	}
	return s.text
}

// templateVars are the variables of a state template: value and, when the
// payload is JSON, value_json. The map is shared by every template
// rendered for this message; templates only read it.
func (s *State) templateVars() map[string]any {
	if s.haveVars {
		return s.vars
	}
	s.haveVars = true
	if s.vars == nil {
		s.vars = make(map[string]any, 2)
	}
	text := s.str()
	s.vars["value"] = text
	// The depth check first: it is cheaper than a decode, and bounds it.
	if checkJSONDepth(s.payload, MaxJSONDepth) == nil {
		if v, ok := parseStateJSON(text); ok {
			s.vars["value_json"] = v
		}
	}
	return s.vars
}

// object is the payload as a top-level JSON object, scanned once: what
// templateVars' value_json would hold when it is an object, without
// building it (see jsonObject).
func (s *State) object() (jsonObject, bool) {
	if !s.haveObj {
		s.haveObj = true
		s.obj.fields, s.objOK = scanObject(s.str(), s.obj.fields)
	}
	return s.obj, s.objOK
}

// DecodeState turns a message on one of the entity's state topics into
// property values (entity-local names). A payload that matches nothing —
// an unknown state string, a missing JSON key, a template that fails as it
// would in Home Assistant — changes nothing: an empty map and no error. A
// payload that is not text, or is too large, is an error.
func DecodeState(e *Entity, topic string, payload []byte) (map[string]device.Value, error) {
	out := map[string]device.Value{}
	if err := DecodeStateInto(e, NewState(topic, payload), out); err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeStateInto is DecodeState for a message shared between entities:
// it adds the values decoded from msg to out (which it does not clear), so
// a caller can reuse one map per message or per worker.
func DecodeStateInto(e *Entity, msg *State, out map[string]device.Value) error {
	if fault := msg.check(); fault != stateOK {
		// Facets that only note a message's arrival (camera images,
		// binary and possibly large) still see it.
		for _, f := range e.facets {
			if f.anyPayload && e.topic(f.topicKey) == msg.topic {
				if v, ok := f.decode(""); ok {
					out[f.prop.Name] = v
				}
			}
		}
		if len(out) > 0 {
			return nil
		}
		if fault == stateTooLarge {
			return fmt.Errorf("hadiscovery: %s: state payload of %d bytes exceeds %d", e.ConfigTopic, len(msg.payload), MaxStateLen)
		}
		return fmt.Errorf("hadiscovery: %s: state payload on %s is not text", e.ConfigTopic, msg.topic)
	}
	if e.jsonDecode != nil && e.topic(e.jsonTopicKey) == msg.topic {
		if obj, ok := msg.object(); ok {
			e.jsonDecode(obj, out)
		}
	}
	for _, f := range e.facets {
		if f.topicKey == "" || f.decode == nil || e.topic(f.topicKey) != msg.topic {
			continue
		}
		if f.anyPayload {
			if v, ok := f.decode(""); ok {
				out[f.prop.Name] = v
			}
			continue
		}
		s := msg.str()
		if t := e.template(f.tplKey); t != nil {
			r, err := t.Render(msg.templateVars())
			if err != nil {
				continue // Home Assistant logs and keeps the state
			}
			// Home Assistant strips rendered state (Zigbee2MQTT's cover
			// template renders " stopped ").
			s = strings.TrimSpace(r)
		}
		if v, ok := f.decode(s); ok {
			out[f.prop.Name] = v
		}
	}
	return nil
}
