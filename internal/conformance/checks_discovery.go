package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
)

// valueProblem says why a JSON value does not fit a property descriptor
// ("" when it fits): its type, min/max and enum values (§5.1).
func valueProblem(p wireProperty, raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "not JSON"
	}
	switch p.Type {
	case "bool":
		if _, ok := v.(bool); !ok {
			return "not a bool"
		}
	case "int", "float":
		n, ok := v.(float64)
		if !ok {
			return "not a number"
		}
		if p.Type == "int" && n != math.Trunc(n) {
			return "not an integer"
		}
		if p.Min != nil && n < *p.Min || p.Max != nil && n > *p.Max {
			return fmt.Sprintf("%v outside [%s, %s]", n, bound(p.Min), bound(p.Max))
		}
	case "string":
		if _, ok := v.(string); !ok {
			return "not a string"
		}
	case "enum":
		for _, e := range p.Values {
			if bytes.Equal(bytes.TrimSpace(e), bytes.TrimSpace(raw)) {
				return ""
			}
		}
		return "not one of the enum values"
	}
	return ""
}

func bound(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprint(*f)
}

// forEachProperty visits every property of every discovered device.
func (r *run) forEachProperty(f func(d wireDevice, p wireProperty) string) []string {
	var problems []string
	for _, d := range r.devices {
		for _, p := range d.Properties {
			if s := f(d, p); s != "" {
				problems = append(problems, fmt.Sprintf("%s.%s: %s", d.DeviceID, p.Name, s))
			}
		}
	}
	return problems
}

// verdict turns a list of problems into an outcome.
func verdict(problems []string, sent, got string) outcome {
	if len(problems) > 0 {
		if len(problems) > 8 {
			problems = append(problems[:8], fmt.Sprintf("and %d more", len(problems)-8))
		}
		return failed(strings.Join(problems, "; "), sent, got)
	}
	return passed(sent, got)
}

func (r *run) needDevices() (outcome, bool) {
	if o, ok := r.needLink(); !ok {
		return o, false
	}
	if len(r.devices) == 0 {
		return skipped("no devices discovered (see discovery.discover-response)"), false
	}
	return outcome{}, true
}

