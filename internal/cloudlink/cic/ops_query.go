package cic

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
)

// notFound is the answer for unknown devices and for devices not exposed to
// the caller alike: a partner must not learn what it was not shown.
func notFound(id string) *device.Error {
	return &device.Error{Code: device.CodeDeviceNotFound, DeviceID: id, Message: "device " + id + " not found"}
}

// DiscoverResponse is the payload of DiscoverResponse (profile §5.1).
type DiscoverResponse struct {
	Devices []device.Device `json:"devices"`
}

func (h *Handler) discover(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var req struct{}
	if err := decodePayload(raw, &req); err != nil {
		return nil, err
	}
	exposed, err := h.auth.Exposure(ctx, c)
	if err != nil {
		return nil, err
	}
	out := DiscoverResponse{Devices: []device.Device{}}
	for _, d := range h.hub.Devices() {
		if exposed(d) {
			out.Devices = append(out.Devices, *d)
		}
	}
	return out, nil
}

// QueryRequest is the payload of QueryStatus.
type QueryRequest struct {
	DeviceIDs []string `json:"deviceIds"`
}

// QueryItem is one device's answer in QueryStatusResponse. A known
// device always carries state (§5.2), {} before it reported anything;
// only a DEVICE_NOT_FOUND item has none (omitzero omits the nil map only).
type QueryItem struct {
	DeviceID  string                  `json:"deviceId"`
	Online    bool                    `json:"online"`
	State     map[string]device.Value `json:"state,omitzero"`
	UpdatedAt int64                   `json:"updatedAt,omitempty"`
	ErrorCode device.Code             `json:"errorCode,omitempty"`
	Message   string                  `json:"message,omitempty"`
}

// QueryResponse is the payload of QueryStatusResponse.
type QueryResponse struct {
	Devices []QueryItem `json:"devices"`
}

func (h *Handler) queryStatus(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var req QueryRequest
	if ids, ok := parseQueryRequest(raw); ok {
		req.DeviceIDs = ids
	} else if err := decodePayload(raw, &req); err != nil {
		return nil, err
	}
	if len(req.DeviceIDs) < 1 || len(req.DeviceIDs) > MaxQueryIDs {
		return nil, invalid("deviceIds must list 1 to %d devices", MaxQueryIDs)
	}
	for i, id := range req.DeviceIDs {
		// The field's name is only spelled out for an error (an allocation
		// per id otherwise).
		if CheckID("", id) != nil {
			return nil, CheckID("deviceIds["+strconv.Itoa(i)+"]", id)
		}
	}
	exposed, err := h.auth.Exposure(ctx, c)
	if err != nil {
		return nil, err
	}
	return queryAnswer{hub: h.hub, ids: req.DeviceIDs, exposed: exposed}, nil
}

// queryAnswer is the payload of QueryStatusResponse (the shape of
// QueryResponse), written straight from the registry when the answer is
// encoded, right after queryStatus returns: no copy of any device's state.
type queryAnswer struct {
	hub     *hub.Hub
	ids     []string
	exposed func(*device.Device) bool
}

func (q queryAnswer) MarshalJSON() ([]byte, error) { return q.appendJSON(nil), nil }

