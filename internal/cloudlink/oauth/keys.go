package oauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFileName is the access-token signing key's file in the data directory.
const KeyFileName = "oauth-signing.key"

// signingKey is the Ed25519 (JWS alg EdDSA) key access tokens are signed
// with. It is loaded once; verification uses the cached public key.
type signingKey struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	kid  string
}

// loadOrCreateKey reads the signing key from dataDir, making it (mode 0600)
// on first run. A key file readable by others is refused rather than used.
func loadOrCreateKey(dataDir string) (*signingKey, error) {
	path := filepath.Join(dataDir, KeyFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: read signing key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("oauth: signing key %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("oauth: signing key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("oauth: signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("oauth: signing key %s: not an Ed25519 key", path)
	}
	return newSigningKey(priv), nil
}

func createKey(path string) (*signingKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("oauth: make signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("oauth: make signing key: %w", err)
	}
	// O_EXCL: two agents starting at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateKey(filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: write signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("oauth: write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("oauth: write signing key: %w", err)
	}
	return newSigningKey(priv), nil
}

func newSigningKey(priv ed25519.PrivateKey) *signingKey {
	pub := priv.Public().(ed25519.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(pub)
	// kid = RFC 7638 JWK thumbprint, so it changes exactly when the key does.
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return &signingKey{priv: priv, pub: pub, kid: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// jwk is the public key as published at /.well-known/jwks.json.
func (k *signingKey) jwk() map[string]string {
	return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(k.pub),
		"kid": k.kid, "use": "sig", "alg": "EdDSA"}
}
