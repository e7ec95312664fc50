package hatemplate

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// evaluator holds one render's variables.
type evaluator struct {
	vars   map[string]any
	locals map[string]any // {% set %} results
	t      *Template      // for its regex cache
	env    Env
	nowAt  time.Time // the first now() of the render, so one render sees one instant
}

func (ev *evaluator) now() time.Time {
	if ev.nowAt.IsZero() {
		if ev.env.Now != nil {
			ev.nowAt = ev.env.Now()
		} else {
			ev.nowAt = time.Now()
		}
	}
	return ev.nowAt
}

func (ev *evaluator) loc() *time.Location {
	if ev.env.Location != nil {
		return ev.env.Location
	}
	return time.Local
}

// evalArgs evaluates bound arguments; a parameter not given is absent.
func (ev *evaluator) evalArgs(first any, ns []node, depth int) ([]any, error) {
	out := make([]any, 1, len(ns)+1)
	out[0] = first
	for _, n := range ns {
		if n == nil {
			out = append(out, absent{})
			continue
		}
		v, err := ev.eval(n, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (ev *evaluator) lookup(name string) any {
	if v, ok := ev.locals[name]; ok {
		return v
	}
	if v, ok := ev.vars[name]; ok {
		return normalize(v)
	}
	return undefined{}
}

func (ev *evaluator) eval(n node, depth int) (any, error) {
	if depth > 4*maxDepth {
		return nil, fmt.Errorf("hatemplate: expression nested too deeply")
	}
	depth++
	switch x := n.(type) {
	case litNode:
		return x.v, nil
	case nameNode:
		return ev.lookup(x.name), nil
	case attrNode:
		v, err := ev.eval(x.x, depth)
		if err != nil {
			return nil, err
		}
		return item(v, x.name), nil
	case indexNode:
		v, err := ev.eval(x.x, depth)
		if err != nil {
			return nil, err
		}
		k, err := ev.eval(x.idx, depth)
		if err != nil {
			return nil, err
		}
		return item(v, k), nil
	case callNode:
		return ev.call(x, depth)
	case filterNode:
		v, err := ev.eval(x.x, depth)
		if err != nil {
			return nil, err
		}
		args, err := ev.evalArgs(v, x.args, depth)
		if err != nil {
			return nil, err
		}
		return x.fn.fn(ev, args)
	case funcNode:
		args := make([]any, 0, len(x.args))
		for _, n := range x.args {
			if n == nil {
				args = append(args, absent{})
				continue
			}
			v, err := ev.eval(n, depth)
			if err != nil {
				return nil, err
			}
			args = append(args, v)
		}
		return x.fn.fn(ev, args)
	case testNode:
		v, err := ev.eval(x.x, depth)
		if err != nil {
			return nil, err
		}
		var a any
		if x.arg != nil {
			if a, err = ev.eval(x.arg, depth); err != nil {
				return nil, err
			}
		}
		ok, err := ev.applyTest(x.name, v, a)
		if err != nil {
			return nil, err
		}
		return ok != x.neg, nil
	case posNode:
		v, err := ev.eval(x.x, depth)
		if err != nil {
			return nil, err
		}
		if _, ok := number(v); !ok {
			return nil, fmt.Errorf("hatemplate: bad operand type for unary +: %s", typeName(v))
		}
		if b, ok := v.(bool); ok {
			i, _ := integer(b)
			return i, nil
		}
		return v, nil
	case notNode:
		v, err := ev.eval(x.x, depth)
		if err != nil {
			return nil, err
		}
		return !truthy(v), nil
	case negNode:
		v, err := ev.eval(x.x, depth)
		if err != nil {
			return nil, err
		}
		if _, ok := number(v); !ok {
			return nil, fmt.Errorf("hatemplate: bad operand type for unary -: %s", typeName(v))
		}
		return arith("-", int64(0), v)
	case condNode:
		c, err := ev.eval(x.cond, depth)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return ev.eval(x.a, depth)
		}
		if x.b == nil {
			return undefined{}, nil
		}
		return ev.eval(x.b, depth)
	case binNode:
		return ev.binary(x, depth)
	case listNode:
		return ev.evalAll(x.items, depth)
	case dictNode:
		d := &dict{}
		for i := range x.keys {
			k, err := ev.eval(x.keys[i], depth)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case []any, map[string]any, *dict, undefined:
				return nil, fmt.Errorf("hatemplate: unhashable dict key of type %s", typeName(k))
			}
			v, err := ev.eval(x.vals[i], depth)
			if err != nil {
				return nil, err
			}
			if j := d.index(k); j >= 0 {
				d.vals[j] = v // a repeated key keeps the last value, as in Python
				continue
			}
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, v)
		}
		return d, nil
	}
	return nil, fmt.Errorf("hatemplate: internal error: unknown node %T", n)
}

