package device

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"
)

// Every device's state map and every change queued for the store hold
// Values: one 8-byte word for the number kinds keeps a Value at a kind, that
// word and a string: 32 bytes on 64-bit platforms, 20 on 32-bit ARM.
func TestValueIsKindWordAndString(t *testing.T) {
	want := uintptr(32)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = 20 // kind padded to 4 (uint64 is 4-aligned there), the word, a 2-word string
	}
	if n := unsafe.Sizeof(Value{}); n != want {
		t.Errorf("Value is %d bytes, want %d", n, want)
	}
}

// The shared word gives back what each kind was made from, and equality
// keeps the numeric semantics (0 equals -0, NaN equals nothing, 50 equals
// 50.0).
func TestValueKindsShareOneWordWithoutMixingUp(t *testing.T) {
	for _, i := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 53} {
		if got, ok := Int(i).AsInt(); !ok || got != i {
			t.Errorf("Int(%d).AsInt() = %d, %v", i, got, ok)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 21.5, -1e300, math.Inf(1), math.SmallestNonzeroFloat64} {
		if got, ok := Float(f).AsFloat(); !ok || math.Float64bits(got) != math.Float64bits(f) {
			t.Errorf("Float(%v).AsFloat() = %v, %v", f, got, ok)
		}
	}
	for _, b := range []bool{true, false} {
		if got, ok := Bool(b).AsBool(); !ok || got != b {
			t.Errorf("Bool(%v).AsBool() = %v, %v", b, got, ok)
		}
	}
	if _, ok := Int(1).AsBool(); ok {
		t.Error("Int(1) reads as a bool")
	}
	if Bool(true).Equal(Int(1)) {
		t.Error("Bool(true) equals Int(1)")
	}
	if !Float(0).Equal(Float(math.Copysign(0, -1))) {
		t.Error("0 does not equal -0")
	}
	if Float(math.NaN()).Equal(Float(math.NaN())) {
		t.Error("NaN equals NaN")
	}
	if !Int(50).Equal(Float(50)) {
		t.Error("50 does not equal 50.0")
	}
	if s := Float(-2.5).String(); s != "-2.5" {
		t.Errorf("Float(-2.5).String() = %q", s)
	}
}

// A property named twice is refused whether the device has a few
// properties (compared one by one) or many (a map).
func TestValidateRefusesAPropertyListedTwice(t *testing.T) {
	for _, n := range []int{2, 5, 16, 17, 40} {
		d := &Device{ID: "d", Category: CategoryLight}
		for i := range n {
			d.Properties = append(d.Properties, Property{Name: fmt.Sprintf("p%d", i), Type: TypeBool, Access: AccessRead})
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("%d distinct properties: %v", n, err)
		}
		d.Properties = append(d.Properties, Property{Name: fmt.Sprintf("p%d", n/2), Type: TypeBool, Access: AccessRead})
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "listed twice") {
			t.Errorf("%d properties with one repeated: err = %v", n+1, err)
		}
	}
}
