package hatemplate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// builtin is a filter or global function: its parameters by name (as
// Jinja2 and Home Assistant name them, so keyword arguments work), how
// many are required, and its implementation. For a filter the first
// parameter is the filtered value, which the call does not pass.
type builtin struct {
	name     string
	params   []string
	required int  // required parameters beyond a filter's value
	filter   bool // params[0] is the piped value
	variadic bool // every positional argument goes into one list (min, max)
	fn       func(ev *evaluator, args []any) (any, error)
}

// absent is an argument that was not given.
type absent struct{}

func given(v any) bool { _, ok := v.(absent); return !ok }

// bind matches positional and keyword arguments to parameters at parse
// time; a parameter not given is a nil node, evaluated to absent.
func (b *builtin) bind(pos []node, kw []kwarg) ([]node, error) {
	params := b.params
	if b.filter {
		params = params[1:]
	}
	if b.variadic {
		if len(kw) > 0 {
			return nil, fmt.Errorf("keyword arguments are not supported")
		}
		if len(pos) < b.required {
			return nil, fmt.Errorf("takes at least %d arguments", b.required)
		}
		return pos, nil
	}
	if len(pos) > len(params) {
		return nil, fmt.Errorf("takes at most %d arguments, got %d", len(params), len(pos))
	}
	out := make([]node, len(params))
	copy(out, pos)
	for _, k := range kw {
		i := slices.Index(params, k.name)
		if i < 0 {
			return nil, fmt.Errorf("unknown keyword argument %q", k.name)
		}
		if out[i] != nil {
			return nil, fmt.Errorf("argument %q given twice", k.name)
		}
		out[i] = k.x
	}
	for i := 0; i < b.required; i++ {
		if out[i] == nil {
			return nil, fmt.Errorf("missing argument %q", params[i])
		}
	}
	// Trailing parameters not given cost nothing at render time.
	for len(out) > 0 && out[len(out)-1] == nil {
		out = out[:len(out)-1]
	}
	return out, nil
}

// arg returns the i-th argument, absent when not given.
func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return absent{}
}

// orDefault returns the default argument when one was given, else err:
// Home Assistant's forgiving filters fail only without a default.
func orDefault(def any, err error) (any, error) {
	if given(def) {
		return def, nil
	}
	return nil, err
}

func noDefault(name string, v any) error {
	return fmt.Errorf("hatemplate: %s got invalid input %s and no default was specified", name, reprOf(v))
}

var (
	filters   = map[string]*builtin{}
	functions = map[string]*builtin{}
)

func addFilter(name string, required int, fn func(ev *evaluator, args []any) (any, error), params ...string) {
	filters[name] = &builtin{name: name, params: append([]string{"value"}, params...), required: required, filter: true, fn: fn}
}

func addFunction(b *builtin) { functions[b.name] = b }

func init() {
	addFilter("default", 0, fDefault, "default_value", "boolean")
	filters["d"] = filters["default"]
	addFilter("int", 0, fInt("int"), "default", "base")
	addFilter("float", 0, fFloat("float"), "default")
	addFilter("round", 0, fRound, "precision", "method", "default")
	for _, n := range []string{"lower", "upper", "string", "capitalize"} {
		addFilter(n, 0, fStringFunc(n))
	}
	addFilter("trim", 0, fTrim, "chars")
	addFilter("abs", 0, fAbs)
	addFilter("join", 0, fJoin, "d")
	addFilter("replace", 2, fReplace, "old", "new", "count")
	addFilter("is_defined", 0, fIsDefined)
	addFilter("iif", 0, fIif, "if_true", "if_false", "if_none")
	addFilter("is_number", 0, func(_ *evaluator, a []any) (any, error) { return isNumber(a[0]), nil })
	addFilter("length", 0, fLength)
	filters["count"] = filters["length"]
	addFilter("first", 0, fFirstLast(true))
	addFilter("last", 0, fFirstLast(false))
	addFilter("min", 0, fMinMax(-1), "case_sensitive")
	addFilter("max", 0, fMinMax(1), "case_sensitive")
	addFilter("from_json", 0, fFromJSON, "default")
	addFilter("to_json", 0, fToJSON)
	addFilter("as_timestamp", 0, fAsTimestamp, "default")
	addFilter("timestamp_local", 0, fTimestamp(true, ""), "default")
	addFilter("timestamp_utc", 0, fTimestamp(false, ""), "default")
	addFilter("timestamp_custom", 0, fTimestampCustom, "format_string", "local", "default")
	addFilter("regex_match", 0, fRegexMatch(true), "find", "ignorecase")
	addFilter("regex_search", 0, fRegexMatch(false), "find", "ignorecase")
	addFilter("regex_replace", 0, fRegexReplace, "find", "replace", "ignorecase")
	addFilter("regex_findall", 0, fRegexFindall, "find", "ignorecase")
	addFilter("regex_findall_index", 0, fRegexFindallIndex, "find", "index", "ignorecase")

	addFunction(&builtin{name: "now", fn: func(ev *evaluator, _ []any) (any, error) { return dateTime{ev.now().In(ev.loc())}, nil }})
	addFunction(&builtin{name: "utcnow", fn: func(ev *evaluator, _ []any) (any, error) { return dateTime{ev.now().UTC()}, nil }})
	addFunction(&builtin{name: "iif", params: []string{"value", "if_true", "if_false", "if_none"}, required: 1, fn: fIif})
	addFunction(&builtin{name: "float", params: []string{"value", "default"}, required: 1, fn: fFloat("float")})
	addFunction(&builtin{name: "int", params: []string{"value", "default", "base"}, required: 1, fn: fInt("int")})
	addFunction(&builtin{name: "as_timestamp", params: []string{"value", "default"}, required: 1, fn: fAsTimestamp})
	addFunction(&builtin{name: "is_number", params: []string{"value"}, required: 1,
		fn: func(_ *evaluator, a []any) (any, error) { return isNumber(a[0]), nil }})
	addFunction(&builtin{name: "min", required: 1, variadic: true, fn: fMinMaxFunc(-1)})
	addFunction(&builtin{name: "max", required: 1, variadic: true, fn: fMinMaxFunc(1)})
}

