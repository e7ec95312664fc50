package device

import (
	"errors"
	"fmt"
)

// Code is an extended error code of the interface profile (cic-profile §3).
// The codes are part of the wire contract; HTTP statuses are mapped from them
// in one place on the serving side.
type Code string

// The extended error codes of the profile.
const (
	CodeInvalidRequest            Code = "INVALID_REQUEST"
	CodeUnsupportedOperation      Code = "UNSUPPORTED_OPERATION"
	CodeUnsupportedPayloadVersion Code = "UNSUPPORTED_PAYLOAD_VERSION"
	CodeInvalidAccessToken        Code = "INVALID_ACCESS_TOKEN"
	CodeTokenExpired              Code = "TOKEN_EXPIRED"
	CodeAccessDenied              Code = "ACCESS_DENIED"
	CodeDeviceNotFound            Code = "DEVICE_NOT_FOUND"
	CodePropertyNotSupported      Code = "PROPERTY_NOT_SUPPORTED"
	CodePropertyReadOnly          Code = "PROPERTY_READ_ONLY"
	CodeValueOutOfRange           Code = "VALUE_OUT_OF_RANGE"
	CodeDeviceOffline             Code = "DEVICE_OFFLINE"
	CodeDeviceTimeout             Code = "DEVICE_TIMEOUT"
	CodeDeviceBusy                Code = "DEVICE_BUSY"
	CodeSubscriptionNotFound      Code = "SUBSCRIPTION_NOT_FOUND"
	CodeInvalidCallback           Code = "INVALID_CALLBACK"
	CodeRateLimited               Code = "RATE_LIMITED"
	CodeInternalError             Code = "INTERNAL_ERROR"
)

// Error is a failure that carries a profile error code. Its message is safe
// to show to a partner: it never carries internals.
type Error struct {
	Code     Code
	DeviceID string
	Property string
	Message  string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	switch {
	case e.DeviceID != "" && e.Property != "":
		return fmt.Sprintf("%s: device %s property %s", e.Code, e.DeviceID, e.Property)
	case e.DeviceID != "":
		return fmt.Sprintf("%s: device %s", e.Code, e.DeviceID)
	}
	return string(e.Code)
}

// Is makes errors.Is(err, ErrDeviceOffline) true for any *Error with the same
// code, whatever its device or message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.DeviceID == "" && t.Property == "" && t.Message == ""
}

// Sentinels for errors.Is; build detailed errors with NewError.
var (
	ErrPropertyNotSupported = &Error{Code: CodePropertyNotSupported}
	ErrPropertyReadOnly     = &Error{Code: CodePropertyReadOnly}
	ErrValueOutOfRange      = &Error{Code: CodeValueOutOfRange}
	ErrDeviceNotFound       = &Error{Code: CodeDeviceNotFound}
	ErrDeviceOffline        = &Error{Code: CodeDeviceOffline}
	ErrDeviceTimeout        = &Error{Code: CodeDeviceTimeout}
	ErrDeviceBusy           = &Error{Code: CodeDeviceBusy}
)

// NewError returns an *Error with a formatted message.
func NewError(code Code, deviceID, property, format string, args ...any) *Error {
	return &Error{Code: code, DeviceID: deviceID, Property: property, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the profile code carried by err, "" for nil, and
// CodeInternalError for an error that carries none.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternalError
}

// HTTPStatus is the HTTP status the profile (§3) gives the code. It is the
// one place codes map to statuses.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeInvalidRequest, CodeUnsupportedOperation, CodeUnsupportedPayloadVersion,
		CodePropertyNotSupported, CodePropertyReadOnly, CodeValueOutOfRange, CodeInvalidCallback:
		return 400
	case CodeInvalidAccessToken, CodeTokenExpired:
		return 401
	case CodeAccessDenied:
		return 403
	case CodeDeviceNotFound, CodeSubscriptionNotFound:
		return 404
	case CodeDeviceOffline, CodeDeviceBusy:
		return 409
	case CodeRateLimited:
		return 429
	case CodeDeviceTimeout:
		return 504
	}
	return 500
}
