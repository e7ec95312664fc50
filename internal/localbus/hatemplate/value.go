package hatemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Values during rendering are Go values: nil (None), bool, int64, float64,
// string, []any, map[string]any (JSON objects), *dict (literals, which keep
// their order and may have non-string keys) and undefined.

// undefined is Jinja's Undefined: renders empty, is falsy, and is what
// default() replaces.
type undefined struct{}

// dict is a dict literal.
type dict struct {
	keys, vals []any
}

func (d *dict) get(k any) (any, bool) {
	for i, key := range d.keys {
		if pyEqual(key, k) {
			return d.vals[i], true
		}
	}
	return nil, false
}

// normalize converts the Go values callers and encoding/json hand us into
// the evaluator's set. Containers are normalized lazily, on access.
func normalize(v any) any {
	if v == nil {
		return nil
	}
	switch x := v.(type) {
	case json.Number:
		// ParseInt only on what it can accept (base 10 digits): a failed
		// parse allocates its error, and most state numbers are fractions.
		if isDecimalInt(string(x)) {
			if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return i
			}
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return f
		}
		return string(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case bool, int64, float64, string, []any, map[string]any, *dict, undefined, dateTime:
		return v
	}
	return undefined{}
}

// isDecimalInt reports whether s is [+-]?[0-9]+, the only text
// strconv.ParseInt(s, 10, 64) may accept.
func isDecimalInt(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case map[string]any, *dict:
		return "dict"
	case undefined:
		return "Undefined"
	case dateTime:
		return "datetime"
	}
	return fmt.Sprintf("%T", v)
}

// number returns v as a float and whether v is numeric (bool counts, as in
// Python).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// integer returns v as an int64 when it is a bool or int.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return x, true
	}
	return 0, false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case *dict:
		return len(x.keys) > 0
	}
	return true
}

// pyEqual compares the way Python's == does for the values we hold.
func pyEqual(a, b any) bool {
	a, b = normalize(a), normalize(b)
	if ai, ok := integer(a); ok {
		if bi, ok := integer(b); ok {
			return ai == bi
		}
	}
	if af, ok := number(a); ok {
		bf, ok := number(b)
		return ok && af == bf
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case undefined:
		_, ok := b.(undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, pyEqual)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !pyEqual(v, w) {
				return false
			}
		}
		return true
	case *dict:
		y, ok := b.(*dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for i, k := range x.keys {
			if w, ok := y.get(k); !ok || !pyEqual(x.vals[i], w) {
				return false
			}
		}
		return true
	}
	return false
}

// pyFloat formats f as Python's repr does: shortest round-trip digits,
// always a ".0" on integral values, exponent outside [1e-4, 1e16).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Go writes 1e+16 and 1e-05 like Python; only a mantissa without a
		// fraction differs: Python also omits ".0" there, so nothing to do.
		return s
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// writeStr writes str(v) in Python's spelling.
func writeStr(b *strings.Builder, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("hatemplate: value nested deeper than %d", maxDepth)
	}
	if b.Len() > MaxOutputLen {
		return fmt.Errorf("hatemplate: output longer than %d bytes", MaxOutputLen)
	}
	switch x := normalize(v).(type) {
	case undefined:
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		b.WriteString(x)
	case dateTime:
		b.WriteString(x.isoformat(" "))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeRepr(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		// Go maps have no order; sorted keys keep the output stable.
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteString(", ")
			}
			writeQuoted(b, k)
			b.WriteString(": ")
			if err := writeRepr(b, x[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case *dict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeRepr(b, k, depth+1); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := writeRepr(b, x.vals[i], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	}
	return nil
}

// writeRepr writes repr(v): strings quoted, the rest as str.
func writeRepr(b *strings.Builder, v any, depth int) error {
	switch x := normalize(v).(type) {
	case string:
		writeQuoted(b, x)
		return nil
	case undefined:
		b.WriteString("Undefined")
		return nil
	case dateTime:
		b.WriteString("datetime.datetime(...)")
		return nil
	default:
		return writeStr(b, x, depth)
	}
}

func writeQuoted(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == q:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
}

func toStr(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	var b strings.Builder
	if err := writeStr(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}
