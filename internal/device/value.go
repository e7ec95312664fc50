package device

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Kind is the JSON kind a Value holds.
type Kind uint8

// The kinds of value a property can hold. KindNull is the zero Value: a
// property whose state is not known.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
)

// Value is one property's state: a JSON scalar. It is a small value type, not
// an interface, so that holding and comparing state allocates nothing. A bool,
// an int and a float share one word (n), so a Value is 32 bytes: every
// device's state map, and every change on its way to the store, holds them.
type Value struct {
	kind Kind
	n    uint64 // bool: 0 or 1; int: its two's complement; float: its IEEE 754 bits
	s    string
}

func (v Value) b() bool    { return v.n != 0 }
func (v Value) i() int64   { return int64(v.n) }
func (v Value) f() float64 { return math.Float64frombits(v.n) }

// Bool returns a bool Value.
func Bool(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.n = 1
	}
	return v
}

// Int returns an int Value.
func Int(i int64) Value { return Value{kind: KindInt, n: uint64(i)} }

// Float returns a float Value.
func Float(f float64) Value { return Value{kind: KindFloat, n: math.Float64bits(f)} }

// String returns a string Value.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Kind reports what v holds.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v holds nothing.
func (v Value) IsNull() bool { return v.kind == KindNull }

// AsBool returns v as a bool and whether it is one.
func (v Value) AsBool() (bool, bool) { return v.b(), v.kind == KindBool }

// AsString returns v as a string and whether it is one.
func (v Value) AsString() (string, bool) { return v.s, v.kind == KindString }

// AsInt returns v as an integer and whether it is one exactly (a float with no
// fraction counts).
func (v Value) AsInt() (int64, bool) {
	switch v.kind {
	case KindInt:
		return v.i(), true
	case KindFloat:
		if v.f() == math.Trunc(v.f()) && math.Abs(v.f()) < 1<<53 {
			return int64(v.f()), true
		}
	}
	return 0, false
}

// AsFloat returns v as a float64 and whether it is a number.
func (v Value) AsFloat() (float64, bool) {
	switch v.kind {
	case KindInt:
		return float64(v.i()), true
	case KindFloat:
		return v.f(), true
	}
	return 0, false
}

// Any returns v as the Go value encoding/json would decode it to (nil, bool,
// int64, float64 or string).
func (v Value) Any() any {
	switch v.kind {
	case KindBool:
		return v.b()
	case KindInt:
		return v.i()
	case KindFloat:
		return v.f()
	case KindString:
		return v.s
	}
	return nil
}

// Equal reports whether a and b hold the same state. Numbers compare by value
// (50 equals 50.0) because devices echo numbers in either form.
func (v Value) Equal(o Value) bool {
	if v.kind == o.kind {
		switch v.kind {
		case KindNull:
			return true
		case KindBool:
			return v.b() == o.b()
		case KindInt:
			return v.i() == o.i()
		case KindFloat:
			return v.f() == o.f()
		case KindString:
			return v.s == o.s
		}
	}
	a, aok := v.AsFloat()
	b, bok := o.AsFloat()
	return aok && bok && a == b
}

// String formats v for people: true, 42, 21.5, text (strings unquoted).
func (v Value) String() string {
	switch v.kind {
	case KindBool:
		return strconv.FormatBool(v.b())
	case KindInt:
		return strconv.FormatInt(v.i(), 10)
	case KindFloat:
		return strconv.FormatFloat(v.f(), 'g', -1, 64)
	case KindString:
		return v.s
	}
	return "null"
}

// AppendJSON appends v's JSON encoding to buf.
func (v Value) AppendJSON(buf []byte) []byte {
	switch v.kind {
	case KindBool:
		return strconv.AppendBool(buf, v.b())
	case KindInt:
		return strconv.AppendInt(buf, v.i(), 10)
	case KindFloat:
		if math.IsNaN(v.f()) || math.IsInf(v.f(), 0) {
			return append(buf, "null"...)
		}
		return strconv.AppendFloat(buf, v.f(), 'g', -1, 64)
	case KindString:
		b, _ := json.Marshal(v.s) // a string always marshals
		return append(buf, b...)
	}
	return append(buf, "null"...)
}

// MarshalJSON encodes v as a JSON scalar.
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

// UnmarshalJSON decodes a JSON scalar. Numbers without a fraction or exponent
// become ints; objects and arrays are refused.
func (v *Value) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return errors.New("device: empty value")
	}
	switch data[0] {
	case 'n':
		if string(data) != "null" {
			return fmt.Errorf("device: invalid value %.20q", data)
		}
		*v = Value{}
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(data, &b); err != nil {
			return fmt.Errorf("device: invalid value: %w", err)
		}
		*v = Bool(b)
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("device: invalid value: %w", err)
		}
		*v = String(s)
	case '{', '[':
		return errors.New("device: a property value must be a JSON scalar, not an object or array")
	default:
		nv, err := ParseNumber(string(data))
		if err != nil {
			return err
		}
		*v = nv
	}
	return nil
}

// ParseNumber parses a JSON number into an int Value when it has no fraction
// or exponent and fits, a float Value otherwise.
func ParseNumber(s string) (Value, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Int(i), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return Value{}, fmt.Errorf("device: invalid number %.20q", s)
	}
	return Float(f), nil
}

// ParseValue reads a value typed by a person on the command line ("true",
// "50", "21.5", "#ff0000", "\"quoted\"") as the given property type would
// take it.
func ParseValue(t Type, s string) (Value, error) {
	switch t {
	case TypeBool:
		switch s {
		case "true", "on", "1":
			return Bool(true), nil
		case "false", "off", "0":
			return Bool(false), nil
		}
		return Value{}, fmt.Errorf("device: %q is not a bool (true/false)", s)
	case TypeInt, TypeFloat:
		return ParseNumber(s)
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		var out string
		if err := json.Unmarshal([]byte(s), &out); err == nil {
			return String(out), nil
		}
	}
	return String(s), nil
}
