package device

import (
	"encoding/json"
	"errors"
	"testing"
)

func testDevice() *Device {
	return &Device{
		ID: "dev-1", Name: "Test", Category: CategoryLight,
		Properties: []Property{
			{Name: "power", Type: TypeBool, Access: AccessReadWrite},
			{Name: "brightness", Type: TypeInt, Unit: "percent", Min: Num(0), Max: Num(100), Step: Num(1), Access: AccessReadWrite},
			{Name: "colorTemperature", Type: TypeInt, Unit: "kelvin", Min: Num(2200), Max: Num(4000), Step: Num(100), Access: AccessReadWrite},
			{Name: "targetTemperature", Type: TypeFloat, Unit: "celsius", Min: Num(5), Max: Num(30), Step: Num(0.5), Access: AccessReadWrite},
			{Name: "mode", Type: TypeEnum, Values: []string{"cool", "heat", "auto"}, Access: AccessReadWrite},
			{Name: "color", Type: TypeString, Access: AccessReadWrite},
			{Name: "label", Type: TypeString, Values: []string{"a", "b"}, Access: AccessReadWrite},
			{Name: "motion", Type: TypeEnum, Values: []string{"open", "close", "stop"}, Access: AccessWrite},
			{Name: "currentTemperature", Type: TypeFloat, Access: AccessRead},
		},
	}
}

func TestCheckWriteTable(t *testing.T) {
	d := testDevice()
	for _, tc := range []struct {
		name  string
		prop  string
		value Value
		want  Code // "" = accepted
		out   Value
	}{
		{"bool true", "power", Bool(true), "", Bool(true)},
		{"bool given string", "power", String("on"), CodeValueOutOfRange, Value{}},
		{"bool given number", "power", Int(1), CodeValueOutOfRange, Value{}},
		{"int in range", "brightness", Int(50), "", Int(50)},
		{"int given whole float", "brightness", Float(50), "", Int(50)},
		{"int given fraction", "brightness", Float(50.5), CodeValueOutOfRange, Value{}},
		{"int below min", "brightness", Int(-1), CodeValueOutOfRange, Value{}},
		{"int above max", "brightness", Int(101), CodeValueOutOfRange, Value{}},
		{"int at max", "brightness", Int(100), "", Int(100)},
		{"int given string", "brightness", String("50"), CodeValueOutOfRange, Value{}},
		{"int on step", "colorTemperature", Int(2700), "", Int(2700)},
		{"int off step", "colorTemperature", Int(2750), CodeValueOutOfRange, Value{}},
		{"float in range", "targetTemperature", Float(21.5), "", Float(21.5)},
		{"float given int", "targetTemperature", Int(21), "", Float(21)},
		{"float off step", "targetTemperature", Float(21.3), CodeValueOutOfRange, Value{}},
		{"float above max", "targetTemperature", Float(30.5), CodeValueOutOfRange, Value{}},
		{"float given bool", "targetTemperature", Bool(true), CodeValueOutOfRange, Value{}},
		{"enum member", "mode", String("heat"), "", String("heat")},
		{"enum non-member", "mode", String("dry"), CodeValueOutOfRange, Value{}},
		{"enum case matters", "mode", String("HEAT"), CodeValueOutOfRange, Value{}},
		{"enum given number", "mode", Int(1), CodeValueOutOfRange, Value{}},
		{"string free", "color", String("#ff0000"), "", String("#ff0000")},
		{"string given number", "color", Int(3), CodeValueOutOfRange, Value{}},
		{"string with values, member", "label", String("a"), "", String("a")},
		{"string with values, other", "label", String("c"), CodeValueOutOfRange, Value{}},
		{"write-only accepted", "motion", String("open"), "", String("open")},
		{"read-only refused", "currentTemperature", Float(20), CodePropertyReadOnly, Value{}},
		{"unknown property", "speed", Int(1), CodePropertyNotSupported, Value{}},
		{"null value", "power", Value{}, CodeValueOutOfRange, Value{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := d.CheckWrite(map[string]Value{tc.prop: tc.value})
			if got := CodeOf(err); got != tc.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.want)
			}
			if tc.want != "" {
				var e *Error
				if !errors.As(err, &e) || e.DeviceID != "dev-1" || e.Property != tc.prop {
					t.Errorf("error %#v does not name device and property", err)
				}
				return
			}
			if got := out[tc.prop]; !got.Equal(tc.out) || got.Kind() != tc.out.Kind() {
				t.Errorf("coerced %v (kind %d), want %v (kind %d)", got, got.Kind(), tc.out, tc.out.Kind())
			}
		})
	}
}

