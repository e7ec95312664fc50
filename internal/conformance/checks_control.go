package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
)

// controlTarget is a device property the kit changes and restores.
type controlTarget struct {
	device            wireDevice
	prop              wireProperty
	original, changed any
}

// sameValue compares a wanted value with one from an answer, as JSON.
func sameValue(want any, raw json.RawMessage) bool {
	b, _ := json.Marshal(want)
	var x, y any
	return json.Unmarshal(b, &x) == nil && json.Unmarshal(raw, &y) == nil && reflect.DeepEqual(x, y)
}

// otherValue returns a valid value different from the current one.
func otherValue(p wireProperty, cur json.RawMessage) (any, any, bool) {
	var orig any
	if json.Unmarshal(cur, &orig) != nil || orig == nil || valueProblem(p, cur) != "" {
		return nil, nil, false
	}
	switch p.Type {
	case "bool":
		return orig, !orig.(bool), true
	case "int", "float":
		if p.Min == nil || p.Max == nil {
			return nil, nil, false
		}
		step := 1.0
		if p.Step != nil {
			step = *p.Step
		} else if p.Type == "float" {
			step = (*p.Max - *p.Min) / 10
		}
		n := orig.(float64)
		if n+step <= *p.Max {
			return orig, n + step, true
		}
		if n-step >= *p.Min {
			return orig, n - step, true
		}
	case "enum":
		for _, v := range p.Values {
			var x any
			if json.Unmarshal(v, &x) == nil && !sameValue(x, cur) {
				return orig, x, true
			}
		}
	}
	return nil, nil, false
}

