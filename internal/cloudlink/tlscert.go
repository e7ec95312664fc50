package cloudlink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Self-signed certificate files inside the data directory.
const (
	SelfSignedCertFile = "tls_cert.pem"
	SelfSignedKeyFile  = "tls_key.pem"
)

// LoadCertificate loads the configured certificate, or, when none is
// configured, the self-signed one in dataDir, making it on first run (key
// file mode 0600). hubID goes into the subject so an installer can tell hubs
// apart.
func LoadCertificate(dataDir, certFile, keyFile, hubID string) (tls.Certificate, error) {
	if certFile != "" || keyFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("cloudlink: load certificate %s / %s: %w", certFile, keyFile, err)
		}
		return c, nil
	}
	cp, kp := filepath.Join(dataDir, SelfSignedCertFile), filepath.Join(dataDir, SelfSignedKeyFile)
	c, err := tls.LoadX509KeyPair(cp, kp)
	if err == nil {
		return c, nil
	}
	_, cerr := os.Stat(cp)
	_, kerr := os.Stat(kp)
	if !errors.Is(cerr, fs.ErrNotExist) || !errors.Is(kerr, fs.ErrNotExist) {
		// One of them exists but they do not load: never overwrite what an
		// operator may have placed there.
		return tls.Certificate{}, fmt.Errorf("cloudlink: certificate %s / %s: %w", cp, kp, err)
	}
	if err := makeSelfSigned(cp, kp, hubID); err != nil {
		return tls.Certificate{}, err
	}
	c, err = tls.LoadX509KeyPair(cp, kp)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cloudlink: load new certificate: %w", err)
	}
	return c, nil
}

func makeSelfSigned(certPath, keyPath, hubID string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("cloudlink: make key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return fmt.Errorf("cloudlink: make serial: %w", err)
	}
	names := []string{"localhost", "hubagent.local"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h, h+".local")
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "hubagent " + hubID, Organization: []string{"hubagent"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("cloudlink: make certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("cloudlink: encode key: %w", err)
	}
	if err := writeFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFileAtomic writes via a temporary file and rename, so a crash never
// leaves half a key behind.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("cloudlink: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("cloudlink: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cloudlink: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cloudlink: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cloudlink: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cloudlink: write %s: %w", path, err)
	}
	return nil
}
