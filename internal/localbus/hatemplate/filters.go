package hatemplate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// knownFilter lists the filters the subset supports. Everything else
// (timestamp_local, regex_*, from_json, ...) is refused at parse time.
func knownFilter(name string) bool {
	switch name {
	case "int", "float", "round", "lower", "upper", "default", "d", "string", "trim", "abs", "join":
		return true
	}
	return false
}

// knownMethod lists the few methods publishers call on dicts and strings.
func knownMethod(name string) bool {
	switch name {
	case "keys", "values", "get", "lower", "upper", "strip":
		return true
	}
	return false
}

func wantArgs(name string, args []any, lo, hi int) error {
	if len(args) < lo || len(args) > hi {
		return fmt.Errorf("hatemplate: %s takes %d to %d arguments, got %d", name, lo, hi, len(args))
	}
	return nil
}

func applyFilter(name string, v any, args []any) (any, error) {
	switch name {
	case "default", "d":
		if err := wantArgs(name, args, 0, 2); err != nil {
			return nil, err
		}
		def := any("")
		if len(args) > 0 {
			def = args[0]
		}
		_, undef := v.(undefined)
		if undef || (len(args) > 1 && truthy(args[1]) && !truthy(v)) {
			return def, nil
		}
		return v, nil
	case "int":
		if err := wantArgs(name, args, 0, 1); err != nil {
			return nil, err
		}
		if i, ok := toInt(v); ok {
			return i, nil
		}
		if len(args) == 1 {
			return args[0], nil
		}
		return nil, fmt.Errorf("hatemplate: int got invalid input %s and no default was specified", reprOf(v))
	case "float":
		if err := wantArgs(name, args, 0, 1); err != nil {
			return nil, err
		}
		if f, ok := toFloat(v); ok {
			return f, nil
		}
		if len(args) == 1 {
			return args[0], nil
		}
		return nil, fmt.Errorf("hatemplate: float got invalid input %s and no default was specified", reprOf(v))
	case "round":
		return round(v, args)
	case "lower", "upper", "trim", "string":
		if err := wantArgs(name, args, 0, 0); err != nil {
			return nil, err
		}
		s, err := toStr(v)
		if err != nil {
			return nil, err
		}
		switch name {
		case "lower":
			return strings.ToLower(s), nil
		case "upper":
			return strings.ToUpper(s), nil
		case "trim":
			return strings.TrimSpace(s), nil
		}
		return s, nil
	case "join":
		return join(v, args)
	case "abs":
		if err := wantArgs(name, args, 0, 0); err != nil {
			return nil, err
		}
		if i, ok := integer(v); ok && i != math.MinInt64 {
			if i < 0 {
				i = -i
			}
			return i, nil
		}
		if f, ok := number(v); ok {
			return math.Abs(f), nil
		}
		return nil, fmt.Errorf("hatemplate: bad operand type for abs(): %s", typeName(v))
	}
	return nil, fmt.Errorf("hatemplate: filter %q: %w", name, ErrUnsupported)
}

func reprOf(v any) string {
	var b strings.Builder
	if err := writeRepr(&b, v, 0); err != nil || b.Len() > 64 {
		return typeName(v)
	}
	return b.String()
}

// toInt is Jinja's int filter: ints and bools as they are, floats
// truncated, strings parsed as an integer or else as a float.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case bool, int64:
		return integer(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<63 {
			return 0, false
		}
		return int64(x), true
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64); err == nil {
			return i, true
		}
		if f, ok := parsePyFloat(s); ok {
			return toInt(f)
		}
	}
	return 0, false
}

// toFloat is Python's float(): numbers and numeric strings.
func toFloat(v any) (float64, bool) {
	if s, ok := v.(string); ok {
		return parsePyFloat(strings.TrimSpace(s))
	}
	return number(v)
}