func (q queryAnswer) appendJSON(b []byte) []byte {
	b = append(b, `{"devices":[`...)
	for i, id := range q.ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"deviceId":`...)
		b = appendString(b, id)
		shown := false
		q.hub.View(id, func(d *device.Device) {
			if !q.exposed(d) {
				return
			}
			shown = true
			b = append(b, `,"online":`...)
			b = strconv.AppendBool(b, d.Online)
			b = append(b, `,"state":`...)
			b = appendState(b, d.State)
			if ms := d.UpdatedAt.UnixMilli(); ms != 0 {
				b = append(b, `,"updatedAt":`...)
				b = strconv.AppendInt(b, ms, 10)
			}
		})
		if !shown {
			e := notFound(id)
			b = append(b, `,"online":false,"errorCode":`...)
			b = appendString(b, string(e.Code))
			b = append(b, `,"message":`...)
			b = appendString(b, e.Message)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// AppendState appends a device's state as encoding/json writes the map
// (keys sorted), for the notifier's events.
func AppendState(b []byte, st map[string]device.Value) []byte { return appendState(b, st) }

// appendState appends a device's state as encoding/json writes the map:
// keys sorted.
func appendState(b []byte, st map[string]device.Value) []byte {
	var arr [32]string
	keys := arr[:0]
	for k := range st {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		v := st[k]
		if s, ok := v.AsString(); ok {
			b = appendString(b, s)
		} else {
			b = v.AppendJSON(b)
		}
	}
	return append(b, '}')
}

// ControlRequest is the payload of Control.
type ControlRequest struct {
	Commands []Command `json:"commands"`
}

// Command is one device's requested property values.
type Command struct {
	DeviceID   string                  `json:"deviceId"`
	Properties map[string]device.Value `json:"properties"`
}

// ControlResult is one command's outcome, in request order.
type ControlResult struct {
	DeviceID  string                  `json:"deviceId"`
	State     map[string]device.Value `json:"state"`
	ErrorCode device.Code             `json:"errorCode,omitempty"`
	Message   string                  `json:"message,omitempty"`
}

// ControlResponse is the payload of ControlResponse.
type ControlResponse struct {
	Results []ControlResult `json:"results"`
}

func (h *Handler) control(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var req ControlRequest
	if err := decodePayload(raw, &req); err != nil {
		return nil, err
	}
	if len(req.Commands) < 1 || len(req.Commands) > MaxCommands {
		return nil, invalid("commands must list 1 to %d commands", MaxCommands)
	}
	// Bounded before anything is looked up or stored.
	for i, cmd := range req.Commands {
		if err := checkCommand(i, cmd); err != nil {
			setActed(ctx, false)
			return nil, err
		}
	}
	exposed, err := h.auth.Exposure(ctx, c)
	if err != nil {
		return nil, err
	}
	// Validate every command before sending any.
	results := make([]ControlResult, len(req.Commands))
	checked := make([]map[string]device.Value, len(req.Commands))
	visible := make([]bool, len(req.Commands))
	seen := map[string]bool{}
	for i, cmd := range req.Commands {
		results[i].DeviceID = cmd.DeviceID
		var err error
		if !h.hub.View(cmd.DeviceID, func(d *device.Device) {
			if visible[i] = exposed(d); !visible[i] {
				err = notFound(cmd.DeviceID)
			}
		}) {
			err = notFound(cmd.DeviceID)
		}
		if err == nil && seen[cmd.DeviceID] {
			err = invalid("device %s appears in more than one command", cmd.DeviceID)
		}
		seen[cmd.DeviceID] = true
		if err == nil {
			checked[i], err = h.hub.Check(cmd.DeviceID, cmd.Properties)
		}
		if err != nil {
			setError(&results[i], err)
		}
	}
	if len(req.Commands) == 1 && results[0].ErrorCode != "" {
		setActed(ctx, false)
		h.audit.record(ctx, c, req.Commands, results, visible, h.now())
		return nil, errorOf(results[0])
	}
	// Send the valid ones concurrently; each waits for its device.
	done := make(chan int, len(req.Commands))
	pending := 0
	for i := range req.Commands {
		if checked[i] == nil {
			continue
		}
		pending++
		go func(i int) {
			st, err := h.hub.Control(ctx, req.Commands[i].DeviceID, checked[i])
			if err != nil {
				setError(&results[i], err)
			} else {
				results[i].State = st
			}
			done <- i
		}(i)
	}
	setActed(ctx, pending > 0)
	for ; pending > 0; pending-- {
		<-done
	}
	deferAudit(ctx, h.audit.rowsFor(c, req.Commands, results, visible, h.now()))
	if len(req.Commands) == 1 && results[0].ErrorCode != "" {
		return nil, errorOf(results[0])
	}
	for i := range results {
		if results[i].State == nil {
			results[i].State = map[string]device.Value{}
		}
	}
	return ControlResponse{Results: results}, nil
}

func setError(r *ControlResult, err error) {
	r.ErrorCode = device.CodeOf(err)
	r.Message = "internal error"
	var de *device.Error
	if errors.As(err, &de) {
		r.Message = de.Error()
	}
}

func errorOf(r ControlResult) error {
	return &device.Error{Code: r.ErrorCode, DeviceID: r.DeviceID, Message: r.Message}
}

func (h *Handler) unlink(ctx context.Context, c Caller, raw json.RawMessage) (any, error) {
	var req struct{}
	if err := decodePayload(raw, &req); err != nil {
		return nil, err
	}
	if err := h.auth.RevokeGrant(ctx, c.GrantID, "partner unlinked"); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
