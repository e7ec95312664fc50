package hatemplate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// jsonVars builds the variables discovery passes: value and, when the
// payload is JSON, value_json.
func jsonVars(t *testing.T, payload string) map[string]any {
	t.Helper()
	vars := map[string]any{"value": payload}
	d := json.NewDecoder(strings.NewReader(payload))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err == nil {
		vars["value_json"] = v
	}
	return vars
}

func TestRenderPublisherTemplates(t *testing.T) {
	tests := []struct {
		name, tpl, payload, want string
	}{
		{"plain value", "{{ value }}", "ON", "ON"},
		{"z2m attribute", "{{ value_json.temperature }}", `{"temperature":21.0,"humidity":45}`, "21.0"},
		{"float keeps fraction like python", "{{ value_json.t }}", `{"t":21.50}`, "21.5"},
		{"int stays int", "{{ value_json.t }}", `{"t":21}`, "21"},
		{"nested attributes", "{{ value_json.a.b }}", `{"a":{"b":"x"}}`, "x"},
		{"single-quoted index", "{{ value_json['a'] }}", `{"a":3}`, "3"},
		{"double-quoted chained index", `{{ value_json["ENERGY"]["Power"] }}`, `{"ENERGY":{"Power":12.5}}`, "12.5"},
		{"list index", "{{ value_json.list[0] }}", `{"list":[7,8]}`, "7"},
		{"negative list index", "{{ value_json.list[-1] }}", `{"list":[7,8]}`, "8"},
		{"json true renders True", "{{ value_json.contact }}", `{"contact":true}`, "True"},
		{"json false renders False", "{{ value_json.contact }}", `{"contact":false}`, "False"},
		{"json null renders None", "{{ value_json.x }}", `{"x":null}`, "None"},
		{"missing key renders empty", "{{ value_json.nope }}", `{"x":1}`, ""},
		{"missing chain renders empty", "{{ value_json.a.b.c }}", `{"x":1}`, ""},
		{"value_json undefined for non-json", "{{ value_json.x }}", `ON`, ""},
		{"default replaces missing", "{{ value_json.x | default('n/a') }}", `{}`, "n/a"},
		{"default keeps present", "{{ value_json.x | default('n/a') }}", `{"x":0}`, "0"},
		{"default boolean mode", "{{ value_json.x | default('n/a', true) }}", `{"x":""}`, "n/a"},
		{"int filter truncates", "{{ value | int }}", "21.7", "21"},
		{"int filter default", "{{ value | int(5) }}", "abc", "5"},
		{"float filter", "{{ value | float }}", "21", "21.0"},
		{"round to int", "{{ value | float | round }}", "21.5", "22"},
		{"round ties to even", "{{ 2.5 | round }}", "", "2"},
		{"round precision", "{{ value_json.v | round(1) }}", `{"v":21.46}`, "21.5"},
		{"round scale brightness like python (50*2.55 is 127.4999...)", "{{ (value | float * 2.55) | round(0) | int }}", "50", "127"},
		{"lower", "{{ value_json.state | lower }}", `{"state":"ON"}`, "on"},
		{"upper", "{{ value | upper }}", "off", "OFF"},
		{"is defined", "{{ 'yes' if value_json.x is defined else 'no' }}", `{"x":1}`, "yes"},
		{"is not defined", "{{ 'yes' if value_json.x is not defined else 'no' }}", `{"x":1}`, "no"},
		{"inline if ==", "{{ 'ON' if value_json.state == 'on' else 'OFF' }}", `{"state":"on"}`, "ON"},
		{"inline if !=", "{{ 'ON' if value != '0' else 'OFF' }}", `0`, "OFF"},
		{"inline if in list", "{{ 'open' if value in ['1', 'open'] else 'closed' }}", `open`, "open"},
		{"inline if not in", "{{ 'x' if value not in ['a'] else 'y' }}", `b`, "x"},
		{"and or not", "{{ 'yes' if value_json.a > 1 and not value_json.b or value_json.c < 0 else 'no' }}", `{"a":2,"b":false,"c":1}`, "yes"},
		{"if without else is empty", "{{ 'x' if false }}", ``, ""},
		{"z2m set dict lookup", "{% set v = {'idle':'off','heat':'heat'} %}{{ v[value_json.running_state] }}", `{"running_state":"idle"}`, "off"},
		{"z2m keys membership", "{% set values = {'auto':'heat_cool','heat':'heat'} %}{{ values[value_json.system_mode] if value_json.system_mode in values.keys() else 'off' }}", `{"system_mode":"sleep"}`, "off"},
		{"dict with int keys", "{{ {0:'off', 1:'low', 2:'high'}[value | int] }}", `1`, "low"},
		{"int key matches float", "{{ {1:'a'}[1.0] }}", ``, "a"},
		{"dict get default", "{{ value_json.get('x', 'd') }}", `{}`, "d"},
		{"literal text around", "pos={{ value }}%", `40`, "pos=40%"},
		{"json command template", `{"position": {{ value }} }`, `40`, `{"position": 40 }`},
		{"whitespace control", "a {{- value -}} b", `x`, "axb"},
		{"comment dropped", "{# note #}{{ value }}", `x`, "x"},
		{"arithmetic", "{{ value | int * 10 // 3 }}", `7`, "23"},
		{"true division is float", "{{ value | int / 2 }}", `4`, "2.0"},
		{"python modulo", "{{ -7 % 3 }}", ``, "2"},
		{"concat tilde", "{{ value ~ '!' }}", `hi`, "hi!"},
		{"list renders like python", "{{ [1, 'a', true, none] }}", ``, "[1, 'a', True, None]"},
		{"big float exponent", "{{ 1e16 }}", ``, "1e+16"},
		{"small float exponent", "{{ 0.00001 }}", ``, "1e-05"},
		{"negative number", "{{ -value | int }}", `3`, "-3"},
		{"string index", "{{ value[0] }}", `abc`, "a"},
		{"equal number int float", "{{ value_json.a == 1 }}", `{"a":1.0}`, "True"},
		{"bool equals int like python", "{{ true == 1 }}", ``, "True"},
		{"undefined in undefined", "{{ 'a' in value_json.nope }}", `{}`, "False"},
		{"dict literal renders ordered", "{{ {'b': 1, 'a': 2} }}", ``, "{'b': 1, 'a': 2}"},
		{"join list", "{{ value_json.rgb | join(',') }}", `{"rgb":[255,0,10]}`, "255,0,10"},
		{"set then multiple uses", "{% set x = value | int %}{{ x + 1 }},{{ x * 2 }}", `4`, "5,8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse(tt.tpl)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.tpl, err)
			}
			got, err := tpl.Render(jsonVars(t, tt.payload))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Errorf("Render(%q) with %q = %q, want %q", tt.tpl, tt.payload, got, tt.want)
			}
		})
	}
}

