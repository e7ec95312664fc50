package hatemplate

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// goldenFile is written by testdata/golden.py from real Jinja2 with Home
// Assistant's filters; see that script for the environment and for the
// deliberate differences it lists.
type goldenFile struct {
	Now   string `json:"now"`
	Cases []struct {
		Name     string         `json:"name"`
		Template string         `json:"template"`
		Payload  string         `json:"payload"`
		Vars     map[string]any `json:"vars"`
		Jinja2   struct {
			Kind   string `json:"kind"` // output, error (render), syntax (template)
			Output string `json:"output"`
			Error  string `json:"error"`
		} `json:"jinja2"`
		Difference *struct {
			Hatemplate string `json:"hatemplate"`
			Why        string `json:"why"`
		} `json:"difference"`
	} `json:"cases"`
}

// TestRenderAgreesWithJinja2 renders every golden case: the output must be
// Jinja2's; a Jinja2 render error must be a render error here, a Jinja2
// syntax error a parse error; a listed difference must be exactly the
// documented result.
func TestRenderAgreesWithJinja2(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse(time.RFC3339Nano, g.Now)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Now: func() time.Time { return now }, Location: time.UTC}
	if len(g.Cases) < 100 {
		t.Fatalf("golden file has %d cases; regenerate it with testdata/golden.py", len(g.Cases))
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			got := renderOutcome(c.Template, c.Payload, c.Vars, env)
			if c.Difference != nil {
				if got != c.Difference.Hatemplate {
					t.Errorf("%q: got %q, documented difference says %q (%s)", c.Template, got, c.Difference.Hatemplate, c.Difference.Why)
				}
				return
			}
			switch c.Jinja2.Kind {
			case "output":
				if got != c.Jinja2.Output {
					t.Errorf("%q with %q: got %q, Jinja2 renders %q", c.Template, c.Payload, got, c.Jinja2.Output)
				}
			case "error":
				if got != "error" {
					t.Errorf("%q with %q: got %q, Jinja2 fails: %s", c.Template, c.Payload, got, c.Jinja2.Error)
				}
			case "syntax":
				if got != "syntax" && got != "refused" {
					t.Errorf("%q: got %q, Jinja2 refuses it: %s", c.Template, got, c.Jinja2.Error)
				}
			default:
				t.Fatalf("unknown kind %q", c.Jinja2.Kind)
			}
		})
	}
}

// renderOutcome is the rendered text, or "refused" (unsupported
// construct), "syntax" (other parse error), "error" (render error).
func renderOutcome(src, payload string, extra map[string]any, env Env) string {
	tpl, err := Parse(src)
	if errors.Is(err, ErrUnsupported) {
		return "refused"
	}
	if err != nil {
		return "syntax"
	}
	vars := map[string]any{"value": payload}
	d := json.NewDecoder(strings.NewReader(payload))
	d.UseNumber()
	var v any
	if d.Decode(&v) == nil {
		vars["value_json"] = v
	}
	for k, x := range extra {
		if f, ok := x.(float64); ok && f == float64(int64(f)) {
			x = int64(f) // the script's variables are Python ints
		}
		vars[k] = x
	}
	out, err := tpl.RenderEnv(vars, env)
	if err != nil {
		return "error"
	}
	return out
}
