package dnsmsg

import (
	"strconv"
	"strings"
)

// readName reads a possibly compressed name at off and returns it in
// presentation form with the offset after it. Pointers may go anywhere in
// the message but their number is bounded, so a loop ends.
func readName(msg []byte, off int) (string, int, error) {
	var s []byte
	end := -1 // offset after the name where it started, once a pointer is followed
	wire, pointers := 0, 0
	for {
		if off >= len(msg) {
			return "", 0, errShort
		}
		c := int(msg[off])
		off++
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off
				}
				if len(s) == 0 {
					return ".", end, nil
				}
				return string(s), end, nil
			}
			if off+c > len(msg) {
				return "", 0, errShort
			}
			if wire += c + 1; wire >= maxNameWire {
				return "", 0, errLongName
			}
			for _, b := range msg[off : off+c] {
				s = appendNameByte(s, b)
			}
			s = append(s, '.')
			off += c
		case 0xc0:
			if off >= len(msg) {
				return "", 0, errShort
			}
			if end < 0 {
				end = off + 1
			}
			if pointers++; pointers > maxPointers {
				return "", 0, errPointers
			}
			off = (c&0x3f)<<8 | int(msg[off])
		default:
			return "", 0, errLabel // 0x40 and 0x80 are reserved
		}
	}
}

// appendNameByte escapes a label byte as miekg/dns did.
func appendNameByte(s []byte, b byte) []byte {
	switch {
	case strings.IndexByte(`.();@ "\`, b) >= 0:
		return append(s, '\\', b)
	case b < ' ' || b > '~':
		return appendDDD(s, b)
	}
	return append(s, b)
}

func appendDDD(s []byte, b byte) []byte {
	d := strconv.Itoa(int(b))
	return append(append(s, '\\'), strings.Repeat("0", 3-len(d))+d...)
}

// escapeTXT gives a character-string in presentation form.
func escapeTXT(raw []byte) string {
	var s []byte
	for _, b := range raw {
		switch {
		case b == '"' || b == '\\':
			s = append(s, '\\', b)
		case b < ' ' || b > '~':
			s = appendDDD(s, b)
		default:
			s = append(s, b)
		}
	}
	return string(s)
}

// unescape turns a presentation-form string into its bytes: \DDD is a
// byte, \X is X, a trailing lone backslash is dropped.
func unescape(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		if i == len(s) {
			break
		}
		if i+2 < len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
			b = append(b, (s[i]-'0')*100+(s[i+1]-'0')*10+(s[i+2]-'0'))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// labels splits a fully qualified presentation-form name into raw labels.
func labels(name string) ([][]byte, error) {
	if !isFqdn(name) {
		return nil, errNotFQDN
	}
	if name == "." {
		return nil, nil
	}
	var out [][]byte
	var cur []byte
	wire := 1
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '.':
			if len(cur) == 0 || len(cur) > maxLabel {
				return nil, errLabel
			}
			wire += len(cur) + 1
			out = append(out, cur)
			cur = nil
			continue
		case '\\':
			i++
			if i == len(name) {
				return nil, errLabel
			}
			if i+2 < len(name) && isDigit(name[i]) && isDigit(name[i+1]) && isDigit(name[i+2]) {
				v := int(name[i]-'0')*100 + int(name[i+1]-'0')*10 + int(name[i+2]-'0')
				if v > 255 {
					return nil, errLabel
				}
				cur = append(cur, byte(v))
				i += 2
				continue
			}
			c = name[i]
		}
		cur = append(cur, c)
	}
	if wire > maxNameWire {
		return nil, errLongName
	}
	return out, nil
}

// appendName appends a name in wire form. With comp set, a suffix already
// in the message becomes a pointer to it, and new suffixes are recorded.
func appendName(b []byte, name string, comp map[string]int) ([]byte, error) {
	ls, err := labels(name)
	if err != nil {
		return nil, err
	}
	// The key of a suffix is its uncompressed wire form, case and all, so
	// that every name reads back exactly as it was spelled.
	var wire []byte
	for _, l := range ls {
		wire = append(append(wire, byte(len(l))), l...)
	}
	key := string(wire)
	p := 0
	for _, l := range ls {
		if comp != nil {
			if at, ok := comp[key[p:]]; ok {
				return append(b, 0xc0|byte(at>>8), byte(at)), nil
			}
			if len(b) < 0x3fff {
				comp[key[p:]] = len(b)
			}
		}
		b = append(append(b, byte(len(l))), l...)
		p += 1 + len(l)
	}
	return append(b, 0), nil
}
