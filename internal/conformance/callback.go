package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxPush bounds one notification body the kit accepts.
const maxPush = 1 << 20

// callbackServer is the partner's side of notifications (profile §6.2):
// the callback URL, and a client-credentials token endpoint the target may
// be registered with, over HTTPS.
type callbackServer struct {
	srv        *http.Server
	ln         net.Listener
	hmacSecret string

	mu      sync.Mutex
	pushes  []push
	issued  map[string]string // access token → client id
	clients []string
}

// push is one notification POST received.
type push struct {
	name   string
	header respEnvelope
	body   notification
	raw    []byte
	authz  string
	sig    string
}

// selfSigned makes a certificate for the callback URL's host.
func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func startCallback(o Options) (*callbackServer, error) {
	cert := o.CallbackCert
	if cert == nil {
		u, _ := url.Parse(o.CallbackURL) // validated
		c, err := selfSigned(u.Hostname())
		if err != nil {
			return nil, fmt.Errorf("callback certificate: %w", err)
		}
		cert = &c
	}
	ln, err := net.Listen("tcp", o.CallbackListen)
	if err != nil {
		return nil, fmt.Errorf("callback listener: %w", err)
	}
	cb := &callbackServer{ln: ln, hmacSecret: o.CallbackHMACSecret, issued: map[string]string{}}
	cb.srv = &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}}
	go cb.srv.ServeTLS(ln, "", "") //nolint:errcheck // ends with close
	return cb, nil
}

func (cb *callbackServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cb.srv.Shutdown(ctx) //nolint:errcheck // best effort
}

func (cb *callbackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPush+1))
	if err != nil || len(body) > maxPush {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		cb.token(w, r, body)
		return
	}
	var env respEnvelope
	if json.Unmarshal(body, &env) != nil || env.Header.Name == "" {
		http.Error(w, "not an envelope", http.StatusBadRequest)
		return
	}
	p := push{name: env.Header.Name, header: env, raw: body, authz: r.Header.Get("Authorization"), sig: r.Header.Get("X-CIC-Signature")}
	json.Unmarshal(env.Payload, &p.body) //nolint:errcheck // checks look at what decoded
	cb.mu.Lock()
	cb.pushes = append(cb.pushes, p)
	cb.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// token serves the client-credentials grant (RFC 6749 §4.4) for the
// target's pushes: any client that authenticates gets a fresh token, which
// the push-auth check then expects on the pushes.
func (cb *callbackServer) token(w http.ResponseWriter, r *http.Request, body []byte) {
	f, err := url.ParseQuery(string(body))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil || f.Get("grant_type") != "client_credentials" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"unsupported_grant_type"}`) //nolint:errcheck // client gone
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id == "" || secret == "" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_client"}`) //nolint:errcheck // client gone
		return
	}
	tok := randomString(24)
	cb.mu.Lock()
	cb.issued[tok] = id
	cb.clients = append(cb.clients, id)
	cb.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600}) //nolint:errcheck
}

// all returns the pushes received so far.
func (cb *callbackServer) all() []push {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]push(nil), cb.pushes...)
}

// authProblem says why a push is not authenticated as the profile requires
// ("" when it is).
func (cb *callbackServer) authProblem(p push) string {
	if cb.hmacSecret != "" {
		mac := hmac.New(sha256.New, []byte(cb.hmacSecret))
		mac.Write(p.raw)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(want), []byte(strings.TrimSpace(p.sig))) != 1 {
			return fmt.Sprintf("X-CIC-Signature %q does not match the HMAC-SHA256 of the body", p.sig)
		}
		return ""
	}
	scheme, tok, _ := strings.Cut(p.authz, " ")
	cb.mu.Lock()
	_, ours := cb.issued[strings.TrimSpace(tok)]
	cb.mu.Unlock()
	switch {
	case p.authz == "" && p.sig != "":
		return "the push carries X-CIC-Signature but no --callback-hmac-secret was given to verify it"
	case p.authz == "":
		return "the push carries neither Authorization nor X-CIC-Signature"
	case !strings.EqualFold(scheme, "Bearer") || !ours:
		return "the bearer token was not issued by the kit's token endpoint"
	}
	return ""
}

var errNoCallback = errors.New("no --callback-listen/--callback-url: the kit cannot receive notifications")
