package hatemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// fFromJSON is Home Assistant's from_json: text decoded as JSON, bounded
// like the payloads discovery decodes.
func fFromJSON(_ *evaluator, a []any) (any, error) {
	s, ok := a[0].(string)
	if !ok {
		return orDefault(arg(a, 1), fmt.Errorf("hatemplate: from_json: the JSON object must be str, not %s", typeName(a[0])))
	}
	if depth := jsonDepth(s); depth > maxDepth {
		return nil, fmt.Errorf("hatemplate: from_json: JSON nested deeper than %d", maxDepth)
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return orDefault(arg(a, 1), fmt.Errorf("hatemplate: from_json: invalid JSON"))
	}
	return normalize(v), nil
}

func jsonDepth(s string) int {
	depth, top := 0, 0
	in, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				in = false
			}
		case c == '"':
			in = true
		case c == '{' || c == '[':
			depth++
			top = max(top, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return top
}

// fToJSON is Home Assistant's to_json: compact JSON, floats as Python
// writes them, non-ASCII kept.
func fToJSON(_ *evaluator, a []any) (any, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, a[0], 0); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func writeJSON(b *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("hatemplate: value nested deeper than %d", maxDepth)
	}
	if b.Len() > MaxOutputLen {
		return fmt.Errorf("hatemplate: output longer than %d bytes", MaxOutputLen)
	}
	switch x := normalize(v).(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		s := pyFloat(x)
		if s == "nan" || s == "inf" || s == "-inf" {
			return fmt.Errorf("hatemplate: to_json: %s is not JSON", s)
		}
		b.WriteString(s)
	case string:
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any, *dict:
		keys, vals := dictItems(x)
		if m, ok := x.(map[string]any); ok {
			keys, vals = sortedItems(m)
		}
		b.WriteByte('{')
		for i, k := range keys {
			ks, ok := k.(string)
			if !ok {
				ks = Str(k)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, ks, depth+1); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeJSON(b, vals[i], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("hatemplate: to_json: %s is not JSON serializable", typeName(v))
	}
	return nil
}
