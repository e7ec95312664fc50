// Package shelly drives Shelly Gen2+ devices (found as _shelly._tcp) over
// their documented RPC over HTTP: Shelly.GetDeviceInfo for identity,
// Shelly.GetStatus for state, Switch.Set, Cover.GoToPosition/Open/Close/
// Stop and Light.Set for commands, with the devices' SHA-256 digest
// authentication. Each output channel is one device (see docs/drivers.md).
package shelly

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// DeviceInfo is the part of Shelly.GetDeviceInfo the driver uses.
type DeviceInfo struct {
	Name   *string `json:"name"`
	ID     string  `json:"id"`
	MAC    string  `json:"mac"`
	Model  string  `json:"model"`
	Gen    int     `json:"gen"`
	App    string  `json:"app"`
	Ver    string  `json:"ver"`
	AuthEn bool    `json:"auth_en"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseDeviceInfo decodes Shelly.GetDeviceInfo and checks the identity.
func ParseDeviceInfo(data []byte) (DeviceInfo, error) {
	var in DeviceInfo
	if err := json.Unmarshal(data, &in); err != nil {
		return DeviceInfo{}, fmt.Errorf("shelly: Shelly.GetDeviceInfo: %w", err)
	}
	if !idPattern.MatchString(in.ID) {
		return DeviceInfo{}, fmt.Errorf("shelly: Shelly.GetDeviceInfo: bad device id %q", trunc(in.ID, 40))
	}
	if in.Gen < 2 {
		return DeviceInfo{}, fmt.Errorf("shelly: generation %d is not supported (Gen2+ RPC only)", in.Gen)
	}
	in.ID = strings.ToLower(in.ID)
	return in, nil
}

// Kind is a controllable component type.
type Kind string

// The component types the driver turns into devices.
const (
	KindSwitch Kind = "switch"
	KindCover  Kind = "cover"
	KindLight  Kind = "light"
)

// Component is the status of one output channel ("switch:0", "cover:1").
type Component struct {
	Kind Kind
	ID   int
	// Switch and light.
	Output     *bool    `json:"output"`
	Brightness *float64 `json:"brightness"`
	// Switch and cover metering.
	APower  *float64 `json:"apower"`
	AEnergy *struct {
		Total *float64 `json:"total"` // Wh
	} `json:"aenergy"`
	// Cover.
	State      *string  `json:"state"`
	CurrentPos *float64 `json:"current_pos"`
	PosControl *bool    `json:"pos_control"`
}

// ParseStatus decodes Shelly.GetStatus into its controllable components,
// ordered by kind then channel. Other components (sys, wifi, input, ...) are
// ignored.
func ParseStatus(data []byte) ([]Component, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("shelly: Shelly.GetStatus: %w", err)
	}
	var out []Component
	for key, msg := range raw {
		kind, idx, ok := strings.Cut(key, ":")
		if !ok || (kind != string(KindSwitch) && kind != string(KindCover) && kind != string(KindLight)) {
			continue
		}
		n, err := strconv.Atoi(idx)
		if err != nil || n < 0 || n > 64 {
			return nil, fmt.Errorf("shelly: Shelly.GetStatus: bad component %q", trunc(key, 40))
		}
		var c Component
		if err := json.Unmarshal(msg, &c); err != nil {
			return nil, fmt.Errorf("shelly: Shelly.GetStatus: %s: %w", key, err)
		}
		c.Kind, c.ID = Kind(kind), n
		out = append(out, c)
	}
	if len(out) > 16 {
		return nil, fmt.Errorf("shelly: Shelly.GetStatus: %d output components is more than any Shelly has", len(out))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.ID < b.ID
	})
	return out, nil
}

// RPCError is the error object of a failed RPC call.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("shelly: RPC error %d: %s", e.Code, e.Message) }

// ParseRPCError returns the RPC error in a non-200 answer body, if any.
func ParseRPCError(data []byte) error {
	var e RPCError
	if json.Unmarshal(data, &e) == nil && e.Code != 0 {
		return &e
	}
	return nil
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
