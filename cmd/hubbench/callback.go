package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// notifyServer is the partners' side of notifications: one HTTPS server
// on loopback with a path per partner (/p<k>/notify), under a certificate
// made for the run whose PEM goes into the agent's [notify] ca_file.
type notifyServer struct {
	url    string // https://127.0.0.1:port
	caFile string
	srv    *http.Server
	// rec is the current scenario's recorder; nil between scenarios
	// (notifications are still acknowledged).
	rec atomic.Pointer[notifyRecorder]
	// posts counts every POST received, for the progress line.
	posts atomic.Int64
}

// notification is the part of a notification envelope hubbench reads.
type notification struct {
	Header struct {
		Name string `json:"name"`
	} `json:"header"`
	Payload struct {
		Events []struct {
			DeviceID string         `json:"deviceId"`
			State    map[string]any `json:"state"`
		} `json:"events"`
	} `json:"payload"`
}

// notifyRecorder matches StatusChanged events to the publishes that
// caused them: key (device, brightness) → when it was published.
type notifyRecorder struct {
	mu        sync.Mutex
	sent      map[int64]time.Time
	latencies []time.Duration
	events    int64
	unmatched int64
}

func newNotifyRecorder() *notifyRecorder {
	return &notifyRecorder{sent: map[int64]time.Time{}}
}

func eventKey(dev, pct int) int64 { return int64(dev)*128 + int64(pct) }

// published records that device dev was set to pct at t.
func (r *notifyRecorder) published(dev, pct int, t time.Time) {
	r.mu.Lock()
	r.sent[eventKey(dev, pct)] = t
	r.mu.Unlock()
}

func (r *notifyRecorder) received(n *notification, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range n.Payload.Events {
		b, ok := e.State["brightness"].(float64)
		if !ok {
			continue
		}
		r.events++
		if t, ok := r.sent[eventKey(deviceIndex(e.DeviceID), int(b))]; ok {
			r.latencies = append(r.latencies, now.Sub(t))
		} else {
			r.unmatched++
		}
	}
}

func (r *notifyRecorder) snapshot() (events int64, lat []time.Duration, unmatched int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events, append([]time.Duration(nil), r.latencies...), r.unmatched
}

// startNotifyServer listens on a free loopback port and writes its CA
// (the self-signed certificate itself) to caFile.
func startNotifyServer(caFile string) (*notifyServer, error) {
	cert, der, err := selfSigned()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("write partner CA: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("partner endpoint: %w", err)
	}
	s := &notifyServer{url: "https://" + ln.Addr().String(), caFile: caFile}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go s.srv.ServeTLS(ln, "", "")
	return s, nil
}

func (s *notifyServer) close() { s.srv.Close() }

// handle acknowledges a notification and hands it to the recorder. The
// agent signs pushes with the partner's HMAC secret; hubbench checks the
// header is there but does not spend CPU verifying it.
func (s *notifyServer) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/notify") {
		http.NotFound(w, r)
		return
	}
	if !strings.HasPrefix(r.Header.Get("X-CIC-Signature"), "sha256=") {
		http.Error(w, "unsigned", http.StatusUnauthorized)
		return
	}
	var n notification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	now := time.Now()
	s.posts.Add(1)
	if rec := s.rec.Load(); rec != nil && n.Header.Name == "StatusChanged" {
		rec.received(&n, now)
	}
	w.WriteHeader(http.StatusNoContent)
}

// selfSigned makes a P-256 certificate for 127.0.0.1 that is its own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("partner key: %w", err)
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "hubbench partner " + strconv.FormatInt(time.Now().Unix(), 10)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("partner certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der, nil
}