func (d *dict) index(k any) int {
	for i, key := range d.keys {
		if pyEqual(key, k) {
			return i
		}
	}
	return -1
}

func (ev *evaluator) evalAll(ns []node, depth int) ([]any, error) {
	out := make([]any, 0, len(ns))
	for _, n := range ns {
		v, err := ev.eval(n, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// item is Jinja's getattr/getitem: a missing key, an index out of range or
// a lookup on something without items is undefined, never an error.
func item(v, k any) any {
	k = normalize(k)
	switch x := v.(type) {
	case map[string]any:
		if s, ok := k.(string); ok {
			if e, ok := x[s]; ok {
				return normalize(e)
			}
		}
	case *dict:
		if e, ok := x.get(k); ok {
			return e
		}
	case []any:
		if i, ok := integer(k); ok {
			if i < 0 {
				i += int64(len(x))
			}
			if i >= 0 && i < int64(len(x)) {
				return normalize(x[i])
			}
		}
	case dateTime:
		if s, ok := k.(string); ok {
			return x.attr(s)
		}
	case string:
		if i, ok := integer(k); ok {
			r := []rune(x)
			if i < 0 {
				i += int64(len(r))
			}
			if i >= 0 && i < int64(len(r)) {
				return string(r[i])
			}
		}
	}
	return undefined{}
}

func (ev *evaluator) binary(x binNode, depth int) (any, error) {
	l, err := ev.eval(x.l, depth)
	if err != nil {
		return nil, err
	}
	// and/or short-circuit and return an operand, as in Python.
	switch x.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return ev.eval(x.r, depth)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return ev.eval(x.r, depth)
	}
	r, err := ev.eval(x.r, depth)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "==":
		return pyEqual(l, r), nil
	case "!=":
		return !pyEqual(l, r), nil
	case "<", ">", "<=", ">=":
		return compare(x.op, l, r)
	case "in":
		return contains(r, l)
	case "not in":
		ok, err := contains(r, l)
		return !ok, err
	case "~":
		ls, err := toStr(l)
		if err != nil {
			return nil, err
		}
		rs, err := toStr(r)
		if err != nil {
			return nil, err
		}
		if len(ls)+len(rs) > MaxOutputLen {
			return nil, fmt.Errorf("hatemplate: string longer than %d bytes", MaxOutputLen)
		}
		return ls + rs, nil
	}
	return arith(x.op, l, r)
}

func compare(op string, l, r any) (bool, error) {
	var c int
	if lf, ok := number(l); ok {
		rf, ok := number(r)
		if !ok {
			return false, fmt.Errorf("hatemplate: '%s' not supported between %s and %s", op, typeName(l), typeName(r))
		}
		switch {
		case lf < rf:
			c = -1
		case lf > rf:
			c = 1
		}
	} else if ls, ok := l.(string); ok {
		rs, ok := r.(string)
		if !ok {
			return false, fmt.Errorf("hatemplate: '%s' not supported between %s and %s", op, typeName(l), typeName(r))
		}
		c = strings.Compare(ls, rs)
	} else {
		return false, fmt.Errorf("hatemplate: '%s' not supported between %s and %s", op, typeName(l), typeName(r))
	}
	switch op {
	case "<":
		return c < 0, nil
	case ">":
		return c > 0, nil
	case "<=":
		return c <= 0, nil
	}
	return c >= 0, nil
}

func contains(container, x any) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := x.(string)
		if !ok {
			return false, fmt.Errorf("hatemplate: 'in <string>' requires a string, not %s", typeName(x))
		}
		return strings.Contains(c, s), nil
	case []any:
		for _, e := range c {
			if pyEqual(e, x) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		s, ok := x.(string)
		if !ok {
			return false, nil
		}
		_, found := c[s]
		return found, nil
	case *dict:
		_, found := c.get(x)
		return found, nil
	case undefined:
		return false, nil // Undefined iterates as empty
	}
	return false, fmt.Errorf("hatemplate: argument of type %s is not iterable", typeName(container))
}

