package device

import (
	"fmt"
	"math"
	"slices"
)

// Type is a property's value type on the wire.
type Type string

// The property types of the profile (§5.1).
const (
	TypeBool   Type = "bool"
	TypeInt    Type = "int"
	TypeFloat  Type = "float"
	TypeEnum   Type = "enum"
	TypeString Type = "string"
)

// Access says whether a property can be read, written, or both.
type Access string

// The access modes of the profile (§5.1).
const (
	AccessRead      Access = "r"
	AccessReadWrite Access = "rw"
	AccessWrite     Access = "w"
)

// Readable reports whether the property reports state.
func (a Access) Readable() bool { return a == AccessRead || a == AccessReadWrite }

// Writable reports whether the property accepts writes.
func (a Access) Writable() bool { return a == AccessWrite || a == AccessReadWrite }

// Property describes one property of a device. Its JSON form is the profile's
// (§5.1); key order matches the profile's examples.
type Property struct {
	Name   string   `json:"name"`
	Type   Type     `json:"type"`
	Unit   string   `json:"unit,omitempty"`
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
	Step   *float64 `json:"step,omitempty"`
	Values []string `json:"values,omitempty"`
	Access Access   `json:"access"`
}

// Num returns a pointer to f, for Property's Min, Max and Step.
func Num(f float64) *float64 { return &f }

// Validate checks that the descriptor itself is well formed.
func (p Property) Validate() error {
	if p.Name == "" {
		return fmt.Errorf("device: property without a name")
	}
	switch p.Type {
	case TypeBool, TypeInt, TypeFloat, TypeString:
		if len(p.Values) > 0 && p.Type != TypeString {
			return fmt.Errorf("device: property %s: values only go with enum", p.Name)
		}
	case TypeEnum:
		if len(p.Values) == 0 {
			return fmt.Errorf("device: property %s: enum without values", p.Name)
		}
	default:
		return fmt.Errorf("device: property %s: unknown type %q", p.Name, p.Type)
	}
	switch p.Access {
	case AccessRead, AccessReadWrite, AccessWrite:
	default:
		return fmt.Errorf("device: property %s: unknown access %q", p.Name, p.Access)
	}
	if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
		return fmt.Errorf("device: property %s: min %g above max %g", p.Name, *p.Min, *p.Max)
	}
	if p.Step != nil && *p.Step <= 0 {
		return fmt.Errorf("device: property %s: step must be positive", p.Name)
	}
	return nil
}

// Coerce checks v against the descriptor and returns it in the property's
// own type (an int property given 50.0 gets Int(50); a float property given
// 21 gets Float(21)). A wrong type, a number outside min/max or off the step
// grid, or a string not in an enum's values is ErrValueOutOfRange.
func (p Property) Coerce(v Value) (Value, error) {
	bad := func(format string, args ...any) (Value, error) {
		return Value{}, &Error{Code: CodeValueOutOfRange, Property: p.Name,
			Message: fmt.Sprintf("property %s: ", p.Name) + fmt.Sprintf(format, args...)}
	}
	switch p.Type {
	case TypeBool:
		if v.kind != KindBool {
			return bad("want a bool, got %s", v.describe())
		}
		return v, nil
	case TypeString:
		if v.kind != KindString {
			return bad("want a string, got %s", v.describe())
		}
		if len(p.Values) > 0 && !slices.Contains(p.Values, v.s) {
			return bad("%q is not one of %v", v.s, p.Values)
		}
		return v, nil
	case TypeEnum:
		if v.kind != KindString || !slices.Contains(p.Values, v.s) {
			return bad("%s is not one of %v", v.describe(), p.Values)
		}
		return v, nil
	case TypeInt:
		i, ok := v.AsInt()
		if !ok {
			return bad("want an integer, got %s", v.describe())
		}
		if err := p.checkRange(float64(i)); err != "" {
			return bad("%s", err)
		}
		return Int(i), nil
	case TypeFloat:
		f, ok := v.AsFloat()
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("want a number, got %s", v.describe())
		}
		if err := p.checkRange(f); err != "" {
			return bad("%s", err)
		}
		return Float(f), nil
	}
	return bad("unknown type %q", p.Type)
}

func (p Property) checkRange(f float64) string {
	if p.Min != nil && f < *p.Min {
		return fmt.Sprintf("%g is below the minimum %g", f, *p.Min)
	}
	if p.Max != nil && f > *p.Max {
		return fmt.Sprintf("%g is above the maximum %g", f, *p.Max)
	}
	if p.Step != nil && *p.Step > 0 {
		base := 0.0
		if p.Min != nil {
			base = *p.Min
		}
		n := (f - base) / *p.Step
		// Tolerate float noise such as 0.1+0.2: a value within a millionth of
		// a step of the grid is on it.
		if math.Abs(n-math.Round(n)) > 1e-6 {
			return fmt.Sprintf("%g is not a multiple of the step %g from %g", f, *p.Step, base)
		}
	}
	return ""
}

func (v Value) describe() string {
	switch v.kind {
	case KindNull:
		return "null"
	case KindBool:
		return "bool " + v.String()
	case KindString:
		return fmt.Sprintf("string %q", v.s)
	}
	return "number " + v.String()
}
