package enrollwire

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The expressions the shape checks replace: the oracle.
var shapeOracles = []struct {
	name  string
	re    *regexp.Regexp
	check func(string) bool
}{
	{"hub id", regexp.MustCompile(`^[0-9a-f]{16}$`), isHubID},
	{"token", regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`), isToken},
	{"relay", regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]{1,300}$`), isRelay},
	{"user", regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`), isUser},
	{"listen", regexp.MustCompile(`^127\.0\.0\.1:([0-9]{1,5})$`), func(s string) bool { _, ok := listenPort(s); return ok }},
	{"public url", regexp.MustCompile(`^https://[a-z0-9.-]{1,253}(:[0-9]{1,5})?/?$`), isPublicURL},
}

var listenOracle = regexp.MustCompile(`^127\.0\.0\.1:([0-9]{1,5})$`)

func checkShapes(t *testing.T, s string) {
	t.Helper()
	for _, o := range shapeOracles {
		if want, got := o.re.MatchString(s), o.check(s); got != want {
			t.Errorf("%s %q: check says %v, expression %v", o.name, s, got, want)
		}
	}
	if m := listenOracle.FindStringSubmatch(s); m != nil {
		if port, _ := listenPort(s); port != m[1] {
			t.Errorf("listen %q: port %q, expression %q", s, port, m[1])
		}
	}
}

func TestShapeChecksAgreeWithTheExpressionsTheyReplace(t *testing.T) {
	cases := []string{"", "0123456789abcdef", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0",
		strings.Repeat("a", 16), strings.Repeat("A_-9", 32), strings.Repeat("A_-9", 32) + "x",
		"relay.example:22", "[::1]:22", strings.Repeat("r", 300), strings.Repeat("r", 301), "relay example:22",
		"hubagent", "_h", "-h", "Hub", "h" + strings.Repeat("x", 31), "h" + strings.Repeat("x", 32),
		"127.0.0.1:22", "127.0.0.1:", "127.0.0.1:123456", "127.0.0.1:65535\n", "127.0.0.2:80", "127.0.0.1:8a",
		"https://hub.example", "https://hub.example/", "https://hub.example:8443", "https://hub.example:8443/",
		"https://", "https:///", "https://:443", "https://hub.example:", "https://hub.example:123456",
		"https://hub.example//", "https://Hub.example", "http://hub.example", "https://hub.example/x",
		"https://" + strings.Repeat("h", 253), "https://" + strings.Repeat("h", 254), "https://h:1/\n"}
	for _, s := range cases {
		checkShapes(t, s)
	}
	// Random strings over the bytes the expressions care about, at the
	// lengths around their bounds.
	const alphabet = "0af9gAZz_-.:[]/ \nhttps127.0.0.1:"
	r := rand.New(rand.NewPCG(18, 4))
	for range 20000 {
		var b strings.Builder
		switch r.IntN(4) {
		case 0:
			b.WriteString("https://")
		case 1:
			b.WriteString("127.0.0.1:")
		}
		n := r.IntN(40)
		if r.IntN(10) == 0 {
			n = 120 + r.IntN(200)
		}
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		checkShapes(t, b.String())
	}
}

func FuzzShapeChecks(f *testing.F) {
	for _, s := range []string{"0123456789abcdef", "127.0.0.1:2222", "https://hub.example:8443/", "[::1]:22", "_hub"} {
		f.Add(s)
	}
	f.Fuzz(checkShapes)
}