// arith implements + - * / // % with Python's number semantics. Integer
// overflow (Python has none) falls back to floats.
func arith(op string, l, r any) (any, error) {
	if op == "+" {
		if ls, ok := l.(string); ok {
			rs, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("hatemplate: can only concatenate str (not %s) to str", typeName(r))
			}
			if len(ls)+len(rs) > MaxOutputLen {
				return nil, fmt.Errorf("hatemplate: string longer than %d bytes", MaxOutputLen)
			}
			return ls + rs, nil
		}
		if ll, ok := l.([]any); ok {
			rl, ok := r.([]any)
			if !ok {
				return nil, fmt.Errorf("hatemplate: can only concatenate list (not %s) to list", typeName(r))
			}
			if len(ll)+len(rl) > MaxOutputLen {
				return nil, fmt.Errorf("hatemplate: list longer than %d items", MaxOutputLen)
			}
			return append(append(make([]any, 0, len(ll)+len(rl)), ll...), rl...), nil
		}
	}
	li, lint := integer(l)
	ri, rint := integer(r)
	lf, lok := number(l)
	rf, rok := number(r)
	if !lok || !rok {
		return nil, fmt.Errorf("hatemplate: unsupported operand types for %s: %s and %s", op, typeName(l), typeName(r))
	}
	if lint && rint {
		switch op {
		case "+":
			if s := li + ri; (s > li) == (ri > 0) {
				return s, nil
			}
		case "-":
			if s := li - ri; (s < li) == (ri > 0) {
				return s, nil
			}
		case "*":
			if li == 0 || ri == 0 {
				return int64(0), nil
			}
			if p := li * ri; p/ri == li && !(li == -1 && ri == math.MinInt64) && !(ri == -1 && li == math.MinInt64) {
				return p, nil
			}
		case "//", "%":
			if ri == 0 {
				return nil, fmt.Errorf("hatemplate: integer division or modulo by zero")
			}
			if li == math.MinInt64 && ri == -1 {
				break
			}
			q, m := li/ri, li%ri
			if m != 0 && (m < 0) != (ri < 0) { // Python floors
				q--
				m += ri
			}
			if op == "//" {
				return q, nil
			}
			return m, nil
		}
	}
	if op == "**" {
		return power(li, ri, lint && rint, lf, rf)
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, fmt.Errorf("hatemplate: division by zero")
		}
		return lf / rf, nil
	case "//":
		if rf == 0 {
			return nil, fmt.Errorf("hatemplate: float floor division by zero")
		}
		return math.Floor(lf / rf), nil
	case "%":
		if rf == 0 {
			return nil, fmt.Errorf("hatemplate: float modulo by zero")
		}
		m := math.Mod(lf, rf)
		if m != 0 && (m < 0) != (rf < 0) {
			m += rf
		}
		return m, nil
	}
	return nil, fmt.Errorf("hatemplate: unsupported operator %q", op)
}

// power is Python's **: ints stay ints while they fit (a negative integer
// exponent gives a float), else floats.
func power(li, ri int64, ints bool, lf, rf float64) (any, error) {
	if ints && ri >= 0 {
		r, b, e := int64(1), li, ri
		ok := true
		for e > 0 && ok {
			if e&1 == 1 {
				if p := r * b; b != 0 && p/b != r {
					ok = false
				} else {
					r = p
				}
			}
			e >>= 1
			if e > 0 {
				if sq := b * b; b != 0 && sq/b != b {
					ok = false
				} else {
					b = sq
				}
			}
		}
		if ok {
			return r, nil
		}
	}
	if lf == 0 && rf < 0 {
		return nil, fmt.Errorf("hatemplate: 0.0 cannot be raised to a negative power")
	}
	f := math.Pow(lf, rf)
	if math.IsNaN(f) && !math.IsNaN(lf) && !math.IsNaN(rf) {
		return nil, fmt.Errorf("hatemplate: math domain error")
	}
	if math.IsInf(f, 0) && !math.IsInf(lf, 0) && !math.IsInf(rf, 0) {
		return nil, fmt.Errorf("hatemplate: numerical result out of range")
	}
	return f, nil
}