func fDefault(_ *evaluator, a []any) (any, error) {
	v, def, boolean := a[0], arg(a, 1), arg(a, 2)
	if !given(def) {
		def = ""
	}
	_, undef := v.(undefined)
	if undef || (given(boolean) && truthy(boolean) && !truthy(v)) {
		return def, nil
	}
	return v, nil
}

// fInt is Jinja2's do_int behind Home Assistant's forgiving wrapper.
func fInt(name string) func(*evaluator, []any) (any, error) {
	return func(_ *evaluator, a []any) (any, error) {
		v, def, base := a[0], arg(a, 1), arg(a, 2)
		if err := undefinedOperand(name, v); err != nil {
			return nil, err
		}
		b := int64(10)
		if given(base) {
			var ok bool
			if b, ok = integer(base); !ok || b < 2 || b > 36 {
				return nil, fmt.Errorf("hatemplate: %s: bad base %s", name, reprOf(base))
			}
		}
		if s, ok := v.(string); ok && b != 10 {
			t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
			neg := strings.HasPrefix(t, "-")
			t = strings.TrimLeft(t, "+-")
			prefix := map[int64]string{16: "0x", 8: "0o", 2: "0b"}[b]
			t = strings.TrimPrefix(t, prefix)
			if i, err := strconv.ParseInt(t, int(b), 64); err == nil {
				if neg {
					i = -i
				}
				return i, nil
			}
			return orDefault(def, noDefault(name, v))
		}
		if i, ok := toInt(v); ok {
			return i, nil
		}
		return orDefault(def, noDefault(name, v))
	}
}

func fFloat(name string) func(*evaluator, []any) (any, error) {
	return func(_ *evaluator, a []any) (any, error) {
		if err := undefinedOperand(name, a[0]); err != nil {
			return nil, err
		}
		if f, ok := toFloat(a[0]); ok {
			return f, nil
		}
		return orDefault(arg(a, 1), noDefault(name, a[0]))
	}
}

func fRound(_ *evaluator, a []any) (any, error) {
	if err := undefinedOperand("round", a[0]); err != nil {
		return nil, err
	}
	defs := []any{int64(0), "common"}
	var args []any
	for i := 1; i < len(a); i++ {
		v := a[i]
		if !given(v) {
			if i-1 >= len(defs) {
				break
			}
			v = defs[i-1]
		}
		args = append(args, v)
	}
	return round(a[0], args)
}

// undefinedOperand fails on an undefined value, default or not: Jinja2's
// Undefined refuses int() and float() with an UndefinedError, which the
// forgiving filters do not catch. (A missing JSON key must not read as the
// default: that would report a value the device never sent.)
func undefinedOperand(name string, v any) error {
	if _, ok := v.(undefined); ok {
		return fmt.Errorf("hatemplate: %s: the value is undefined", name)
	}
	return nil
}

func fStringFunc(name string) func(*evaluator, []any) (any, error) {
	return func(_ *evaluator, a []any) (any, error) {
		s, err := toStr(a[0])
		if err != nil {
			return nil, err
		}
		switch name {
		case "lower":
			return strings.ToLower(s), nil
		case "upper":
			return strings.ToUpper(s), nil
		case "capitalize":
			if s == "" {
				return s, nil
			}
			r := []rune(s)
			return strings.ToUpper(string(r[0])) + strings.ToLower(string(r[1:])), nil
		}
		return s, nil
	}
}

func fTrim(_ *evaluator, a []any) (any, error) {
	s, err := toStr(a[0])
	if err != nil {
		return nil, err
	}
	if c := arg(a, 1); given(c) && c != nil {
		cs, ok := c.(string)
		if !ok {
			return nil, fmt.Errorf("hatemplate: trim: chars must be a string")
		}
		return strings.Trim(s, cs), nil
	}
	return strings.TrimSpace(s), nil
}

