package shelly

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// User is the only user Shelly devices know.
const User = "admin"

// challenge is a parsed WWW-Authenticate: Digest header.
type challenge struct {
	realm, nonce, qop, algorithm, opaque string
}

// parseChallenge reads a Digest challenge (RFC 7616 §3.3). Shelly sends
// qop="auth" and algorithm=SHA-256.
func parseChallenge(h string) (challenge, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return challenge{}, fmt.Errorf("shelly: unsupported authentication scheme %q", trunc(scheme, 20))
	}
	var c challenge
	for _, part := range splitParams(rest) {
		k, v, _ := strings.Cut(part, "=")
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "realm":
			c.realm = v
		case "nonce":
			c.nonce = v
		case "qop":
			c.qop = v
		case "algorithm":
			c.algorithm = v
		case "opaque":
			c.opaque = v
		}
	}
	if c.nonce == "" {
		return challenge{}, fmt.Errorf("shelly: digest challenge without nonce")
	}
	if c.algorithm != "" && !strings.EqualFold(c.algorithm, "SHA-256") {
		return challenge{}, fmt.Errorf("shelly: digest algorithm %q not supported", trunc(c.algorithm, 20))
	}
	return c, nil
}

// splitParams splits on commas outside quotes.
func splitParams(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newCnonce returns a random client nonce.
func newCnonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// digestResponse is the request-digest of RFC 7616 §3.4.1 with SHA-256:
// with qop "auth" it covers nc and cnonce, without qop (RFC 2069
// compatibility) only the nonce.
func digestResponse(user, password, realm, method, uri, nonce, nc, cnonce, qop string) string {
	ha1 := sha256hex(user + ":" + realm + ":" + password)
	ha2 := sha256hex(method + ":" + uri)
	if qop == "" {
		return sha256hex(ha1 + ":" + nonce + ":" + ha2)
	}
	return sha256hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
}

// authorization answers a challenge for one request (RFC 7616 §3.4) as
// user with the client nonce cnonce.
func (c challenge) authorization(user, password, method, uri string, nc int, cnonce string) string {
	ncs := fmt.Sprintf("%08x", nc)
	qop := ""
	if c.qop != "" {
		qop = "auth"
	}
	resp := digestResponse(user, password, c.realm, method, uri, c.nonce, ncs, cnonce, qop)
	h := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=SHA-256, response="%s"`,
		user, c.realm, c.nonce, uri, resp)
	if qop != "" {
		h += fmt.Sprintf(`, qop=auth, nc=%s, cnonce="%s"`, ncs, cnonce)
	}
	if c.opaque != "" {
		h += fmt.Sprintf(`, opaque="%s"`, c.opaque)
	}
	return h
}
