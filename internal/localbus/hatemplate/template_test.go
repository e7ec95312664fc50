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

func TestParseRefusesUnsupported(t *testing.T) {
	tests := []struct {
		name, tpl, wantErr string
	}{
		{"unknown filter", "{{ value | slugify }}", "filter \"slugify\": unsupported"},
		{"for loop", "{% for x in y %}{% endfor %}", "statement \"for\": unsupported"},
		{"macro", "{% macro m() %}{% endmacro %}", "statement \"macro\": unsupported"},
		{"state machine function", "{{ states('sensor.x') }}", "function states(): unsupported"},
		{"unknown method", "{{ value.title() }}", "method title(): unsupported"},
		{"call of an expression", "{{ value_json.l[0]() }}", "calling this expression: unsupported"},
		{"slice", "{{ value[0:2] }}", "slice: unsupported"},
		{"unknown test", "{{ value is containing }}", "test \"containing\": unsupported"},
		{"unknown keyword argument", "{{ value | round(digits=1) }}", "unknown keyword argument \"digits\""},
		{"positional after keyword", "{{ value | round(precision=1, 'floor') }}", "positional argument after a keyword"},
		{"too many arguments", "{{ value | replace('a', 'b', 1, 2) }}", "at most 3 arguments"},
		{"missing argument", "{{ value | replace('a') }}", "missing argument \"new\""},
		{"unclosed if", "{% if value %}x", "without {% endif %}"},
		{"stray endif", "x{% endif %}", "endif outside an if block"},
		{"elif after else", "{% if a %}{% else %}{% elif b %}{% endif %}", "elif outside an if block"},
		{"if nested too deep", strings.Repeat("{% if a %}", 40), "nested deeper"},
		{"unterminated expression", "{{ value ", "expected \"}}\""},
		{"unterminated string", "{{ 'abc }}", "unterminated string"},
		{"if tag with trailing text", "{% if a b %}{% endif %}", "expected \"%}\""},
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
	_, err := Parse("{% for x in value %}{% endfor %}")
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
		{"int of undefined, even with a default", "{{ value_json.x | int(0) }}", "{}", "the value is undefined"},
		{"regex with look-ahead", "{{ value | regex_match('a(?=b)') }}", "ab", "unsupported"},
		{"regex pattern too long", "{{ value | regex_search('' ~ value) }}", strings.Repeat("a", 300), "longer than 256"},
		{"strftime directive unknown", "{{ now().strftime('%U') }}", "", "directive %U"},
		{"replace growing past the bound", "{{ value | replace('a', value) }}", strings.Repeat("a", 1000), "longer than"},
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
