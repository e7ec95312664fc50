package cic

import (
	"strconv"
	"unicode/utf8"

	"github.com/hubagent/hubagent/internal/device"
)

// Limits on what a partner may send. Every identifier and value is bounded
// before anything is looked up or stored, so the size of what a message can
// make the hub keep (audit rows, idempotency records, subscriptions) is
// bounded too. docs/limits.md lists them with what happens past each.
const (
	// MaxIDLen bounds device ids (the hub's own are at most 128 bytes) and
	// subscription ids in requests.
	MaxIDLen = 256
	// MaxNameLen bounds header namespace and name, and property names.
	MaxNameLen = 64
	// MaxStringValueLen bounds a string property value in a Control.
	MaxStringValueLen = 1024
	// MaxQueryIDs and MaxCommands bound the items of one request.
	MaxQueryIDs = 100
	MaxCommands = 50
	// MaxPropertiesPerCommand bounds the properties one command sets.
	MaxPropertiesPerCommand = 32
)

// CheckID refuses an empty or over-long identifier, or one that is not
// UTF-8 (it would be stored and echoed).
func CheckID(field, id string) error {
	switch {
	case id == "":
		return invalid("%s is empty", field)
	case len(id) > MaxIDLen:
		return invalid("%s is longer than %d bytes", field, MaxIDLen)
	case !utf8.ValidString(id):
		return invalid("%s is not valid UTF-8", field)
	}
	return nil
}

// checkCommand bounds one command's device id, property names and string
// values: INVALID_REQUEST for identifiers, VALUE_OUT_OF_RANGE for a value.
func checkCommand(i int, c Command) error {
	if err := CheckID("commands["+strconv.Itoa(i)+"].deviceId", c.DeviceID); err != nil {
		return err
	}
	if len(c.Properties) > MaxPropertiesPerCommand {
		return invalid("commands[%d].properties sets more than %d properties", i, MaxPropertiesPerCommand)
	}
	for name, v := range c.Properties {
		if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) {
			return invalid("commands[%d]: property names must be 1-%d bytes of UTF-8", i, MaxNameLen)
		}
		if s, ok := v.AsString(); ok && (len(s) > MaxStringValueLen || !utf8.ValidString(s)) {
			return &device.Error{Code: device.CodeValueOutOfRange, DeviceID: c.DeviceID, Property: name,
				Message: "value of " + name + " is longer than " + strconv.Itoa(MaxStringValueLen) + " bytes or not UTF-8"}
		}
	}
	return nil
}