func discoveryChecks() []check {
	var discovered string
	// propertyCheck is a check that judges each property of every
	// discovered device on its own: check returns what is wrong, or "".
	propertyCheck := func(check func(wireDevice, wireProperty) string) func(*run) outcome {
		return func(r *run) outcome {
			if o, ok := r.needDevices(); !ok {
				return o
			}
			return verdict(r.forEachProperty(check), "Discover", discovered)
		}
	}
	return []check{
		{id: "discovery.discover-response", group: "discovery",
			requires: "CIC.Discovery/Discover answers DiscoverResponse, HTTP 200, {\"devices\": [...]}, each with deviceId, name, category, online, properties, state, updatedAt (profile §5.1)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				a, sent := r.call("CIC.Discovery", "Discover", map[string]any{})
				if a.status != http.StatusOK || !a.envOK || a.env.Header.Name != "DiscoverResponse" {
					return failed("no DiscoverResponse with HTTP 200", sent, a.String())
				}
				var p struct {
					Devices []json.RawMessage `json:"devices"`
				}
				if err := json.Unmarshal(a.env.Payload, &p); err != nil || p.Devices == nil {
					return failed("payload has no devices array", sent, a.String())
				}
				var problems []string
				for i, raw := range p.Devices {
					var d wireDevice
					if err := json.Unmarshal(raw, &d); err != nil {
						problems = append(problems, fmt.Sprintf("device %d: %v", i, err))
						continue
					}
					var m map[string]json.RawMessage
					json.Unmarshal(raw, &m) //nolint:errcheck // decoded above
					for _, k := range []string{"deviceId", "name", "category", "online", "properties", "state", "updatedAt"} {
						if _, ok := m[k]; !ok {
							problems = append(problems, fmt.Sprintf("device %q lacks %s", d.DeviceID, k))
						}
					}
					if d.DeviceID == "" {
						problems = append(problems, fmt.Sprintf("device %d: empty deviceId", i))
						continue
					}
					var n float64
					if json.Unmarshal(d.UpdatedAt, &n) != nil {
						problems = append(problems, fmt.Sprintf("device %q: updatedAt is not a number (ms)", d.DeviceID))
					}
					r.devices = append(r.devices, d)
				}
				discovered = fmt.Sprintf("%d devices", len(r.devices))
				if len(p.Devices) == 0 {
					problems = append(problems, "no devices: share at least one device with this partner to test query and control")
				}
				return verdict(problems, sent, "DiscoverResponse with "+discovered+": "+clip(a.raw, 200))
			}},
		{id: "discovery.unique-ids", group: "discovery",
			requires: "every deviceId appears once (profile §5.1)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				seen := map[string]bool{}
				var problems []string
				for _, d := range r.devices {
					if seen[d.DeviceID] {
						problems = append(problems, "deviceId "+d.DeviceID+" repeated")
					}
					seen[d.DeviceID] = true
				}
				return verdict(problems, "Discover", discovered)
			}},
		{id: "discovery.property-types", group: "discovery",
			requires: "each property has a name (once per device) and type bool|int|float|enum|string; enum properties list values (profile §5.1)",
			run: propertyCheck(func(d wireDevice, p wireProperty) string {
				switch {
				case p.Name == "":
					return "no name"
				case !slices.Contains([]string{"bool", "int", "float", "enum", "string"}, p.Type):
					return fmt.Sprintf("type %q", p.Type)
				case p.Type == "enum" && len(p.Values) == 0:
					return "enum without values"
				}
				n := 0
				for _, q := range d.Properties {
					if q.Name == p.Name {
						n++
					}
				}
				if n > 1 {
					return "declared more than once"
				}
				return ""
			})},
		{id: "discovery.property-ranges", group: "discovery",
			requires: "numeric ranges are coherent: min <= max, step > 0, integers for int properties (profile §5.1)",
			run: propertyCheck(func(_ wireDevice, p wireProperty) string {
				if p.Type != "int" && p.Type != "float" {
					if p.Min != nil || p.Max != nil || p.Step != nil {
						return "min/max/step on a " + p.Type + " property"
					}
					return ""
				}
				switch {
				case p.Min != nil && p.Max != nil && *p.Min > *p.Max:
					return fmt.Sprintf("min %v above max %v", *p.Min, *p.Max)
				case p.Step != nil && *p.Step <= 0:
					return fmt.Sprintf("step %v", *p.Step)
				case p.Type == "int" && (p.Min != nil && *p.Min != math.Trunc(*p.Min) || p.Max != nil && *p.Max != math.Trunc(*p.Max)):
					return "non-integer bounds on an int property"
				}
				return ""
			})},
		{id: "discovery.property-access", group: "discovery",
			requires: "access is r, rw or w (profile §5.1)",
			run: propertyCheck(func(_ wireDevice, p wireProperty) string {
				if !slices.Contains([]string{"r", "rw", "w"}, p.Access) {
					return fmt.Sprintf("access %q", p.Access)
				}
				return ""
			})},
		{id: "discovery.state-consistent", group: "discovery",
			requires: "state names only declared properties, each value of the declared type, inside min/max and the enum (profile §5.1)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				var problems []string
				for _, d := range r.devices {
					for k, v := range d.State {
						i := slices.IndexFunc(d.Properties, func(p wireProperty) bool { return p.Name == k })
						if i < 0 {
							problems = append(problems, fmt.Sprintf("%s: state %s is not a declared property", d.DeviceID, k))
							continue
						}
						if s := valueProblem(d.Properties[i], v); s != "" {
							problems = append(problems, fmt.Sprintf("%s.%s = %s: %s", d.DeviceID, k, v, s))
						}
					}
				}
				return verdict(problems, "Discover", discovered)
			}},
	}
}
