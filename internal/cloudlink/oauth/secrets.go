package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// newSecret returns a 256-bit random value, base64url without padding: the
// form of every secret the hub hands out (client secrets, codes, refresh
// tokens, session cookies).
func newSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics on a broken source)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newID returns a 128-bit random identifier in hex (grant, user, family ids:
// unguessable but not secret).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hashSecret is how secrets are stored: SHA-256 is enough for 256-bit random
// values (no dictionary to attack), and lets lookups go by index.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// equalSecret compares in constant time.
func equalSecret(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}
