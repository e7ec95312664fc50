package hadiscovery

import (
	"math"
	"strconv"
)

// jsonObject is a state payload's top-level JSON object as the components
// that decode a whole object (json schema lights, vacuums) read it: its
// members in order, each value kept as its text and decoded only when
// asked for. Scanning one allocates nothing unless a key has escapes,
// where building a map[string]any would allocate the map and box every
// string and number: this is the path of every Zigbee2MQTT light report.
// It reads as the map would: the last of duplicate keys wins, and a
// payload that is not valid JSON as a whole is no object at all.
type jsonObject struct{ fields []jsonField }

// jsonField is one member: its key (unescaped) and its value's JSON text.
type jsonField struct{ key, raw string }

// scanObject scans text, which must be one JSON object and nothing else
// (whitespace aside), valid to the last byte and nested no deeper than
// MaxJSONDepth, exactly as parseStateJSON would accept it. The members are
// appended to fields (cleared first); fields' storage is returned for
// reuse.
func scanObject(text string, fields []jsonField) ([]jsonField, bool) {
	fields = fields[:0]
	p := jsonParser{s: text}
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return fields, false
	}
	p.i++
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
	} else {
		for {
			k, ok := p.memberName()
			if !ok {
				return fields, false
			}
			start := p.i
			if !p.skip(2) { // the members of the top level (1)
				return fields, false
			}
			fields = append(fields, jsonField{key: k, raw: p.s[start:p.i]})
			p.skipSpace()
			if p.i >= len(p.s) {
				return fields, false
			}
			if p.s[p.i] == '}' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return fields, false
			}
			p.i++
			p.skipSpace()
		}
	}
	p.skipSpace()
	return fields, p.i == len(p.s)
}

// raw returns the text of key's value (the last one of duplicates).
func (o jsonObject) raw(key string) (string, bool) {
	for i := len(o.fields) - 1; i >= 0; i-- {
		if o.fields[i].key == key {
			return o.fields[i].raw, true
		}
	}
	return "", false
}

// str returns key's value if it is a string.
func (o jsonObject) str(key string) (string, bool) {
	r, ok := o.raw(key)
	if !ok || r[0] != '"' {
		return "", false
	}
	p := jsonParser{s: r}
	return p.str()
}

// num returns key's value if it is a finite number (as jsonNum reads a
// json.Number).
func (o jsonObject) num(key string) (float64, bool) {
	r, ok := o.raw(key)
	if !ok || (r[0] != '-' && !isDigit(r[0])) {
		return 0, false
	}
	f, err := strconv.ParseFloat(r, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// object returns key's value if it is an object, decoded as value_json
// would hold it (only the rare nested values are decoded into maps).
func (o jsonObject) object(key string) (map[string]any, bool) {
	r, ok := o.raw(key)
	if !ok || r[0] != '{' {
		return nil, false
	}
	v, ok := parseStateJSON(r)
	m, isMap := v.(map[string]any)
	return m, ok && isMap
}

// skip checks one value at p.i (no leading whitespace) as value would
// parse it, at nesting depth (the value's own, if it is an object or an
// array), and moves past it without building anything.
func (p *jsonParser) skip(depth int) bool {
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '{' || c == '[':
		return p.skipContainer(depth)
	case c == '"':
		return p.skipStr()
	case c == '-' || isDigit(c):
		return p.skipNumber()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return false
}

// skipContainer checks an object or an array at nesting depth.
func (p *jsonParser) skipContainer(depth int) bool {
	if depth > MaxJSONDepth {
		return false
	}
	obj := p.s[p.i] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	p.i++
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == end {
		p.i++
		return true
	}
	for {
		if obj {
			if p.i >= len(p.s) || p.s[p.i] != '"' || !p.skipStr() {
				return false
			}
			p.skipSpace()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return false
			}
			p.i++
			p.skipSpace()
		}
		if !p.skip(depth + 1) {
			return false
		}
		p.skipSpace()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipSpace()
		case end:
			p.i++
			return true
		default:
			return false
		}
	}
}

// skipStr checks a string literal at p.i with str's rules.
func (p *jsonParser) skipStr() bool {
	s := p.s
	for i := p.i + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.i = i + 1
			return true
		case c < ' ':
			return false
		case c == '\\':
			if i+1 >= len(s) {
				return false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if hex4(s, i) < 0 {
					return false
				}
				i += 5
			default:
				return false
			}
		}
	}
	return false
}
