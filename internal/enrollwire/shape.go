package enrollwire

// Shape checks of the enrollment fields, written out instead of regular
// expressions: compiled, the six expressions (bounded repetitions such as
// {1,300} unroll into long programs) held ~230 KB of the agent's heap for
// its whole life, to check a few fields at enrollment and start-up.
// shape_test.go checks each against the expression it replaces.

// byteSet is a set of ASCII bytes.
type byteSet [256]bool

func setOf(ranges ...string) *byteSet {
	var s byteSet
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for c := int(r[0]); c <= int(r[2]); c++ {
				s[c] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			s[r[i]] = true
		}
	}
	return &s
}

var (
	hexLower   = setOf("0-9", "a-f")
	tokenChars = setOf("A-Z", "a-z", "0-9", "_-")
	relayChars = setOf("A-Z", "a-z", "0-9", ".:[]-")
	userFirst  = setOf("a-z", "_")
	userChars  = setOf("a-z", "0-9", "_-")
	hostChars  = setOf("a-z", "0-9", ".-")
	digits     = setOf("0-9")
)

// allIn says whether s is min to max bytes, all in set.
func allIn(s string, min, max int, set *byteSet) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !set[s[i]] {
			return false
		}
	}
	return true
}

// ^[0-9a-f]{16}$
func isHubID(s string) bool { return allIn(s, 16, 16, hexLower) }

// ^[A-Za-z0-9_-]{16,128}$
func isToken(s string) bool { return allIn(s, 16, 128, tokenChars) }

// ^[A-Za-z0-9.:\[\]-]{1,300}$
func isRelay(s string) bool { return allIn(s, 1, 300, relayChars) }

// ^[a-z_][a-z0-9_-]{0,31}$
func isUser(s string) bool {
	return len(s) >= 1 && userFirst[s[0]] && allIn(s[1:], 0, 31, userChars)
}

// listenPort is ^127\.0\.0\.1:([0-9]{1,5})$: the port digits, or false.
func listenPort(s string) (string, bool) {
	const prefix = "127.0.0.1:"
	if len(s) < len(prefix) || s[:len(prefix)] != prefix || !allIn(s[len(prefix):], 1, 5, digits) {
		return "", false
	}
	return s[len(prefix):], true
}

// ^https://[a-z0-9.-]{1,253}(:[0-9]{1,5})?/?$
func isPublicURL(s string) bool {
	const prefix = "https://"
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return false
	}
	s = s[len(prefix):]
	host := 0
	for host < len(s) && hostChars[s[host]] {
		host++
	}
	if host < 1 || host > 253 {
		return false
	}
	s = s[host:]
	if len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	if s == "" {
		return true
	}
	return s[0] == ':' && allIn(s[1:], 1, 5, digits)
}