func TestParseRefusesUnsupported(t *testing.T) {
	tests := []struct {
		name, tpl, wantErr string
	}{
		{"unknown filter", "{{ value | timestamp_local }}", "unsupported filter \"timestamp_local\""},
		{"if statement", "{% if value %}x{% endif %}", "only set is supported"},
		{"for loop", "{% for x in y %}{% endfor %}", "only set is supported"},
		{"function call", "{{ now() }}", "unsupported function call"},
		{"unknown method", "{{ value.split(',') }}", "unsupported function call"},
		{"slice", "{{ value[0:2] }}", "slices are not supported"},
		{"power operator", "{{ 2 ** 3 }}", "unsupported operator"},
		{"unknown test", "{{ value is even }}", "unsupported test"},
		{"keyword argument", "{{ value | round(precision=1) }}", "keyword arguments"},
		{"unterminated expression", "{{ value ", "expected \"}}\""},
		{"unterminated string", "{{ 'abc }}", "unterminated string"},
		{"unterminated comment", "{# x", "unterminated comment"},
		{"dangling operator", "{{ value + }}", "unexpected"},
		{"too long", "{{ value }}" + strings.Repeat(" ", MaxTemplateLen), "longer than"},
		{"too deep", strings.Repeat("{{ ", 1) + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100) + " }}", "nested deeper"},
		{"deep not chain", "{{ " + strings.Repeat("not ", 100) + "x }}", "nested deeper"},
		{"invalid utf8", "{{ '\xff' }}", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.tpl)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error containing %q", tt.tpl, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tt.tpl, err, tt.wantErr)
			}
		})
	}
}

func TestParseStatementErrorsWrapUnsupported(t *testing.T) {
	_, err := Parse("{% if value %}{% endif %}")
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("error %v does not wrap ErrUnsupported", err)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name, tpl, payload, wantErr string
	}{
		{"int of garbage without default", "{{ value | int }}", "abc", "int got invalid input"},
		{"float of garbage", "{{ value | float }}", "abc", "float got invalid input"},
		{"int of undefined", "{{ value_json.x | int }}", "{}", "int got invalid input"},
		{"division by zero", "{{ 1 / 0 }}", "", "division by zero"},
		{"comparing str and int", "{{ value > 1 }}", "a", "not supported between"},
		{"adding str and int", "{{ value + 1 }}", "a", "can only concatenate"},
		{"output too large", "{% set s = value ~ value %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s ~ s }}", strings.Repeat("x", 4000), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse(tt.tpl)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = tpl.Render(jsonVars(t, tt.payload))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Render error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestStrFormatsLikePython(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{true, "True"}, {false, "False"}, {nil, "None"}, {float64(21), "21.0"},
		{json.Number("21.0"), "21.0"}, {json.Number("3"), "3"}, {"ON", "ON"}, {7, "7"},
	}
	for _, tt := range tests {
		if got := Str(tt.in); got != tt.want {
			t.Errorf("Str(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRenderIsSafeForConcurrentUse(t *testing.T) {
	tpl, err := Parse("{% set v = {'a': 1} %}{{ v[value] }}")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	for range 4 {
		go func() {
			s, _ := tpl.Render(map[string]any{"value": "a"})
			done <- s
		}()
	}
	for range 4 {
		if s := <-done; s != "1" {
			t.Errorf("got %q", s)
		}
	}
}