func parsePyFloat(s string) (float64, bool) {
	l := strings.ToLower(s)
	// Go also reads hex floats and "infinity" spellings Python refuses or
	// spells differently; keep to decimal numbers, inf and nan.
	if strings.Contains(l, "0x") || strings.Contains(l, "p") || s == "" {
		return 0, false
	}
	switch strings.TrimLeft(l, "+-") {
	case "inf", "infinity", "nan":
	default:
		if strings.ContainsAny(l, "abcdfghijklmnoqrstuvwxyz") {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return f, err == nil
}

// round is Home Assistant's round filter: round(precision=0,
// method="common"); precision 0 gives an int, ties go to even as in Python.
func round(v any, args []any) (any, error) {
	if err := wantArgs("round", args, 0, 3); err != nil {
		return nil, err
	}
	prec := int64(0)
	if len(args) > 0 {
		p, ok := integer(args[0])
		if !ok || p < 0 || p > 15 {
			return nil, fmt.Errorf("hatemplate: round: bad precision %s", reprOf(args[0]))
		}
		prec = p
	}
	method := "common"
	if len(args) > 1 {
		s, ok := args[1].(string)
		if !ok {
			return nil, fmt.Errorf("hatemplate: round: bad method %s", reprOf(args[1]))
		}
		method = s
	}
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		if len(args) > 2 {
			return args[2], nil
		}
		return nil, fmt.Errorf("hatemplate: round got invalid input %s and no default was specified", reprOf(v))
	}
	mul := math.Pow(10, float64(prec))
	switch method {
	case "ceil":
		f = math.Ceil(f*mul) / mul
	case "floor":
		f = math.Floor(f*mul) / mul
	case "half":
		f = math.RoundToEven(f*2) / 2
	default:
		// FormatFloat rounds the exact binary value half-to-even, which is
		// what Python's round(x, n) does.
		f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(prec), 64), 64)
	}
	if prec == 0 {
		if i, ok := toInt(f); ok {
			return i, nil
		}
	}
	return f, nil
}

func applyTest(name string, v any) bool {
	switch name {
	case "defined":
		_, undef := v.(undefined)
		return !undef
	case "undefined":
		_, undef := v.(undefined)
		return undef
	case "none":
		return v == nil
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		_, ok := v.(int64)
		return ok
	case "float":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "mapping":
		switch v.(type) {
		case map[string]any, *dict:
			return true
		}
	}
	return false
}

func (ev *evaluator) call(c callNode, depth int) (any, error) {
	a := c.x.(attrNode)
	recv, err := ev.eval(a.x, depth)
	if err != nil {
		return nil, err
	}
	args, err := ev.evalAll(c.args, depth)
	if err != nil {
		return nil, err
	}
	switch r := recv.(type) {
	case map[string]any, *dict:
		keys, vals := dictItems(r)
		switch a.name {
		case "keys":
			return keys, wantArgs(a.name, args, 0, 0)
		case "values":
			return vals, wantArgs(a.name, args, 0, 0)
		case "get":
			if err := wantArgs(a.name, args, 1, 2); err != nil {
				return nil, err
			}
			if v := item(r, args[0]); !applyTest("undefined", v) {
				return v, nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return nil, nil
		}
	case string:
		if err := wantArgs(a.name, args, 0, 0); err != nil {
			return nil, err
		}
		switch a.name {
		case "lower":
			return strings.ToLower(r), nil
		case "upper":
			return strings.ToUpper(r), nil
		case "strip":
			return strings.TrimSpace(r), nil
		}
	}
	return nil, fmt.Errorf("hatemplate: %s has no method %s", typeName(recv), a.name)
}

func dictItems(d any) (keys, vals []any) {
	switch x := d.(type) {
	case map[string]any:
		for k, v := range x {
			keys = append(keys, k)
			vals = append(vals, normalize(v))
		}
	case *dict:
		keys, vals = append(keys, x.keys...), append(vals, x.vals...)
	}
	return keys, vals
}

// join is Jinja's join(separator=""): the items' str() joined.
func join(v any, args []any) (any, error) {
	if err := wantArgs("join", args, 0, 1); err != nil {
		return nil, err
	}
	sep := ""
	if len(args) == 1 {
		s, err := toStr(args[0])
		if err != nil {
			return nil, err
		}
		sep = s
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case string:
		for _, r := range x {
			items = append(items, string(r))
		}
	case undefined:
	default:
		return nil, fmt.Errorf("hatemplate: join: %s is not iterable", typeName(v))
	}
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(sep)
		}
		if err := writeStr(&b, it, 1); err != nil {
			return nil, err
		}
		if b.Len() > MaxOutputLen {
			return nil, fmt.Errorf("hatemplate: string longer than %d bytes", MaxOutputLen)
		}
	}
	return b.String(), nil
}
