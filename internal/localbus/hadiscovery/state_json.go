package hadiscovery

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// parseStateJSON decodes a state payload's text exactly as decodeJSON does
// — numbers as json.Number, objects as map[string]any, arrays as non-nil
// []any, duplicate keys keeping the last value, anything but whitespace
// after the value refused — but without json.Decoder's reader, buffer and
// scanner per call: state is the bulk of the traffic. Strings without
// escapes and numbers are substrings of text, not copies.
//
// text must be valid UTF-8 (DecodeState checks it first: encoding/json
// would replace invalid bytes in strings). Nesting deeper than MaxJSONDepth
// is refused, so a hostile payload cannot make it recurse deeply.
func parseStateJSON(text string) (any, bool) {
	p := jsonParser{s: text}
	p.skipSpace()
	v, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, false // trailing data
	}
	return v, true
}

// jsonParser is a recursive-descent JSON parser over a string.
type jsonParser struct {
	s string
	i int
}

// skipSpace skips JSON whitespace (space, tab, CR, LF; nothing else).
func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// value parses one value at p.i (no leading whitespace).
func (p *jsonParser) value(depth int) (any, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.str()
		return s, ok
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *jsonParser) literal(lit string) bool {
	if len(p.s)-p.i < len(lit) || p.s[p.i:p.i+len(lit)] != lit {
		return false
	}
	p.i += len(lit)
	return true
}

func (p *jsonParser) object(depth int) (any, bool) {
	if depth > MaxJSONDepth {
		return nil, false
	}
	p.i++ // {
	m := map[string]any{}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		k, ok := p.memberName()
		if !ok {
			return nil, false
		}
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[k] = v
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipSpace()
		case '}':
			p.i++
			return m, true
		default:
			return nil, false
		}
	}
}

// memberName reads an object member's name and the colon after it, and
// leaves p at its value.
func (p *jsonParser) memberName() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	k, ok := p.str()
	if !ok {
		return "", false
	}
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != ':' {
		return "", false
	}
	p.i++
	p.skipSpace()
	return k, true
}

func (p *jsonParser) array(depth int) (any, bool) {
	if depth > MaxJSONDepth {
		return nil, false
	}
	p.i++ // [
	list := make([]any, 0)
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return list, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		list = append(list, v)
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipSpace()
		case ']':
			p.i++
			return list, true
		default:
			return nil, false
		}
	}
}

// number scans a number and keeps the literal, as UseNumber does.
func (p *jsonParser) number() (any, bool) {
	start := p.i
	if !p.skipNumber() {
		return nil, false
	}
	return json.Number(p.s[start:p.i]), true
}

// skipNumber scans -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonParser) skipNumber() bool {
	s := p.s
	i := p.i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		if i+1 >= len(s) || !isDigit(s[i+1]) {
			return false
		}
		i = digits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		i = digits(s, i)
	}
	p.i = i
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits returns the index after the run of digits starting at i.
func digits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// str parses a string literal at p.i. Without escapes it is a substring
// of the text.
func (p *jsonParser) str() (string, bool) {
	s := p.s
	for i := p.i + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			out := s[p.i+1 : i]
			p.i = i + 1
			return out, true
		case c == '\\':
			return p.strEscaped(i)
		case c < ' ':
			return "", false
		}
	}
	return "", false
}

// strEscaped finishes a string literal whose first escape is at esc, with
// encoding/json's rules: \uXXXX surrogate pairs combine, a lone surrogate
// becomes U+FFFD.
func (p *jsonParser) strEscaped(esc int) (string, bool) {
	s := p.s
	b := make([]byte, 0, esc-p.i+16)
	b = append(b, s[p.i+1:esc]...)
	i := esc
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return string(b), true
		case c < ' ':
			return "", false
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b = append(b, s[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(s, i)
			if r < 0 {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if dec := utf16.DecodeRune(r, hex4(s, i)); dec != utf8.RuneError {
					i += 6
					b = utf8.AppendRune(b, dec)
					continue
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

// hex4 decodes the \uXXXX escape at s[i:], or returns -1.
func hex4(s string, i int) rune {
	if len(s)-i < 6 || s[i] != '\\' || s[i+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range []byte(s[i+2 : i+6]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
