package mdns

import (
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what one instance may make the agent keep. A TXT record may be
// up to 64 KiB on the wire; real devices send a few hundred bytes.
const (
	MaxTXTEntries  = 32   // key=value pairs kept per instance
	MaxTXTBytes    = 1300 // total bytes of kept keys and values
	MaxTXTValueLen = 255  // one DNS character-string
	MaxNameLen     = 128  // instance and host names, after sanitizing
)

// ParseTXT turns TXT strings into key=value pairs the way DNS-SD (RFC 6763
// §6) reads them: keys are case-insensitive, the first occurrence of a key
// wins, a string without "=" is a boolean key with an empty value, and an
// empty key is ignored. Keys and values are sanitized for display and the
// result is bounded; truncated reports whether anything was dropped.
func ParseTXT(strs []string) (pairs map[string]string, truncated bool) {
	pairs = make(map[string]string, min(len(strs), MaxTXTEntries))
	size := 0
	for _, s := range strs {
		k, v, _ := strings.Cut(s, "=")
		if k == "" {
			continue
		}
		k = strings.ToLower(Sanitize(k, 64))
		if _, dup := pairs[k]; dup {
			continue
		}
		v = Sanitize(v, MaxTXTValueLen)
		if len(pairs) >= MaxTXTEntries || size+len(k)+len(v) > MaxTXTBytes {
			truncated = true
			continue
		}
		pairs[k] = v
		size += len(k) + len(v)
	}
	return pairs, truncated
}

// Sanitize makes a string from the network safe to show in a terminal or a
// web page: invalid UTF-8 and control characters become U+FFFD, and the
// result is cut to at most max bytes on a rune boundary.
func Sanitize(s string, max int) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean && len(s) <= max {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unescapeName turns a name in dnsmsg's presentation form back into
// its raw bytes, then sanitizes it for display.
func unescapeName(s string) string { return Sanitize(unescape(s), MaxNameLen) }

// unescape undoes dnsmsg's presentation escapes (\. \" \\ and \DDD)
// in names and TXT strings, giving the bytes that were on the wire.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if n, err := strconv.Atoi(s[i+1 : i+4]); err == nil && n < 256 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
