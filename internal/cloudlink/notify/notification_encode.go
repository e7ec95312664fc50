package notify

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
)

// encodeNotification builds the envelope of one POST (profile §6.2).
func encodeNotification(batch []pending) ([]byte, error) {
	var id [12]byte
	rand.Read(id[:]) //nolint:errcheck // crypto/rand does not fail
	return encodeNotificationAs(batch, cic.Header{Namespace: "CIC.Notification", Name: batch[0].name,
		MessageID: "n-" + hex.EncodeToString(id[:]), PayloadVersion: "1", Timestamp: time.Now().UnixMilli()})
}

// encodeNotificationAs builds the envelope under header hd. StatusChanged
// and OnlineChanged, the bulk of the traffic (one event per changed device
// per partner), are spliced from the stored event JSON with the sequence
// inserted in sorted key order: the bytes encoding/json writes for the
// same envelope decoded into maps (the general path, kept for the rare
// events and for stored rows that do not have the shape written here),
// without its decode, reflection and key sorting per event.
func encodeNotificationAs(batch []pending, hd cic.Header) ([]byte, error) {
	first := batch[0]
	if first.name == EventStatusChanged || first.name == EventOnlineChanged {
		if b, ok := spliceEvents(batch, hd); ok {
			return b, nil
		}
	}
	return encodeNotificationGeneric(batch, hd)
}

// spliceEvents writes {"header":…,"payload":{"events":[…],"subscriptionId":…}};
// false if a stored event is not a plain JSON object (the generic path
// then decides).
func spliceEvents(batch []pending, hd cic.Header) ([]byte, bool) {
	size := 200 + len(batch[0].subID)
	for _, p := range batch {
		size += len(p.payload) + 32
	}
	b := make([]byte, 0, size)
	b = cic.AppendHeader(append(b, `{"header":`...), hd)
	b = append(b, `,"payload":{"events":[`...)
	for i, p := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		at, ok := sequenceAt(p.payload)
		if !ok || !json.Valid(p.payload) {
			return nil, false
		}
		ev := p.payload
		b = append(b, ev[:at]...)
		// at is after '{' or after a ',' (or at the closing '}').
		if ev[at] == '}' && at > 1 {
			b = append(b, ',')
		}
		b = append(b, `"sequence":`...)
		b = strconv.AppendInt(b, p.seq, 10)
		if ev[at] != '}' {
			b = append(b, ',')
		}
		b = append(b, ev[at:]...)
	}
	b = append(b, `],"subscriptionId":`...)
	b = cic.AppendString(b, batch[0].subID)
	return append(b, "}}"...), true
}

// sequenceAt returns where "sequence" goes in ev, a compact JSON object
// whose keys are in sorted order as encoding/json writes them: the offset
// of the first top-level key that sorts after it, or of the closing brace.
// false if ev is not such an object, already has the key, or has a key
// with escapes (whose order is not its bytes').
func sequenceAt(ev []byte) (int, bool) {
	n := len(ev)
	if n < 2 || ev[0] != '{' || ev[n-1] != '}' {
		return 0, false
	}
	depth, inString, expectKey := 0, false, true
	for i := 1; i < n-1; i++ {
		c := ev[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"' && depth == 0 && expectKey:
			end := i + 1
			for end < n && ev[end] != '"' {
				if ev[end] == '\\' {
					return 0, false
				}
				end++
			}
			if end >= n {
				return 0, false
			}
			switch key := string(ev[i+1 : end]); {
			case key == "sequence":
				return 0, false
			case key > "sequence":
				return i, true
			}
			i, expectKey = end, false
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 0:
			expectKey = true
		}
	}
	return n - 1, true
}

// appendStatusEvent appends a StatusChanged event as stored: the bytes
// json.Marshal writes for statusEvent (keys sorted, strings HTML-safe),
// without reflection, as it is written for every changed device.
func appendStatusEvent(b []byte, deviceID string, state map[string]device.Value, at int64) []byte {
	if b == nil {
		b = make([]byte, 0, 64+len(deviceID)+32*len(state))
	}
	b = append(b, `{"deviceId":`...)
	b = cic.AppendString(b, deviceID)
	b = append(b, `,"state":`...)
	if state == nil {
		b = append(b, "null"...)
	} else {
		b = cic.AppendState(b, state)
	}
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, at, 10)
	return append(b, '}')
}

// encodeNotificationGeneric is the envelope through encoding/json, the
// events decoded into maps (whose keys it sorts).
func encodeNotificationGeneric(batch []pending, hd cic.Header) ([]byte, error) {
	first := batch[0]
	var payload map[string]any
	switch first.name {
	case EventStatusChanged, EventOnlineChanged:
		events := make([]map[string]any, 0, len(batch))
		for _, p := range batch {
			var ev map[string]any
			if err := json.Unmarshal(p.payload, &ev); err != nil {
				return nil, fmt.Errorf("notify: outbox row %d: %w", p.id, err)
			}
			ev["sequence"] = p.seq
			events = append(events, ev)
		}
		payload = map[string]any{"subscriptionId": first.subID, "events": events}
	default:
		if err := json.Unmarshal(first.payload, &payload); err != nil {
			return nil, fmt.Errorf("notify: outbox row %d: %w", first.id, err)
		}
		payload["subscriptionId"] = first.subID
		if first.name == EventDevicesChanged {
			payload["sequence"] = first.seq
		}
	}
	return json.Marshal(cic.Response{Header: hd, Payload: payload})
}
