package hatemplate

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// knownMethod lists the methods publishers call on dicts, strings and
// datetimes.
func knownMethod(name string) bool {
	switch name {
	case "keys", "values", "items", "get", "lower", "upper", "strip", "split", "replace", "startswith", "endswith",
		"isoformat", "timestamp", "strftime":
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

// knownTest returns how many arguments a test takes.
func knownTest(name string) (int, bool) {
	switch name {
	case "defined", "undefined", "none", "number", "string", "mapping", "boolean", "integer", "float",
		"true", "false", "sequence", "iterable", "odd", "even", "is_number", "list":
		return 0, true
	case "eq", "ne", "lt", "le", "gt", "ge", "in", "match", "search", "divisibleby":
		return 1, true
	}
	return 0, false
}

func (ev *evaluator) applyTest(name string, v, a any) (bool, error) {
	switch name {
	case "defined":
		_, undef := v.(undefined)
		return !undef, nil
	case "undefined":
		_, undef := v.(undefined)
		return undef, nil
	case "none":
		return v == nil, nil
	case "number":
		_, ok := number(v)
		return ok, nil
	case "is_number":
		return isNumber(v), nil
	case "integer":
		_, ok := v.(int64)
		return ok, nil
	case "float":
		_, ok := v.(float64)
		return ok, nil
	case "boolean":
		_, ok := v.(bool)
		return ok, nil
	case "true", "false":
		b, ok := v.(bool)
		return ok && b == (name == "true"), nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "mapping":
		switch v.(type) {
		case map[string]any, *dict:
			return true, nil
		}
		return false, nil
	case "list":
		_, ok := v.([]any)
		return ok, nil
	case "sequence", "iterable":
		switch v.(type) {
		case string, []any, map[string]any, *dict:
			return true, nil
		}
		return false, nil
	case "odd", "even", "divisibleby":
		i, ok := integer(v)
		if !ok {
			return false, fmt.Errorf("hatemplate: test %s needs an int, not %s", name, typeName(v))
		}
		switch name {
		case "odd":
			return i%2 != 0, nil
		case "even":
			return i%2 == 0, nil
		}
		n, ok := integer(a)
		if !ok || n == 0 {
			return false, fmt.Errorf("hatemplate: divisibleby needs a non-zero int")
		}
		return i%n == 0, nil
	case "eq":
		return pyEqual(v, a), nil
	case "ne":
		return !pyEqual(v, a), nil
	case "lt", "le", "gt", "ge":
		return compare(map[string]string{"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[name], v, a)
	case "in":
		return contains(a, v)
	case "match", "search":
		r, err := fRegexMatch(name == "match")(ev, []any{v, a})
		if err != nil {
			return false, err
		}
		return r.(bool), nil
	}
	return false, fmt.Errorf("hatemplate: test %q: %w", name, ErrUnsupported)
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
		if m, ok := r.(map[string]any); ok {
			keys, vals = sortedItems(m)
		}
		switch a.name {
		case "keys":
			return keys, wantArgs(a.name, args, 0, 0)
		case "values":
			return vals, wantArgs(a.name, args, 0, 0)
		case "items":
			if err := wantArgs(a.name, args, 0, 0); err != nil {
				return nil, err
			}
			out := make([]any, len(keys))
			for i := range keys {
				out[i] = []any{keys[i], vals[i]}
			}
			return out, nil
		case "get":
			if err := wantArgs(a.name, args, 1, 2); err != nil {
				return nil, err
			}
			if v := item(r, args[0]); v != (undefined{}) {
				return v, nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return nil, nil
		}
	case string:
		return strMethod(r, a.name, args)
	case dateTime:
		return r.method(a.name, args)
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

// sortedItems lists a JSON object's items by key: Go maps keep no order
// (Python keeps the payload's; see the package documentation).
func sortedItems(m map[string]any) (keys, vals []any) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		keys = append(keys, k)
		vals = append(vals, normalize(m[k]))
	}
	return keys, vals
}

// strMethod calls a str method.
func strMethod(s, name string, args []any) (any, error) {
	strArg := func(i int) (string, error) {
		a, ok := args[i].(string)
		if !ok {
			return "", fmt.Errorf("hatemplate: %s: argument must be str, not %s", name, typeName(args[i]))
		}
		return a, nil
	}
	switch name {
	case "lower", "upper", "strip":
		if err := wantArgs(name, args, 0, 1); err != nil {
			return nil, err
		}
		switch name {
		case "lower":
			return strings.ToLower(s), wantArgs(name, args, 0, 0)
		case "upper":
			return strings.ToUpper(s), wantArgs(name, args, 0, 0)
		}
		if len(args) == 1 && args[0] != nil {
			cs, err := strArg(0)
			if err != nil {
				return nil, err
			}
			return strings.Trim(s, cs), nil
		}
		return strings.TrimSpace(s), nil
	case "split":
		if err := wantArgs(name, args, 0, 2); err != nil {
			return nil, err
		}
		n := -1
		if len(args) == 2 {
			m, ok := integer(args[1])
			if !ok {
				return nil, fmt.Errorf("hatemplate: split: maxsplit must be an int")
			}
			if m >= 0 {
				n = int(min(m, int64(len(s)))) + 1
			}
		}
		var parts []string
		if len(args) == 0 || args[0] == nil {
			parts = strings.Fields(s)
			if n > 0 && len(parts) > n {
				// Python keeps the rest of the text after maxsplit words.
				rest := s
				parts = parts[:0]
				for i := 0; i < n-1; i++ {
					rest = strings.TrimLeft(rest, " \t\r\n\v\f")
					j := strings.IndexAny(rest, " \t\r\n\v\f")
					parts = append(parts, rest[:j])
					rest = rest[j:]
				}
				parts = append(parts, strings.TrimLeft(rest, " \t\r\n\v\f"))
			}
		} else {
			sep, err := strArg(0)
			if err != nil {
				return nil, err
			}
			if sep == "" {
				return nil, fmt.Errorf("hatemplate: split: empty separator")
			}
			parts = strings.SplitN(s, sep, n)
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case "replace":
		if err := wantArgs(name, args, 2, 3); err != nil {
			return nil, err
		}
		return fReplace(nil, append([]any{s}, args...))
	case "startswith", "endswith":
		if err := wantArgs(name, args, 1, 1); err != nil {
			return nil, err
		}
		p, err := strArg(0)
		if err != nil {
			return nil, err
		}
		if name == "startswith" {
			return strings.HasPrefix(s, p), nil
		}
		return strings.HasSuffix(s, p), nil
	}
	return nil, fmt.Errorf("hatemplate: str has no method %s", name)
}
