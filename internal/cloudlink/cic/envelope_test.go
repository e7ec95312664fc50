package cic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hubagent/hubagent/internal/device"
)

func TestDecodeEnvelopeTable(t *testing.T) {
	ok := `{"header":{"namespace":"CIC.Query","name":"QueryStatus","messageId":"m-1","payloadVersion":"1","timestamp":1764150000000},"payload":{"deviceIds":["a"]}}`
	for _, tc := range []struct {
		name string
		body string
		want device.Code
	}{
		{"valid", ok, ""},
		{"empty body", ``, device.CodeInvalidRequest},
		{"not JSON", `hello`, device.CodeInvalidRequest},
		{"array", `[1,2]`, device.CodeInvalidRequest},
		{"truncated", ok[:40], device.CodeInvalidRequest},
		{"trailing data", ok + `{}`, device.CodeInvalidRequest},
		{"missing namespace", strings.Replace(ok, `"namespace":"CIC.Query",`, "", 1), device.CodeInvalidRequest},
		{"missing name", strings.Replace(ok, `"name":"QueryStatus",`, "", 1), device.CodeInvalidRequest},
		{"missing messageId", strings.Replace(ok, `"messageId":"m-1",`, "", 1), device.CodeInvalidRequest},
		{"messageId bad chars", strings.Replace(ok, `"m-1"`, `"m 1/x"`, 1), device.CodeInvalidRequest},
		{"messageId too long", strings.Replace(ok, `"m-1"`, `"`+strings.Repeat("a", 65)+`"`, 1), device.CodeInvalidRequest},
		{"messageId 64 ok", strings.Replace(ok, `"m-1"`, `"`+strings.Repeat("a", 64)+`"`, 1), ""},
		{"missing payloadVersion", strings.Replace(ok, `"payloadVersion":"1",`, "", 1), device.CodeInvalidRequest},
		{"payloadVersion 2", strings.Replace(ok, `"payloadVersion":"1"`, `"payloadVersion":"2"`, 1), device.CodeUnsupportedPayloadVersion},
		{"payloadVersion number", strings.Replace(ok, `"payloadVersion":"1"`, `"payloadVersion":1`, 1), device.CodeInvalidRequest},
		{"payload array", strings.Replace(ok, `{"deviceIds":["a"]}`, `[]`, 1), device.CodeInvalidRequest},
		{"payload missing is {}", strings.Replace(ok, `,"payload":{"deviceIds":["a"]}`, ``, 1), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEnvelope([]byte(tc.body))
			if got := device.CodeOf(err); got != tc.want {
				t.Fatalf("code %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestDecodeEnvelopeKeepsHeaderForErrors(t *testing.T) {
	req, err := DecodeEnvelope([]byte(`{"header":{"namespace":"CIC.Query","name":"QueryStatus","messageId":"m-9","payloadVersion":"7"},"payload":{}}`))
	if device.CodeOf(err) != device.CodeUnsupportedPayloadVersion || req.Header.MessageID != "m-9" {
		t.Fatalf("header %+v err %v", req.Header, err)
	}
}

// countingReader counts how much of the body the handler read.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadBodyRefusesOversizeWithoutReadingItAll(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 4*MaxBody)
	// Declared too large: nothing is read.
	cr := &countingReader{r: bytes.NewReader(big)}
	r := httptest.NewRequest("POST", "/cic/v1", cr)
	r.ContentLength = int64(len(big))
	if _, err := ReadBody(r); err != errTooLarge || cr.n != 0 {
		t.Fatalf("declared oversize: err %v, read %d bytes", err, cr.n)
	}
	// Undeclared (chunked): reading stops just past the limit.
	cr = &countingReader{r: bytes.NewReader(big)}
	r = httptest.NewRequest("POST", "/cic/v1", cr)
	r.ContentLength = -1
	if _, err := ReadBody(r); err != errTooLarge || cr.n > MaxBody+64<<10 {
		t.Fatalf("chunked oversize: err %v, read %d bytes", err, cr.n)
	}
	// Exactly the limit is fine; one byte more is not.
	for n, want := range map[int]error{MaxBody: nil, MaxBody + 1: errTooLarge} {
		r = httptest.NewRequest("POST", "/cic/v1", bytes.NewReader(big[:n]))
		if _, err := ReadBody(r); err != want {
			t.Errorf("%d bytes: err %v, want %v", n, err, want)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"header":{"namespace":"CIC.Query","name":"QueryStatus","messageId":"m-1","payloadVersion":"1","timestamp":1},"payload":{"deviceIds":["a"]}}`))
	f.Add([]byte(`{"header":{"namespace":"CIC.Control","name":"Control","messageId":"x","payloadVersion":"1"},"payload":{"commands":[{"deviceId":"l","properties":{"power":true}}]}}`))
	f.Add([]byte(`{"header":{},"payload":null}`))
	f.Add([]byte(`{"header":{"namespace":1}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("\x00\xff"))
	f.Add([]byte(`{"header":{"namespace":"a","name":"b","messageId":"m","payloadVersion":"1"},"payload":{}} {}`))
	f.Add([]byte(`{"header":{"namespace":"a","name":"b","messageId":"m","payloadVersion":"1"},"payload":{}}` + " \n\t"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeEnvelope(data)
		// The one-pass path decodes exactly what the Decoder does.
		var viaDecoder Request
		dec := json.NewDecoder(bytes.NewReader(data))
		decErr := dec.Decode(&viaDecoder)
		if decErr == nil && dec.More() {
			decErr = errors.New("trailing data")
		}
		if decodeStage(err) != (decErr != nil) {
			t.Fatalf("DecodeEnvelope error %v, Decoder error %v", err, decErr)
		}
		if decErr == nil && (viaDecoder.Header != req.Header || err == nil && !bytes.Equal(normPayload(viaDecoder.Payload), req.Payload)) {
			t.Fatalf("decoded %+v %s, Decoder %+v %s", req.Header, req.Payload, viaDecoder.Header, viaDecoder.Payload)
		}
		if err != nil {
			if device.CodeOf(err) == device.CodeInternalError {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if !validMessageID(req.Header.MessageID) || req.Header.PayloadVersion != "1" || len(req.Payload) == 0 {
			t.Fatalf("accepted an invalid envelope: %+v", req.Header)
		}
		for _, v := range []any{&ControlRequest{}, &QueryRequest{}} {
			_ = decodePayload(req.Payload, v) // must not panic
		}
		// The size limits hold for whatever a Control decodes to.
		var cr ControlRequest
		if decodePayload(req.Payload, &cr) == nil {
			for i, c := range cr.Commands {
				err := checkCommand(i, c)
				if err == nil && (len(c.DeviceID) > MaxIDLen || len(c.Properties) > MaxPropertiesPerCommand) {
					t.Fatalf("limits passed an oversize command: %d-byte id, %d properties", len(c.DeviceID), len(c.Properties))
				}
				if err != nil && device.CodeOf(err) != device.CodeInvalidRequest && device.CodeOf(err) != device.CodeValueOutOfRange {
					t.Fatalf("limit error with code %s", device.CodeOf(err))
				}
			}
		}
	})
}

// normPayload is what DecodeEnvelope makes of a missing or null payload.
func normPayload(p json.RawMessage) []byte {
	if len(p) == 0 || bytes.Equal(bytes.TrimSpace(p), []byte("null")) {
		return []byte("{}")
	}
	return p
}

// decodeStage reports whether err is one of DecodeEnvelope's errors about
// the JSON itself (not about the header's fields).
func decodeStage(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "not a valid envelope") || strings.Contains(m, "trailing data") || strings.Contains(m, "empty body")
}