func TestCheckWriteRejectsEmptyWrite(t *testing.T) {
	if _, err := testDevice().CheckWrite(nil); CodeOf(err) != CodeValueOutOfRange {
		t.Fatalf("err = %v", err)
	}
}

func TestErrorsMatchSentinelsByCode(t *testing.T) {
	err := NewError(CodeDeviceOffline, "x", "", "device x is offline")
	if !errors.Is(err, ErrDeviceOffline) || errors.Is(err, ErrDeviceBusy) {
		t.Fatal("errors.Is does not match by code")
	}
	if CodeOf(errors.New("plain")) != CodeInternalError || CodeOf(nil) != "" {
		t.Fatal("CodeOf defaults wrong")
	}
}

func TestPropertyValidateRejectsBadDescriptors(t *testing.T) {
	for _, p := range []Property{
		{Name: "", Type: TypeBool, Access: AccessRead},
		{Name: "x", Type: "number", Access: AccessRead},
		{Name: "x", Type: TypeEnum, Access: AccessRead},
		{Name: "x", Type: TypeBool, Access: "x"},
		{Name: "x", Type: TypeInt, Min: Num(5), Max: Num(1), Access: AccessRead},
		{Name: "x", Type: TypeInt, Step: Num(0), Access: AccessRead},
		{Name: "x", Type: TypeInt, Values: []string{"a"}, Access: AccessRead},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	d := testDevice()
	d.Properties = append(d.Properties, d.Properties[0])
	if d.Validate() == nil {
		t.Error("duplicate property accepted")
	}
	d = testDevice()
	d.Category = "toaster"
	if d.Validate() == nil {
		t.Error("unknown category accepted")
	}
}

func TestDeviceJSONMatchesProfile(t *testing.T) {
	d := Device{
		ID: "z2m-0x00158d0001a2b3c4", Name: "Living room lamp", Category: CategoryLight,
		Manufacturer: "IKEA", Model: "LED1545G12", Room: "Living room", Online: true,
		Properties: []Property{
			{Name: "power", Type: TypeBool, Access: AccessReadWrite},
			{Name: "brightness", Type: TypeInt, Unit: "percent", Min: Num(0), Max: Num(100), Step: Num(1), Access: AccessReadWrite},
		},
		State:  map[string]Value{"power": Bool(true), "brightness": Int(80)},
		Source: "mqtt", Binding: json.RawMessage(`{"secret":"x"}`),
	}
	d.UpdatedAt = d.UpdatedAt.Add(0)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"deviceId":"z2m-0x00158d0001a2b3c4","name":"Living room lamp","category":"light","manufacturer":"IKEA","model":"LED1545G12","room":"Living room","online":true,"properties":[{"name":"power","type":"bool","access":"rw"},{"name":"brightness","type":"int","unit":"percent","min":0,"max":100,"step":1,"access":"rw"}],"state":{"brightness":80,"power":true},"updatedAt":0}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back Device
	if err := json.Unmarshal(b, &back); err != nil || back.ID != d.ID || !back.State["brightness"].Equal(Int(80)) || back.Binding != nil {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestValueJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
		out  string
	}{
		{`true`, KindBool, `true`}, {`12`, KindInt, `12`}, {`12.5`, KindFloat, `12.5`},
		{`1e3`, KindFloat, `1000`}, {`"a\"b"`, KindString, `"a\"b"`}, {`null`, KindNull, `null`},
	} {
		var v Value
		if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		b, _ := json.Marshal(v)
		if v.Kind() != tc.kind || string(b) != tc.out {
			t.Errorf("%s: kind %d -> %s", tc.in, v.Kind(), b)
		}
	}
	for _, bad := range []string{`{}`, `[1]`, `nul`, `1e999`} {
		var v Value
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if !Int(50).Equal(Float(50)) || Int(50).Equal(String("50")) {
		t.Error("numeric equality wrong")
	}
}

func FuzzValueJSON(f *testing.F) {
	for _, s := range []string{`true`, `1`, `-2.5e3`, `"x"`, `null`, `{}`, `"\u00e9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Value
		if err := v.UnmarshalJSON(data); err != nil {
			return
		}
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var w Value
		if err := w.UnmarshalJSON(b); err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		if !w.Equal(v) && v.Kind() != KindFloat {
			t.Fatalf("round trip %s -> %s", data, b)
		}
	})
}