func fAbs(_ *evaluator, a []any) (any, error) {
	v := a[0]
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

func fJoin(_ *evaluator, a []any) (any, error) {
	var args []any
	if sep := arg(a, 1); given(sep) {
		args = append(args, sep)
	}
	return join(a[0], args)
}

func fReplace(_ *evaluator, a []any) (any, error) {
	s, err := toStr(a[0])
	if err != nil {
		return nil, err
	}
	old, err1 := toStr(a[1])
	repl, err2 := toStr(a[2])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("hatemplate: replace: bad arguments")
	}
	n := -1
	if c := arg(a, 3); given(c) && c != nil {
		i, ok := integer(c)
		if !ok {
			return nil, fmt.Errorf("hatemplate: replace: count must be an int")
		}
		n = int(max(-1, min(i, int64(MaxOutputLen))))
	}
	if old != "" && len(repl) > len(old) && strings.Count(s, old)*(len(repl)-len(old))+len(s) > MaxOutputLen {
		return nil, fmt.Errorf("hatemplate: string longer than %d bytes", MaxOutputLen)
	}
	if old == "" && (utf8Len(s)+1)*len(repl)+len(s) > MaxOutputLen {
		return nil, fmt.Errorf("hatemplate: string longer than %d bytes", MaxOutputLen)
	}
	return strings.Replace(s, old, repl, n), nil
}

func utf8Len(s string) int { return len([]rune(s)) }

func fIsDefined(_ *evaluator, a []any) (any, error) {
	if _, undef := a[0].(undefined); undef {
		return nil, fmt.Errorf("hatemplate: is_defined: the value is undefined")
	}
	return a[0], nil
}

// fIif is Home Assistant's iif(value, if_true=True, if_false=False,
// if_none=<unset>).
func fIif(_ *evaluator, a []any) (any, error) {
	v, t, f, n := a[0], arg(a, 1), arg(a, 2), arg(a, 3)
	if !given(t) {
		t = true
	}
	if !given(f) {
		f = false
	}
	if v == nil && given(n) {
		return n, nil
	}
	if truthy(v) {
		return t, nil
	}
	return f, nil
}

func isNumber(v any) bool {
	if _, ok := v.(bool); ok {
		return false
	}
	f, ok := toFloat(v)
	return ok && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func fLength(_ *evaluator, a []any) (any, error) {
	switch x := a[0].(type) {
	case string:
		return int64(utf8Len(x)), nil
	case []any:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	case *dict:
		return int64(len(x.keys)), nil
	case undefined:
		return int64(0), nil
	}
	return nil, fmt.Errorf("hatemplate: object of type %s has no len()", typeName(a[0]))
}

func fFirstLast(first bool) func(*evaluator, []any) (any, error) {
	return func(_ *evaluator, a []any) (any, error) {
		var items []any
		switch x := a[0].(type) {
		case string:
			for _, r := range x {
				items = append(items, string(r))
			}
		case []any:
			items = x
		case undefined:
		default:
			return nil, fmt.Errorf("hatemplate: %s is not a sequence", typeName(a[0]))
		}
		if len(items) == 0 {
			return undefined{}, nil
		}
		if first {
			return normalize(items[0]), nil
		}
		return normalize(items[len(items)-1]), nil
	}
}

// minMax returns the smallest (sign -1) or largest (sign 1) item, strings
// compared case-insensitively as Jinja2's min/max filters do; the first of
// equal items wins, as in Python.
func minMax(items []any, sign int, fold bool) (any, error) {
	if len(items) == 0 {
		return undefined{}, nil
	}
	best := normalize(items[0])
	for _, it := range items[1:] {
		it = normalize(it)
		l, r := it, best
		if fold {
			if s, ok := l.(string); ok {
				l = strings.ToLower(s)
			}
			if s, ok := r.(string); ok {
				r = strings.ToLower(s)
			}
		}
		op := "<"
		if sign > 0 {
			op = ">"
		}
		better, err := compare(op, l, r)
		if err != nil {
			return nil, err
		}
		if better {
			best = it
		}
	}
	return best, nil
}

func fMinMax(sign int) func(*evaluator, []any) (any, error) {
	return func(_ *evaluator, a []any) (any, error) {
		cs := arg(a, 1)
		fold := !given(cs) || !truthy(cs)
		switch x := a[0].(type) {
		case []any:
			return minMax(x, sign, fold)
		case string:
			var items []any
			for _, r := range x {
				items = append(items, string(r))
			}
			return minMax(items, sign, fold)
		}
		return nil, fmt.Errorf("hatemplate: %s is not iterable", typeName(a[0]))
	}
}

// fMinMaxFunc is Home Assistant's min(...)/max(...), built on the filter:
// one argument is the iterable, several are the items.
func fMinMaxFunc(sign int) func(*evaluator, []any) (any, error) {
	return func(ev *evaluator, a []any) (any, error) {
		if len(a) == 1 {
			return fMinMax(sign)(ev, a)
		}
		return minMax(a, sign, true)
	}
}