// candidates lists online devices' writable properties with a known state,
// bool first.
func (r *run) candidates() []controlTarget {
	var out []controlTarget
	for _, d := range r.devices {
		if d.Online == nil || !*d.Online {
			continue
		}
		for _, p := range d.Properties {
			if p.Access != "rw" {
				continue
			}
			if orig, changed, ok := otherValue(p, d.State[p.Name]); ok {
				out = append(out, controlTarget{device: d, prop: p, original: orig, changed: changed})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b controlTarget) int {
		return boolRank(a.prop.Type) - boolRank(b.prop.Type)
	})
	return out
}

func boolRank(t string) int {
	if t == "bool" {
		return 0
	}
	return 1
}

func command(id string, props map[string]any) map[string]any {
	return map[string]any{"commands": []any{map[string]any{"deviceId": id, "properties": props}}}
}

// controlResults decodes a ControlResponse.
func controlResults(a answer) ([]controlResult, bool) {
	var p struct {
		Results []controlResult `json:"results"`
	}
	if a.status != http.StatusOK || !a.envOK || a.env.Header.Name != "ControlResponse" || json.Unmarshal(a.env.Payload, &p) != nil {
		return nil, false
	}
	return p.Results, true
}

// confirmed reports whether a single-command answer confirms prop = v.
func confirmed(a answer, id, prop string, v any) bool {
	res, ok := controlResults(a)
	return ok && len(res) == 1 && res[0].DeviceID == id && res[0].ErrorCode == "" && sameValue(v, res[0].State[prop])
}

// stateOf queries one device's state value of prop.
func (r *run) stateOf(id, prop string) (json.RawMessage, answer) {
	a, _ := r.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": []string{id}})
	items, ok := queryItems(a)
	if !ok || len(items) != 1 {
		return nil, a
	}
	return items[0].State[prop], a
}

func (r *run) setTo(t *controlTarget, v any) (answer, string) {
	return r.call("CIC.Control", "Control", command(t.device.DeviceID, map[string]any{t.prop.Name: v}))
}

// findProperty returns an online device's property matching want, the
// control target's device first.
func (r *run) findProperty(want func(wireProperty) bool) (wireDevice, wireProperty, bool) {
	ds := slices.Clone(r.devices)
	if r.ctl != nil {
		ds = append([]wireDevice{r.ctl.device}, ds...)
	}
	for _, d := range ds {
		if d.Online == nil || !*d.Online {
			continue
		}
		for _, p := range d.Properties {
			if want(p) {
				return d, p, true
			}
		}
	}
	return wireDevice{}, wireProperty{}, false
}

func (r *run) needTarget() (outcome, bool) {
	if o, ok := r.needDevices(); !ok {
		return o, false
	}
	if r.ctl == nil {
		return skipped("no device confirmed a change (see control.confirmed-state)"), false
	}
	return outcome{}, true
}

func controlChecks() []check {
	return []check{
		{id: "control.confirmed-state", group: "control",
			requires: "Control of a writable property answers ControlResponse, HTTP 200, with the state the device confirmed, and QueryStatus then shows it (profile §5.3, §5.2)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				cs := r.candidates()
				if len(cs) == 0 {
					return skipped("no online device with a writable bool, ranged number or enum property whose state is known")
				}
				var tried []string
				for i := range cs[:min(len(cs), 4)] {
					t := cs[i]
					a, sent := r.setTo(&t, t.changed)
					if confirmed(a, t.device.DeviceID, t.prop.Name, t.changed) {
						r.ctl = &t
						got, qa := r.stateOf(t.device.DeviceID, t.prop.Name)
						if !sameValue(t.changed, got) {
							return failed("QueryStatus does not show the confirmed value", sent, a.String()+"; then QueryStatus "+qa.String())
						}
						return passed(sent, a.String()+"; QueryStatus shows "+string(got))
					}
					switch a.code() {
					case "DEVICE_TIMEOUT", "DEVICE_BUSY", "DEVICE_OFFLINE":
						tried = append(tried, t.device.DeviceID+": "+a.code())
						continue
					}
					return failed(fmt.Sprintf("%s.%s = %v was not confirmed", t.device.DeviceID, t.prop.Name, t.changed), sent, a.String())
				}
				return failed("no device confirmed a change", "Control to up to 4 devices", fmt.Sprint(tried))
			}},
		{id: "control.restore", group: "control",
			requires: "the changed property is set back to its original value and confirmed (profile §5.3)",
			run: func(r *run) outcome {
				if o, ok := r.needTarget(); !ok {
					return o
				}
				a, sent := r.setTo(r.ctl, r.ctl.original)
				if !confirmed(a, r.ctl.device.DeviceID, r.ctl.prop.Name, r.ctl.original) {
					return failed("the original value was not confirmed", sent, a.String())
				}
				return passed(sent, a.String())
			}},
		{id: "control.out-of-range", group: "control",
			requires: "a value outside min/max is VALUE_OUT_OF_RANGE, HTTP 400, and nothing changes (profile §5.3 validation, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				d, p, ok := r.findProperty(func(p wireProperty) bool {
					return (p.Type == "int" || p.Type == "float") && p.Access != "r" && p.Max != nil
				})
				if !ok {
					return skipped("no online device with a writable number property that has a max")
				}
				step := 1.0
				if p.Step != nil {
					step = *p.Step
				}
				before, _ := r.stateOf(d.DeviceID, p.Name)
				a, sent := r.call("CIC.Control", "Control", command(d.DeviceID, map[string]any{p.Name: *p.Max + step}))
				o := wantError(a, sent, http.StatusBadRequest, "VALUE_OUT_OF_RANGE")
				if o.status == Pass && before != nil {
					if after, qa := r.stateOf(d.DeviceID, p.Name); !sameValue(before, after) {
						return failed("the refused command changed the state", sent, a.String()+"; then "+qa.String())
					}
				}
				return o
			}},
		{id: "control.wrong-type", group: "control",
			requires: "a value of the wrong type is VALUE_OUT_OF_RANGE, HTTP 400 (profile §5.3, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				d, p, ok := r.findProperty(func(p wireProperty) bool {
					return (p.Type == "bool" || p.Type == "int" || p.Type == "float") && p.Access != "r"
				})
				if !ok {
					return skipped("no online device with a writable bool or number property")
				}
				a, sent := r.call("CIC.Control", "Control", command(d.DeviceID, map[string]any{p.Name: "conformance-not-a-" + p.Type}))
				return wantError(a, sent, http.StatusBadRequest, "VALUE_OUT_OF_RANGE")
			}},
		{id: "control.read-only", group: "control",
			requires: "a write to a read-only (access r) property is PROPERTY_READ_ONLY, HTTP 400 (profile §5.3, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				d, p, ok := r.findProperty(func(p wireProperty) bool { return p.Access == "r" })
				if !ok {
					return skipped("no online device with a read-only property")
				}
				var v any = 1
				if cur, ok := d.State[p.Name]; ok {
					json.Unmarshal(cur, &v) //nolint:errcheck // keeps 1 when odd
				}
				a, sent := r.call("CIC.Control", "Control", command(d.DeviceID, map[string]any{p.Name: v}))
				return wantError(a, sent, http.StatusBadRequest, "PROPERTY_READ_ONLY")
			}},
		{id: "control.unknown-property", group: "control",
			requires: "a property the device does not have is PROPERTY_NOT_SUPPORTED, HTTP 400 (profile §5.3, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				d := r.devices[0]
				if r.ctl != nil {
					d = r.ctl.device
				}
				a, sent := r.call("CIC.Control", "Control", command(d.DeviceID, map[string]any{"conformanceNoSuchProperty": true}))
				return wantError(a, sent, http.StatusBadRequest, "PROPERTY_NOT_SUPPORTED")
			}},
		{id: "control.unknown-device", group: "control",
			requires: "a single command to an unknown deviceId is an ErrorResponse DEVICE_NOT_FOUND, HTTP 404, naming the deviceId (profile §3, §5.3)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				id := r.unknownID()
				a, sent := r.call("CIC.Control", "Control", command(id, map[string]any{"power": true}))
				o := wantError(a, sent, http.StatusNotFound, "DEVICE_NOT_FOUND")
				if o.status == Pass && a.errorPayload().DeviceID != id {
					return failed("the ErrorResponse does not name the deviceId", sent, a.String())
				}
				return o
			}},
		{id: "control.batch", group: "control",
			requires: "several commands answer HTTP 200 with one result per command in request order, failures per item (profile §3, §5.3)",
			run: func(r *run) outcome {
				if o, ok := r.needTarget(); !ok {
					return o
				}
				t, unknown := r.ctl, r.unknownID()
				a, sent := r.call("CIC.Control", "Control", map[string]any{"commands": []any{
					map[string]any{"deviceId": t.device.DeviceID, "properties": map[string]any{t.prop.Name: t.changed}},
					map[string]any{"deviceId": unknown, "properties": map[string]any{"power": true}}}})
				res, ok := controlResults(a)
				restore, _ := r.setTo(t, t.original)
				note := "; restored: " + restore.String()
				switch {
				case !ok:
					return failed("no ControlResponse with HTTP 200", sent, a.String())
				case len(res) != 2 || res[0].DeviceID != t.device.DeviceID || res[1].DeviceID != unknown:
					return failed("results are not one per command in request order", sent, a.String())
				case res[0].ErrorCode != "" || !sameValue(t.changed, res[0].State[t.prop.Name]):
					return failed("the valid command was not confirmed in the batch", sent, a.String())
				case res[1].ErrorCode != "DEVICE_NOT_FOUND":
					return failed("the unknown device's item lacks errorCode DEVICE_NOT_FOUND", sent, a.String())
				}
				return passed(sent, a.String()+note)
			}},
		{id: "control.idempotent-retry", group: "control",
			requires: "the same messageId within 10 minutes answers the first answer again without acting twice (profile §2)",
			run: func(r *run) outcome {
				if o, ok := r.needTarget(); !ok {
					return o
				}
				t := r.ctl
				x := r.newMsgID()
				first, sent := r.callWith(r.main, "CIC.Control", "Control", x, command(t.device.DeviceID, map[string]any{t.prop.Name: t.changed}))
				if !confirmed(first, t.device.DeviceID, t.prop.Name, t.changed) {
					return failed("the first Control was not confirmed", sent, first.String())
				}
				between, _ := r.setTo(t, t.original)
				if !confirmed(between, t.device.DeviceID, t.prop.Name, t.original) {
					return failed("the restoring Control was not confirmed", "Control back to the original", between.String())
				}
				again, _ := r.callWith(r.main, "CIC.Control", "Control", x, command(t.device.DeviceID, map[string]any{t.prop.Name: t.changed}))
				sent = fmt.Sprintf("messageId %s: set %v; another messageId: set back %v; messageId %s again", x, t.changed, t.original, x)
				var p1, p2 any
				json.Unmarshal(first.env.Payload, &p1) //nolint:errcheck // compared below
				json.Unmarshal(again.env.Payload, &p2) //nolint:errcheck
				if again.status != first.status || !reflect.DeepEqual(p1, p2) {
					return failed("the retry was not answered with the first answer", sent, "first "+first.String()+"; retry "+again.String())
				}
				now, qa := r.stateOf(t.device.DeviceID, t.prop.Name)
				if !sameValue(t.original, now) {
					r.setTo(t, t.original)
					return failed("the retry acted again", sent, "QueryStatus after the retry: "+qa.String())
				}
				return passed(sent, "retry answered the first answer; QueryStatus still shows "+string(now))
			}},
		{id: "control.offline-device", group: "control",
			requires: "a command to a device known offline is DEVICE_OFFLINE, HTTP 409 (profile §3)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				for _, d := range r.devices {
					if d.Online == nil || *d.Online {
						continue
					}
					for _, p := range d.Properties {
						if p.Access == "r" || (p.Type != "bool" && p.Type != "enum" && p.Min == nil) {
							continue
						}
						var v any = true
						switch {
						case p.Type == "enum":
							json.Unmarshal(p.Values[0], &v) //nolint:errcheck // a JSON value
						case p.Type != "bool":
							v = *p.Min
						}
						a, sent := r.call("CIC.Control", "Control", command(d.DeviceID, map[string]any{p.Name: v}))
						return wantError(a, sent, http.StatusConflict, "DEVICE_OFFLINE")
					}
				}
				return skipped("no offline device with a writable property is shared")
			}},
		{id: "control.limits", group: "control",
			requires: "Control takes 1-50 commands: none or 51 are INVALID_REQUEST, HTTP 400 (profile §5.3, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				a, sent := r.call("CIC.Control", "Control", map[string]any{"commands": []any{}})
				if o := wantError(a, sent, http.StatusBadRequest, "INVALID_REQUEST"); o.status != Pass {
					return o
				}
				cmds := make([]any, 51)
				for i := range cmds {
					cmds[i] = map[string]any{"deviceId": fmt.Sprintf("conformance-id-%02d", i), "properties": map[string]any{"power": true}}
				}
				b, sent2 := r.call("CIC.Control", "Control", map[string]any{"commands": cmds})
				o := wantError(b, sent2, http.StatusBadRequest, "INVALID_REQUEST")
				o.sent, o.got = "no commands, then 51 commands", a.String()+"; "+b.String()
				return o
			}},
	}
}
