package hatemplate

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzTemplate parses arbitrary template text and renders it against an
// arbitrary payload: neither may panic, hang, or exceed the output bound.
func FuzzTemplate(f *testing.F) {
	f.Add("{{ value_json.temperature }}", `{"temperature":21.0}`)
	f.Add("{% set v = {'a':'b'} %}{{ v[value] }}", "a")
	f.Add("{{ 'ON' if value_json.state in ['on', 'ON'] else 'OFF' }}", `{"state":"on"}`)
	f.Add("{{ (value | float * 2.55) | round(0) | int }}", "50")
	f.Fuzz(func(t *testing.T, src, payload string) {
		tpl, err := Parse(src)
		if err != nil {
			return
		}
		vars := map[string]any{"value": payload, "position": 10, "x": 1.5}
		var v any
		if json.Unmarshal([]byte(payload), &v) == nil {
			vars["value_json"] = v
		}
		out, err := tpl.Render(vars)
		if err != nil {
			return
		}
		if len(out) > MaxOutputLen+MaxTemplateLen {
			t.Fatalf("output of %d bytes exceeds the bound", len(out))
		}
		if utf8.ValidString(src) && utf8.ValidString(payload) && !utf8.ValidString(out) {
			// Indexing strings is by rune, so valid input stays valid.
			t.Fatalf("invalid UTF-8 output %q", out)
		}
	})
}
