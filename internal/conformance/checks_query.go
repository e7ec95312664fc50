package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// unknownID is a deviceId no endpoint has.
func (r *run) unknownID() string { return "conformance-no-such-device-" + randomString(6) }

// queryItems decodes a QueryStatusResponse.
func queryItems(a answer) ([]queryItem, bool) {
	var p struct {
		Devices []queryItem `json:"devices"`
	}
	if a.status != http.StatusOK || !a.envOK || a.env.Header.Name != "QueryStatusResponse" ||
		json.Unmarshal(a.env.Payload, &p) != nil || p.Devices == nil {
		return nil, false
	}
	return p.Devices, true
}

func queryChecks() []check {
	return []check{
		{id: "query.known", group: "query",
			requires: "QueryStatus of known devices answers QueryStatusResponse, HTTP 200, one item per id with deviceId, online, state (declared properties, right types) and updatedAt (profile §5.2)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				var ids []string
				for _, d := range r.devices[:min(len(r.devices), 100)] {
					ids = append(ids, d.DeviceID)
				}
				a, sent := r.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": ids})
				items, ok := queryItems(a)
				if !ok {
					return failed("no QueryStatusResponse with HTTP 200 and a devices array", sent, a.String())
				}
				var problems []string
				for _, d := range r.devices[:len(ids)] {
					i := slices.IndexFunc(items, func(q queryItem) bool { return q.DeviceID == d.DeviceID })
					if i < 0 {
						problems = append(problems, d.DeviceID+" missing from the answer")
						continue
					}
					it := items[i]
					switch {
					case it.ErrorCode != "":
						problems = append(problems, fmt.Sprintf("%s: errorCode %s for a discovered device", d.DeviceID, it.ErrorCode))
						continue
					case it.Online == nil:
						problems = append(problems, d.DeviceID+": no online")
					case it.State == nil:
						problems = append(problems, d.DeviceID+": no state object")
					}
					var n float64
					if json.Unmarshal(it.UpdatedAt, &n) != nil {
						problems = append(problems, d.DeviceID+": updatedAt is not a number")
					}
					for k, v := range it.State {
						j := slices.IndexFunc(d.Properties, func(p wireProperty) bool { return p.Name == k })
						if j < 0 {
							problems = append(problems, fmt.Sprintf("%s: state %s not declared by Discover", d.DeviceID, k))
						} else if s := valueProblem(d.Properties[j], v); s != "" {
							problems = append(problems, fmt.Sprintf("%s.%s = %s: %s", d.DeviceID, k, v, s))
						}
					}
				}
				return verdict(problems, sent, a.String())
			}},
		{id: "query.unknown", group: "query",
			requires: "an unknown deviceId comes back as its own item with errorCode DEVICE_NOT_FOUND while the call answers HTTP 200 and known ids are answered (profile §5.2, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needDevices(); !ok {
					return o
				}
				known, unknown := r.devices[0].DeviceID, r.unknownID()
				a, sent := r.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": []string{known, unknown}})
				items, ok := queryItems(a)
				if !ok {
					return failed("no QueryStatusResponse with HTTP 200 and a devices array", sent, a.String())
				}
				var problems []string
				iu := slices.IndexFunc(items, func(q queryItem) bool { return q.DeviceID == unknown })
				ik := slices.IndexFunc(items, func(q queryItem) bool { return q.DeviceID == known })
				switch {
				case iu < 0:
					problems = append(problems, "no item for the unknown id")
				case items[iu].ErrorCode != "DEVICE_NOT_FOUND":
					problems = append(problems, fmt.Sprintf("the unknown id has errorCode %q, want DEVICE_NOT_FOUND", items[iu].ErrorCode))
				case len(items[iu].State) > 0:
					problems = append(problems, "the unknown id has a state")
				}
				if ik < 0 || items[ik].ErrorCode != "" {
					problems = append(problems, "the known id was not answered beside the unknown one")
				}
				return verdict(problems, sent, a.String())
			}},
		{id: "query.limits-empty", group: "query",
			requires: "QueryStatus takes 1-100 ids: an empty list is INVALID_REQUEST, HTTP 400 (profile §5.2, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				a, sent := r.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": []string{}})
				return wantError(a, sent, http.StatusBadRequest, "INVALID_REQUEST")
			}},
		{id: "query.limits-over", group: "query",
			requires: "QueryStatus takes 1-100 ids: 101 ids are INVALID_REQUEST, HTTP 400 (profile §5.2, §3)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				ids := make([]string, 101)
				for i := range ids {
					ids[i] = fmt.Sprintf("conformance-id-%03d", i)
				}
				a, sent := r.call("CIC.Query", "QueryStatus", map[string]any{"deviceIds": ids})
				return wantError(a, sent, http.StatusBadRequest, "INVALID_REQUEST")
			}},
	}
}

// wantError checks that a is the ErrorResponse with code and status.
func wantError(a answer, sent string, status int, code string) outcome {
	if !a.isError(status, code) {
		return failed(a.errorProblem(status, code), sent, a.String())
	}
	return passed(sent, a.String())
}
