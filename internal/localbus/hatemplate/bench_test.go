package hatemplate

import "testing"

// BenchmarkRender compares the control-flow templates publishers now send
// with the plain attribute template most state uses (the baseline).
func BenchmarkRender(b *testing.B) {
	vars := map[string]any{"value": `{"running":true,"position":40}`,
		"value_json": map[string]any{"running": true, "position": int64(40), "temperature": 21.5}}
	for _, c := range []struct{ name, src string }{
		{"baseline attribute", "{{ value_json.temperature }}"},
		{"z2m cover if/else", `{% if "running" in value_json and value_json.running %} {% if value_json.position > 0 %} closing {% else %} opening {% endif %} {% else %} stopped {% endif %}`},
		{"iif and float default", "{{ iif(value_json.position | float(0) > 50, 'open', 'closed') }}"},
		{"regex_replace", "{{ value | regex_replace('[^0-9]', '') }}"},
	} {
		tpl, err := Parse(c.src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tpl.Render(vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
