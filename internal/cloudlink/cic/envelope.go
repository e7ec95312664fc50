// Package cic serves the query, operation and account messages of the
// cloud-to-cloud interface (T/CHEAA 0001.1—2023 §8, §9.2; docs/protocol.md)
// at the single service URL POST /cic/v1: the envelope, dispatch on
// namespace and name, bearer-token authorisation with scopes and
// per-partner device exposure, idempotent retries, rate limits and the
// audit trail.
package cic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/hubagent/hubagent/internal/device"
)

// MaxBody is the largest request body accepted (profile §2).
const MaxBody = 256 << 10

// Header is the envelope header of every message.
type Header struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	MessageID      string `json:"messageId"`
	PayloadVersion string `json:"payloadVersion"`
	Timestamp      int64  `json:"timestamp"`
}

// Request is a decoded request envelope; Payload is decoded by the handler
// of the named operation.
type Request struct {
	Header  Header          `json:"header"`
	Payload json.RawMessage `json:"payload"`
}

// Response is an answer envelope.
type Response struct {
	Header  Header `json:"header"`
	Payload any    `json:"payload"`
}

// ErrorPayload is the payload of an ErrorResponse (profile §2).
type ErrorPayload struct {
	ErrorCode device.Code `json:"errorCode"`
	Message   string      `json:"message"`
	DeviceID  string      `json:"deviceId,omitempty"`
}

func invalid(format string, args ...any) *device.Error {
	return &device.Error{Code: device.CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// errTooLarge marks a body over MaxBody: INVALID_REQUEST with HTTP 413.
var errTooLarge = errors.New("cic: body too large")

// ReadBody reads at most MaxBody bytes. A Content-Length over the limit is
// refused before reading anything; a body that grows past it is cut off at
// the limit, so a hostile client cannot make the hub buffer more.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, errTooLarge
	}
	if r.ContentLength > 0 {
		// The length is known (and net/http stops the body there): read it
		// into a buffer of exactly that size, without bytes.Buffer's
		// regrowth for its next read.
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, invalid("cannot read body: %v", err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, invalid("cannot read body: %v", err)
	}
	if n > MaxBody {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// DecodeEnvelope parses and checks a request envelope. What is known of the
// header is returned even on error, so the error answer can echo the
// namespace and messageId.
func DecodeEnvelope(body []byte) (Request, error) {
	var req Request
	if len(bytes.TrimSpace(body)) == 0 {
		return req, invalid("empty body: want a JSON object with header and payload")
	}
	// A well-formed body decodes in one pass without a Decoder's copy of
	// it; anything else goes through the Decoder, whose errors name what
	// is wrong (trailing data, the byte offset) and which fills what it can
	// of the header for the error answer.
	if json.Unmarshal(body, &req) != nil {
		req = Request{}
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&req); err != nil {
			// A type error may still have filled part of the header.
			return req, invalid("body is not a valid envelope: %s", jsonErr(err))
		}
		if dec.More() {
			return req, invalid("trailing data after the JSON object")
		}
	}
	h := req.Header
	switch {
	case h.Namespace == "":
		return req, invalid("header.namespace is missing")
	case h.Name == "":
		return req, invalid("header.name is missing")
	case len(h.Namespace) > MaxNameLen || len(h.Name) > MaxNameLen:
		return req, invalid("header.namespace and header.name are at most %d bytes", MaxNameLen)
	case !validMessageID(h.MessageID):
		return req, invalid("header.messageId must be 1-64 characters of A-Z a-z 0-9 _ -")
	case h.PayloadVersion == "":
		return req, invalid("header.payloadVersion is missing")
	case h.PayloadVersion != "1":
		return req, &device.Error{Code: device.CodeUnsupportedPayloadVersion,
			Message: "payloadVersion " + strconv.Quote(h.PayloadVersion) + " is not supported; use \"1\""}
	}
	if len(req.Payload) == 0 || bytes.Equal(bytes.TrimSpace(req.Payload), []byte("null")) {
		req.Payload = json.RawMessage("{}")
	}
	if bytes.TrimSpace(req.Payload)[0] != '{' {
		return req, invalid("payload must be a JSON object")
	}
	return req, nil
}

func validMessageID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// decodePayload decodes a payload strictly: unknown fields are refused so a
// partner's typo does not silently do something else.
func decodePayload(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("invalid payload: %s", jsonErr(err))
	}
	return nil
}

// jsonErr words a JSON error for a partner without Go type names.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %s has the wrong type (got %s)", te.Field, te.Value)
		}
		return fmt.Sprintf("wrong JSON type (got %s)", te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return err.Error()
}
